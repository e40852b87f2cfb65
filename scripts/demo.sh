#!/usr/bin/env bash
# The one-command demo (npm run demo): three Petrel nodes in a full mesh plus a BIRD bastion, in
# network namespaces, with workload addresses from IPAM; prints what an operator would look at,
# then leaves the lab up.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB=petrel
TOPOLOGY=docs/examples/lab/demo.yaml
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "The demo builds network namespaces and runs routers: run it as root (sudo npm run demo)." >&2
  exit 1
fi
bash scripts/ensure-system-deps.sh
say "Building Petrel (npm run build)"
npm run --silent build

ctl() { node dist/tools/petrelctl.js "$@"; }
on() { local host=$1; shift; ctl lab exec --name "$LAB" "$host" -- "$@"; }

ctl lab down --name "$LAB" >/dev/null   # a fresh lab each time
say "Building the lab from $TOPOLOGY"
ctl lab up "$TOPOLOGY" --name "$LAB"
say "Waiting for BGP to converge (sessions Established, every workload routed everywhere)"
ctl lab wait --name "$LAB" --timeout 40 && echo "converged."

workloads() { node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const w of s.workloads) console.log(w.host + " " + w.address);' "${PETREL_LAB_DIR:-/run/petrel-lab}/$LAB/state.json"; }
say "Workload addresses allocated from IPAM (petrelctl ipam allocate)"
workloads | sed 's/^/  /'

for node in node1 node2 node3; do
  say "$node: petrelctl node status"
  on "$node" petrelctl node status || true
  say "$node: ip route"
  on "$node" ip route
done
say "bastion (BIRD 2): birdc show protocols"
on bastion birdc show protocols
say "bastion: ip route"
on bastion ip route

first_on() { workloads | awk -v n="$1" '$1 == n { print $2; exit }'; }
a1=$(first_on node1); a2=$(first_on node2); a3=$(first_on node3)
say "ping from workload $a1 (node1) to workload $a2 (node2)"
on "$a1" ping -c 3 -W 1 -i 0.2 "$a2"
say "ping from the bastion to workload $a3 (node3)"
on bastion ping -c 3 -W 1 -i 0.2 "$a3"

echo
echo "Demo finished in ${SECONDS}s."
echo "The lab is still up. Look around: node dist/tools/petrelctl.js lab status   Take it down: node dist/tools/petrelctl.js lab down"

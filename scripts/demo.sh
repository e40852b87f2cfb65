#!/usr/bin/env bash
# The one-command demo (npm run demo): three Petrel nodes in a full mesh plus a BIRD bastion, in
# network namespaces, with workload addresses from IPAM; prints what an operator would look at
# (each node's `petrelctl node status` and routing table, the bastion's), pings across nodes and
# from the bastion, then leaves the lab up.
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

ctl lab down --name "$LAB" >/dev/null   # a fresh lab each time
say "Building the lab from $TOPOLOGY"
ctl lab up "$TOPOLOGY" --name "$LAB"
say "Waiting for BGP to converge (sessions Established, every workload routed everywhere)"
if ! ctl lab wait --name "$LAB" --timeout 40; then
  ctl lab status --name "$LAB"
  echo "The lab did not converge; the status above and the logs in ${PETREL_LAB_DIR:-/run/petrel-lab}/$LAB/logs say why." >&2
  exit 1
fi
echo "converged."

say "Every host: petrelctl node status (nodes) or birdc show protocols (bastion), and ip route"
ctl lab status --name "$LAB"

# The first workload of a node, from the lab's state file.
first_on() {
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const w = s.workloads.find((x) => x.host === process.argv[2]);
    if (w) console.log(w.address);' "${PETREL_LAB_DIR:-/run/petrel-lab}/$LAB/state.json" "$1"
}
a1=$(first_on node1); a2=$(first_on node2); a3=$(first_on node3)
say "ping from workload $a1 (node1) to workload $a2 (node2)"
ctl lab exec --name "$LAB" "$a1" -- ping -c 3 -W 1 -i 0.2 "$a2"
say "ping from the bastion to workload $a3 (node3)"
ctl lab exec --name "$LAB" bastion -- ping -c 3 -W 1 -i 0.2 "$a3"

echo
echo "Demo finished in ${SECONDS}s."
echo "The lab is still up. Look around: node dist/tools/petrelctl.js lab status   Take it down: node dist/tools/petrelctl.js lab down"

#!/usr/bin/env bash
# The whole test suite: system packages, typecheck, build, every test.
# Ends with the plain summary line "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

fail() { echo "$1" >&2; echo "0 passed, 1 failed"; exit 1; }

bash scripts/ensure-system-deps.sh || fail "system packages could not be installed"
[ -d node_modules ] || npm install --no-audit --no-fund || fail "npm install failed"
npm run --silent lint || fail "typecheck failed (npm run lint)"
npm run --silent build || fail "build failed (npm run build)"

rm -rf .test-results
npx vitest run "$@"
status=$?
node scripts/summarise-tests.mjs .test-results/vitest.json || status=1
exit $status

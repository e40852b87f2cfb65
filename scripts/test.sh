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
reports=(.test-results/vitest.json)
# A test file whose vitest worker never started (a pool start-up timeout, not a test failure) has
# no result at all: run those files once more, and count both runs. Only for a whole-suite run.
if [ $# -eq 0 ] && [ $status -ne 0 ] && [ -f .test-results/vitest.json ]; then
  mapfile -t missing < <(node scripts/missing-test-files.mjs .test-results/vitest.json)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "vitest never started ${#missing[@]} test file(s): ${missing[*]}; running them again"
    npx vitest run --outputFile.json=.test-results/vitest-rerun.json "${missing[@]}"
    rerun=$?
    reports+=(.test-results/vitest-rerun.json)
    left=$(node scripts/missing-test-files.mjs .test-results/vitest.json .test-results/vitest-rerun.json | wc -l)
    # The first run's status only reflected the files that never started when nothing else failed.
    if [ "$rerun" -eq 0 ] && [ "$left" -eq 0 ]; then status=0; fi
  fi
fi
node scripts/summarise-tests.mjs "${reports[@]}" || status=1
exit $status

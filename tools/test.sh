#!/usr/bin/env bash
# The whole test suite: set up (idempotent), type-check, then every mocha test.
# Ends with mocha's summary reporter line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
pnpm exec tsc -p tsconfig.test.json --noEmit
if [ $# -gt 0 ]; then exec pnpm exec mocha "$@"; else exec pnpm -s test; fi

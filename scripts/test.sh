#!/usr/bin/env bash
# Install everything, then run the whole test suite (the command CI runs).
# The suite runs on two pytest-xdist workers, one test file at a time each (module fixtures stay in
# one process); BOUNTYGUARD_TEST_WORKERS=0 runs it in this process (for -s, --pdb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
workers="${BOUNTYGUARD_TEST_WORKERS:-2}"
if [ "$workers" = "0" ]; then
    exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"

#!/usr/bin/env bash
# Create .venv and install bountyguard with every dependency at the locked versions.
# Idempotent: a second call only checks that everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "install: $PYTHON not found; bountyguard needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# The case review's browser tests drive Debian's Chromium by its path (browsers cannot be downloaded,
# so never `playwright install`). Installed when missing and we may (root with apt); otherwise those
# tests skip, or fail under CI=true.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "install: apt packages chromium chromium-driver (for the case review's browser tests)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; }
fi
stamp=".venv/.bountyguard-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    # requirements.lock pins every transitive dependency, so a fresh install resolves the same versions
    .venv/bin/python -m pip install --quiet -c requirements.lock -e '.[test]'
    touch "$stamp"
fi
echo "install: .venv ready ($(.venv/bin/python --version))"

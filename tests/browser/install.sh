#!/usr/bin/env bash
# Installs what the browser tests load into Chromium (axe-core), exactly as package-lock.json
# pins it, into tests/browser/node_modules. Needs node and npm (Debian: apt-get install npm).
# Called by the Makefile's test target; safe to run again (npm ci starts from a clean folder).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v npm >/dev/null; then
    echo "tests/browser/install.sh: npm is missing (apt-get install npm)" >&2
    exit 1
fi
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
test -f "$here/node_modules/axe-core/axe.min.js"

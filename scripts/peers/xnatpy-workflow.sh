#!/usr/bin/env bash
# Runs xnatpy's normal workflow (xnatpy-workflow.py) against a fresh demo sandbox, as the site admin
# and as a project owner. xnatpy is used from a source checkout: XNATPY_DIR=/path/to/xnatpy.
# Not part of `npm test`: xnatpy is not installable in CI.
set -euo pipefail
: "${XNATPY_DIR:?set XNATPY_DIR to an xnatpy source checkout (the folder holding xnat/)}"
PYTHON="${PYTHON:-/usr/bin/python3}"
cd "$(dirname "$0")/../.."

npm run build --silent
out="$(mktemp)"
node dist/cli.js sandbox --port 0 >"$out" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do
  [ -s "$out" ] && break
  sleep 0.1
done
url="$(head -n 1 "$out")"
[ -n "$url" ] || { echo "sandbox did not start" >&2; exit 1; }

# Demo accounts (src/sandbox/seed.ts): admin is site admin; alice owns BRAIN_MR and is a member of PET_AMYLOID.
PYTHONPATH="$XNATPY_DIR" "$PYTHON" scripts/peers/xnatpy-workflow.py "$url" \
  admin:admin:PEDS_DTI:BRAIN_MR \
  alice:alice123:BRAIN_MR:PET_AMYLOID

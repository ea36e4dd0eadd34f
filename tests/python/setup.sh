#!/usr/bin/env bash
# Creates (or reuses) the Python venv the SDK test runs in, with the pinned Azure SDK packages.
# Usage: tests/python/setup.sh [VENV_DIR]   (default: target/pyvenv; CI calls this too)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-${VMSSID_PYVENV:-$root/target/pyvenv}}"
req="$here/requirements.txt"
stamp="$venv/.vmssid-requirements"
python="${PYTHON:-python3}"

# One setup at a time (tests that need the venv may start together).
mkdir -p "$(dirname "$venv")"
if command -v flock >/dev/null; then
    exec 9>"$venv.lock"
    flock 9
fi

# Reuse the venv when it was built from exactly this requirements file.
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
    exit 0
fi
command -v "$python" >/dev/null || { echo "setup.sh: $python not found" >&2; exit 1; }
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c "import azure.mgmt.authorization, azure.mgmt.compute, azure.mgmt.msi, azure.mgmt.resource.resources, azure.identity"
cp "$req" "$stamp"
echo "setup.sh: venv ready at $venv"

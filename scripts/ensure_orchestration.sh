#!/usr/bin/env bash
# Set-up of the Dagster orchestration, after scripts/ensure_venv.sh: the pinned
# requirements-orchestration.txt in the venv (with requirements.txt, so the installer resolves
# them together), reinstalled only when either file changed.
set -euo pipefail
venv="${VENV:-.venv}"
stamp="$venv/.requirements-orchestration.sha256"

want="$(cat requirements.txt requirements-orchestration.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
bash "$(dirname "$0")/install_locked.sh" "$venv" requirements.txt requirements-orchestration.txt
echo "$want" > "$stamp"

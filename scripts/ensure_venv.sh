#!/usr/bin/env bash
# Create or refresh .venv so that it holds exactly the pinned requirements, then this
# project, editable (`pip install --no-deps -e .`: its packages and console scripts).
# Reinstalls only when requirements.txt, pyproject.toml, the checkout's location or the
# interpreter changed (stamp = their hash), so `make run` and `make test` are cheap the
# second time.
set -euo pipefail
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
want="$( { sha256sum requirements.txt pyproject.toml | cut -d' ' -f1; pwd; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' 2>/dev/null \
   && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required, found " + sys.version.split()[0])'
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  echo "creating $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
bash "$(dirname "$0")/install_locked.sh" "$venv" --editable requirements.txt
echo "$want" > "$stamp"

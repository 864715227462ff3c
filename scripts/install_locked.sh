#!/usr/bin/env bash
# Install pinned lock files (and optionally this project, editable) into a venv.
# uv installs the same pins as pip in seconds instead of about a minute and a half, and says
# what it is doing as it goes; pip stays the fallback, so a machine where uv cannot be had
# (no wheel for the platform, a registry mirror without it) still gets the same venv.
# Usage: install_locked.sh VENV [--editable] LOCK [LOCK ...]
set -euo pipefail
venv="$1"; shift
editable=0
if [ "${1:-}" = "--editable" ]; then editable=1; shift; fi
locks=()
for lock in "$@"; do locks+=(-r "$lock"); done
# one pin for the installer itself, so two machines install with the same tool
uv_pin="uv==0.13.9"
py="$venv/bin/python"

with_uv() {
  "$py" -m pip install --quiet --disable-pip-version-check "$uv_pin" || return 1
  echo "installing ${*} into $venv with uv"
  "$py" -m uv pip install --python "$py" "${locks[@]}" || return 1
  if [ "$editable" = 1 ]; then
    "$py" -m uv pip install --python "$py" --no-deps -e . || return 1
  fi
}

with_pip() {
  echo "installing ${*} into $venv with pip (about a minute and a half)"
  "$py" -m pip install --disable-pip-version-check --progress-bar off "${locks[@]}"
  if [ "$editable" = 1 ]; then
    "$py" -m pip install --quiet --disable-pip-version-check --no-deps -e .
  fi
}

if [ "${CARTON_CAPS_INSTALLER:-uv}" = pip ] || ! with_uv "$@"; then
  [ "${CARTON_CAPS_INSTALLER:-uv}" = pip ] || echo "uv was not usable here; falling back to pip" >&2
  with_pip "$@"
fi

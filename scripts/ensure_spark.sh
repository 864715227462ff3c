#!/usr/bin/env bash
# Set-up of the Spark engine, after scripts/ensure_venv.sh: Java 17+ (Debian's
# openjdk-17-jre-headless when missing and we may install it) and the pinned
# requirements-spark.txt in the venv, reinstalled only when that file changed.
set -euo pipefail
venv="${VENV:-.venv}"
stamp="$venv/.requirements-spark.sha256"

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1
}
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Java 17 (openjdk-17-jre-headless)"
    apt-get update -qq
    apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "Spark needs Java 17 or newer: install openjdk-17-jre-headless (or any JDK 17+)" >&2
    exit 1
  fi
fi

want="$(cat requirements.txt requirements-spark.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
bash "$(dirname "$0")/install_locked.sh" "$venv" requirements.txt requirements-spark.txt
echo "$want" > "$stamp"

#!/usr/bin/env bash
# Ensure the Debian packages named as arguments are installed.
# As root they are installed with apt-get; otherwise we stop with the one
# command the user has to run, so nothing is installed behind their back.
set -euo pipefail
missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "sysdeps: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "sysdeps: missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

#!/usr/bin/env bash
# Installs everything the crawler needs on a fresh Debian machine:
#   - system packages (Chromium, for the report tests and screenshots; nginx, which
#     serves the benchmark's site: bench/serve.py),
#   - .venv with the crawler and its test tools (pip install -e ".[test]"),
#   - .venv-replay with pywb, kept apart: pywb pins old libraries that break Scrapy.
# Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "setup: please install these Debian packages: ${missing[*]}" >&2
    return 0
  fi
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

if command -v apt-get >/dev/null; then
  apt_install chromium fonts-dejavu-core nginx-light
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

# pywb for `crawler replay`, in its own virtualenv (crawler.access.replay finds it here).
if [ ! -x .venv-replay/bin/wayback ]; then
  "$PYTHON" -m venv .venv-replay
  .venv-replay/bin/python -m pip install -q --upgrade pip
  .venv-replay/bin/python -m pip install -q pywb
fi

echo "setup: done — run .venv/bin/crawler --help"

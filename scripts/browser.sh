#!/usr/bin/env bash
# The browser the browser tests drive: headless Chromium and its WebDriver server, from
# Debian's packages (`chromium`, `chromium-driver`), installed when missing. Like the
# moto virtualenv, the project installs what its tests need itself: a fresh machine or a
# CI run gets the same browser as a developer's.
#
#   scripts/browser.sh          install chromium and chromedriver if either is missing,
#                               then print their versions
#   scripts/browser.sh check    exit 0 if both are installed, 1 if not (installs nothing)
#
# tests/tests/browser.rs finds them on PATH (or through LEADWATCH_CHROMIUM and
# LEADWATCH_CHROMEDRIVER).
set -euo pipefail

have() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }

if [[ "${1:-}" == "check" ]]; then
  have
  exit $?
fi

if ! have; then
  echo "browser.sh: installing chromium and chromium-driver from Debian's packages" >&2
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "browser.sh: apt-get needs root; run: sudo apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
chromium --version >&2
chromedriver --version >&2

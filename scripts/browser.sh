#!/usr/bin/env bash
# The browser tests' tools: headless Chromium and its WebDriver server from Debian's
# packages (`chromium`, `chromium-driver`), and axe-core (the accessibility engine the
# web app's browser test runs inside its pages) in a project-local node_modules. Like the
# moto virtualenv, the project installs what its tests need itself: a fresh machine or a
# CI run gets the same browser as a developer's. Idempotent: installs only what is
# missing or at another version.
#
#   scripts/browser.sh          install what is missing, then print the tools' versions
#   scripts/browser.sh check    exit 0 if all are installed, 1 if not (installs nothing)
#
# tests/tests/browser.rs (forms) and tests/tests/browser_web.rs (the web app) find
# Chromium and chromedriver on PATH (or through LEADWATCH_CHROMIUM and
# LEADWATCH_CHROMEDRIVER) and axe-core in .browser/ (tests/src/browser.rs).
# apt-get needs root (CI and the dev containers run as root); elsewhere install
# `chromium` and `chromium-driver` yourself. axe-core needs npm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Pinned: a new axe-core adds rules, which must be a change we make, not one we get.
AXE_VERSION="4.10.3"
AXE_DIR="$ROOT/.browser"

log() { echo "browser.sh: $*" >&2; }

have_browser() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }
axe_installed() { node -p "require('$AXE_DIR/node_modules/axe-core/package.json').version" 2>/dev/null || true; }

if [[ "${1:-}" == "check" ]]; then
  have_browser && [[ "$(axe_installed)" == "$AXE_VERSION" ]]
  exit $?
fi

if ! have_browser; then
  log "installing chromium and chromium-driver from Debian's packages"
  if [[ "$(id -u)" -ne 0 ]]; then
    log "apt-get needs root; run: sudo apt-get install -y chromium chromium-driver"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

if [[ "$(axe_installed)" != "$AXE_VERSION" ]]; then
  log "installing axe-core $AXE_VERSION into .browser/node_modules"
  mkdir -p "$AXE_DIR"
  npm install --silent --no-audit --no-fund --no-save --prefix "$AXE_DIR" "axe-core@$AXE_VERSION" >&2
fi

echo "chromium: $(chromium --version 2>/dev/null | head -1)"
echo "chromedriver: $(chromedriver --version 2>/dev/null | head -1)"
echo "axe-core: $(axe_installed)"

#!/usr/bin/env bash
# The browser tests' tools: Debian's headless Chromium and its WebDriver, and axe-core
# (the accessibility engine the tests run inside the pages) in a project-local
# node_modules. Idempotent: installs only what is missing or at another version.
#   scripts/browser.sh          install if needed, then print the tools' versions
# apt-get needs root (CI and the dev containers run as root); elsewhere install
# `chromium` and `chromium-driver` yourself. axe-core needs npm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Pinned: a new axe-core adds rules, which must be a change we make, not one we get.
AXE_VERSION="4.10.3"
AXE_DIR="$ROOT/.browser"

log() { echo "browser.sh: $*" >&2; }

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  log "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

installed="$(node -p "require('$AXE_DIR/node_modules/axe-core/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$AXE_VERSION" ]]; then
  log "installing axe-core $AXE_VERSION into .browser/node_modules"
  mkdir -p "$AXE_DIR"
  npm install --silent --no-audit --no-fund --no-save --prefix "$AXE_DIR" "axe-core@$AXE_VERSION" >&2
fi

echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
echo "chromedriver: $(/usr/bin/chromedriver --version 2>/dev/null | head -1)"
echo "axe-core: $(node -p "require('$AXE_DIR/node_modules/axe-core/package.json').version")"

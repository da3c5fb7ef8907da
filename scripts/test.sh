#!/usr/bin/env bash
# Every test Leadwatch has: formatting, lints, unit and property tests of the domain,
# and the end-to-end tests against the local AWS stack (moto, started by the tests).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "== local AWS stack: virtualenv with moto[server]"
scripts/stack.sh venv
# The emulator's write-capacity figures back a test's budget: check its sizing rules.
.venv/bin/python scripts/moto_server.py --self-test

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

if [[ -x infra/check.sh ]]; then
  echo "== infra checks"
  infra/check.sh
fi

echo "== cargo test"
cargo test --workspace --locked

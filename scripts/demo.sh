#!/usr/bin/env bash
# The one-command local demo: starts the local AWS stack (moto, installed into ./.venv on
# first use), runs leads through ingest -> MQL -> SLA breach -> alerts -> reject ->
# nurture on a simulated clock, and prints the alerts and the SLA report.
#   scripts/demo.sh          run it, then stop the stack
#   scripts/demo.sh --keep   leave the stack running (scripts/stack.sh env / stop)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
eval "$(scripts/stack.sh start)"
if [[ "${1:-}" != "--keep" ]]; then trap 'scripts/stack.sh stop' EXIT; fi
cargo run --quiet -p leadwatch-cli -- demo

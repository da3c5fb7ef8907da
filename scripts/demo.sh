#!/usr/bin/env bash
# The one-command local demo: starts the local AWS stack (moto, installed into ./.venv on
# first use), runs three days of leads through ingest -> MQL -> SLA warning and breach ->
# escalation -> accept / reject -> nurture on a simulated clock, prints the alerts each
# manager received and the SLA report, then serves the whole HTTP API on the demo's data
# until Ctrl-C.
#   scripts/demo.sh              run it, serve the API until Ctrl-C, then stop the stack
#   scripts/demo.sh --no-serve   stop after the report
#   scripts/demo.sh --port N     serve on 127.0.0.1:N (default: any free port)
#   scripts/demo.sh --keep       leave the stack running (scripts/stack.sh env / stop)
# A stack that was already running before the demo is left running either way.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

usage() {
  local fd=2
  if (($1 == 0)); then fd=1; fi
  sed -n '7,10s/^#   /  /p' "$0" >&"$fd"
  exit "$1"
}

keep=0
args=()
while (($# > 0)); do
  case "$1" in
    --keep) keep=1 ;;
    --no-serve) args+=(--no-serve) ;;
    --port)
      (($# > 1)) || usage 2
      args+=(--port "$2")
      shift
      ;;
    --port=*) args+=("$1") ;;
    -h | --help) usage 0 ;;
    *)
      echo "demo.sh: unknown option $1" >&2
      usage 2
      ;;
  esac
  shift
done

# Build first, so that the stack does not sit idle through a first build of several minutes.
echo "demo.sh: building leadwatch (several minutes the first time)" >&2
cargo build --quiet -p leadwatch-cli --bin leadwatch

# Someone else's stack (started with --keep or by hand) is theirs to stop.
if ((keep == 0)) && ! scripts/stack.sh status >/dev/null 2>&1; then
  trap 'echo "demo.sh: stopping the local stack" >&2; scripts/stack.sh stop' EXIT
fi
eval "$(scripts/stack.sh start)"

# Not `exec`: this shell stays to run the EXIT trap once the server ends (Ctrl-C reaches
# both; the server finishes its requests and exits 0, then the trap stops the stack).
# `${args[@]+...}`: bash 3.2 (macOS) calls an empty array unbound under `set -u`.
cargo run --quiet -p leadwatch-cli --bin leadwatch -- demo ${args[@]+"${args[@]}"}

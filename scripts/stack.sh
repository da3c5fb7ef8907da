#!/usr/bin/env bash
# The local AWS stack: moto in server mode, run from a project-local virtualenv.
#
#   scripts/stack.sh venv              create .venv and install scripts/requirements*.txt
#                                      (again only when those files change)
#   eval "$(scripts/stack.sh start)"   start moto on a free loopback port, or reuse the one
#                                      running, and export AWS_ENDPOINT_URL, dummy
#                                      credentials and the region for the AWS SDKs and CLI
#   scripts/stack.sh env               print those export lines for the running stack
#   scripts/stack.sh status            say whether it runs (exit 0) or not (exit 1)
#   scripts/stack.sh stop              stop it; nothing to do if it is not running
#
# All it makes lives under the repo root, in .venv/ and .stack/ (both gitignored).
# Messages go to stderr, so that stdout of `start` and `env` is only the lines to eval.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STATE="$ROOT/.stack"
PYTHON="${PYTHON:-python3}" # the interpreter that creates the venv

log() { echo "stack.sh: $*" >&2; }
# shellcheck source=scripts/lib/venv.sh
source "$ROOT/scripts/lib/venv.sh"

# Test binaries and shells may ask at the same moment; scripts/lib/venv.sh serialises.
venv() {
  venv_sync "$VENV" "$STATE/venv.lock" "scripts/requirements*.txt (moto, infra tools)" \
    "$ROOT"/scripts/requirements*.txt
}

# Is PID a live moto server? Checked by its command line, so a stale pid file whose
# number now belongs to another process is never acted on.
is_moto() {
  [[ "$1" =~ ^[0-9]+$ ]] && ps -p "$1" -o args= 2>/dev/null | grep -q moto_server
}

# The recorded PID, if that process is still a moto server (and its endpoint is known).
moto_pid() {
  local pid
  [[ -f "$STATE/endpoint" ]] && pid="$(cat "$STATE/moto.pid" 2>/dev/null)" && is_moto "$pid" && echo "$pid"
}

# Does moto answer HTTP at URL? (Any answer will do: it means the server is up.)
answers() {
  "$PY" - "$1/moto-api/" 2>/dev/null <<'PY'
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1)
PY
}

# AWS_REGION is what the Rust SDK reads; boto3 and the v1 CLI read AWS_DEFAULT_REGION.
env_lines() {
  cat <<ENV
export AWS_ENDPOINT_URL=$(<"$STATE/endpoint")
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
ENV
}

start() {
  venv
  if moto_pid >/dev/null && answers "$(<"$STATE/endpoint")"; then
    env_lines
    return
  fi
  stop # a server from an earlier run that is gone or hung: clear it away first

  # A port the OS says is free, rather than a fixed one that something may hold.
  local port url pid server
  port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  url="http://127.0.0.1:$port"
  # scripts/moto_server.py serves one request at a time, which makes moto's conditional
  # writes atomic as DynamoDB's are (its threaded server races them; see that script).
  if [[ -f "$ROOT/scripts/moto_server.py" ]]; then
    server=("$PY" "$ROOT/scripts/moto_server.py")
  else
    server=("$VENV/bin/moto_server")
  fi
  # All three streams redirected: `eval "$(stack.sh start)"` waits for stdout to close,
  # and nohup keeps moto alive when the starting terminal goes away.
  nohup "${server[@]}" -H 127.0.0.1 -p "$port" </dev/null >"$STATE/moto.log" 2>&1 &
  pid=$!
  echo "$pid" >"$STATE/moto.pid"
  echo "$url" >"$STATE/endpoint"

  local deadline=$((SECONDS + 30)) why=""
  until answers "$url"; do
    if ! is_moto "$pid"; then why="exited before answering at $url"; break; fi
    if ((SECONDS >= deadline)); then why="did not answer at $url within 30 s"; break; fi
    sleep 0.2
  done
  if [[ -n "$why" ]]; then
    log "moto $why; end of $STATE/moto.log:"
    tail -n 20 "$STATE/moto.log" >&2
    stop
    exit 1
  fi
  log "moto running at $url (pid $pid, log .stack/moto.log)"
  env_lines
}

stop() {
  local pid i
  if pid="$(moto_pid)"; then
    kill "$pid" 2>/dev/null || true
    # Wait until it is gone, so its port is free once stop returns; one that ignores
    # TERM for 5 s (hung, or stopped with ^Z) gets KILL.
    for i in {1..60}; do
      is_moto "$pid" || break
      if ((i == 50)); then kill -KILL "$pid" 2>/dev/null || true; fi
      sleep 0.1
    done
  fi
  rm -f "$STATE/moto.pid" "$STATE/endpoint"
}

status() {
  local pid url
  if ! pid="$(moto_pid)"; then
    echo "stopped"
    return 1
  fi
  url="$(<"$STATE/endpoint")"
  if answers "$url"; then
    echo "running at $url (pid $pid)"
  else
    echo "pid $pid is running but not answering at $url (see .stack/moto.log)"
    return 1
  fi
}

case "${1:-}" in
  venv) venv ;;
  start) start ;;
  env)
    moto_pid >/dev/null || { log "not running; start it with: eval \"\$(scripts/stack.sh start)\""; exit 1; }
    env_lines
    ;;
  status) status ;;
  stop) stop ;;
  *)
    echo "usage: $0 venv|start|env|status|stop" >&2
    exit 2
    ;;
esac

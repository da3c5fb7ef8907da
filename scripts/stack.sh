#!/usr/bin/env bash
# The local AWS stack: moto in server mode, in a project-local virtualenv.
#   scripts/stack.sh venv     create .venv and install scripts/requirements.txt (once)
#   scripts/stack.sh start    start moto on a free loopback port; prints env lines to eval
#   scripts/stack.sh env      print the env lines of the running stack
#   scripts/stack.sh stop     stop it (by its recorded PID)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STATE="$ROOT/.stack"
PYTHON="${PYTHON:-python3}"

venv() {
  local stamp="$VENV/.requirements.sha256" want files
  # requirements.txt for moto; requirements-*.txt for other tools (infra checks).
  shopt -s nullglob
  files=("$ROOT"/scripts/requirements*.txt)
  shopt -u nullglob
  want="$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
  local f
  for f in "${files[@]}"; do
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$f" >&2
  done
  echo "$want" > "$stamp"
}

env_lines() {
  local endpoint
  endpoint="$(cat "$STATE/endpoint")"
  cat <<ENV
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
ENV
}

running() {
  [[ -f "$STATE/moto.pid" ]] || return 1
  local pid
  pid="$(cat "$STATE/moto.pid")"
  kill -0 "$pid" 2>/dev/null && grep -q moto_server.py "/proc/$pid/cmdline" 2>/dev/null
}

start() {
  venv
  mkdir -p "$STATE"
  if running; then env_lines; return 0; fi
  local port
  # Ask the OS for a free port: moto must not collide with anything already listening.
  port="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  nohup "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$port" > "$STATE/moto.log" 2>&1 &
  echo $! > "$STATE/moto.pid"
  echo "http://127.0.0.1:$port" > "$STATE/endpoint"
  for _ in $(seq 1 150); do
    if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
      env_lines
      return 0
    fi
    sleep 0.2
  done
  echo "moto did not answer on port $port within 30 s; last log lines:" >&2
  tail -n 20 "$STATE/moto.log" >&2
  stop
  return 1
}

stop() {
  if running; then kill "$(cat "$STATE/moto.pid")" 2>/dev/null || true; fi
  rm -f "$STATE/moto.pid" "$STATE/endpoint"
}

case "${1:-}" in
  venv) venv ;;
  start) start ;;
  env) running && env_lines ;;
  stop) stop ;;
  status) if running; then echo "running at $(cat "$STATE/endpoint")"; else echo "stopped"; fi ;;
  *) echo "usage: $0 venv|start|env|stop|status" >&2; exit 2 ;;
esac

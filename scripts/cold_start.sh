#!/usr/bin/env bash
# Cold starts of the release builds (issue 15): each function binary's init time, peak
# RSS and first invocation's latency through the Lambda Runtime API, with and without
# the init-time connection warm-up. Builds the functions with the deployed profile
# (scripts/zip_size.sh, which also prints their zip sizes for this machine), then runs
# the ignored test tests/tests/cold_start.rs on them against the local stack.
#
#   scripts/cold_start.sh            LEADWATCH_COLD_START_RUNS=5 cold starts per mode
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/stack.sh venv
LEADWATCH_ZIP_LIMIT_BYTES="${LEADWATCH_ZIP_LIMIT_BYTES:-6000000}" scripts/zip_size.sh
LEADWATCH_FUNCTION_BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/lambda" \
  cargo test --locked -p leadwatch-e2e --test cold_start -- --ignored --nocapture

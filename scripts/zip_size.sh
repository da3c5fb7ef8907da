#!/usr/bin/env bash
# The zip-size check (issue 15): builds the function binaries for this machine with
# the deployed profile (`lambda`: release, opt-level "s", fat LTO, stripped), zips each as
# `bootstrap` (deflate level 9, as a Lambda zip) and fails when one is over the limit.
#
#   scripts/zip_size.sh                   limit 6,000,000 bytes (LEADWATCH_ZIP_LIMIT_BYTES)
#   LEADWATCH_SIZE_PROFILE=<p> scripts/zip_size.sh   another Cargo profile
#
# A proxy for scripts/package.sh's arm64 zips, which need cargo-lambda and zig: the host
# (x86_64 in CI) builds the same code with the same profile and features; aarch64 code is
# usually within a few per cent of x86_64's size, and the limit leaves room for that.
# Only the functions' packages are selected, as package.sh selects them, so that no
# feature of the CLI or the tests is linked in.
#
# Not in scripts/test.sh: one full build of the fat-LTO binaries takes 10-18 min of wall
# time on a two-core machine, which CI cannot afford on top of its tests. CI checks
# instead what each function links (scripts/test.sh, "zips"): the cause of the zips
# that were over the limit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PROFILE="${LEADWATCH_SIZE_PROFILE:-lambda}"
LIMIT="${LEADWATCH_ZIP_LIMIT_BYTES:-6000000}"
FUNCTIONS=(ingest disposition watchdog report notifier web export rollup)

args=()
for f in "${FUNCTIONS[@]}"; do args+=(-p "leadwatch-$f" --bin "$f"); done
started="$(date +%s)"
cargo build --locked --profile "$PROFILE" "${args[@]}"
echo "zip_size.sh: built in $(($(date +%s) - started)) s (profile $PROFILE)" >&2

dir="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE"
python3 - "$dir" "$LIMIT" "${FUNCTIONS[@]}" <<'PY'
import io, os, sys, zipfile
directory, limit, functions = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
over = []
print(f"{'function':<12} {'binary':>12} {'zip':>12}   limit {limit} bytes")
for name in functions:
    path = os.path.join(directory, name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
    size = len(buffer.getvalue())
    print(f"{name:<12} {os.path.getsize(path):>12} {size:>12}{'   OVER' if size > limit else ''}")
    if size > limit:
        over.append(name)
if over:
    sys.exit(f"zip_size.sh: over {limit} bytes: {', '.join(over)}")
PY

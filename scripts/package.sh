#!/usr/bin/env bash
# Deployable Lambda zips: one bootstrap.zip per function, built by cargo-lambda.
#
#   scripts/package.sh            arm64 (aarch64-unknown-linux-gnu), what infra/template.yaml
#                                 deploys (Architectures: [arm64], provided.al2023)
#   scripts/package.sh --x86-64   x86_64-unknown-linux-gnu instead
#
# Writes target/lambda/<arch>/<function>/bootstrap.zip (LEADWATCH_PACKAGE_DIR replaces
# target/lambda), prints each zip's path and size and the build time, and keeps the same
# table in target/lambda/<arch>/sizes.tsv. A release build with LTO of five binaries:
# several minutes on two cores, which is why CI does not run it.
#
# Tools: cargo-lambda and zig from PyPI (scripts/package-requirements.txt) in their own
# virtualenv ./.venv/package, re-installed only when that file changes (hash stamp). They
# are kept out of ./.venv: scripts/stack.sh installs every scripts/requirements*.txt
# there, and every test run would then install zig as well.
#
# The Rust standard library of the target must be in the toolchain: zig links for any
# target, but rustc needs the target's precompiled std. With rustup it is added here
# (`rustup target add`, a download from the Rust distribution server); where that cannot
# be done, the script stops and says so.
#
# Exit status: 0 zips built, 1 build or check failed, 2 usage, 3 target std unavailable.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv/package"
REQ="$ROOT/scripts/package-requirements.txt"
PYTHON="${PYTHON:-python3}"
FUNCTIONS=(ingest disposition watchdog report notifier web export rollup)

log() { echo "package.sh: $*" >&2; }

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

arch=arm64
case "${1:-}" in
  "" | --arm64) arch=arm64 ;;
  --x86-64 | --x86_64) arch=x86_64 ;;
  -h | --help) usage ;;
  *) log "unknown option: $1"; usage ;;
esac
(($# <= 1)) || usage
case "$arch" in
  arm64) triple=aarch64-unknown-linux-gnu flag=--arm64 elf_machine=183 ;;
  x86_64) triple=x86_64-unknown-linux-gnu flag=--x86-64 elf_machine=62 ;;
esac
OUT="${LEADWATCH_PACKAGE_DIR:-$ROOT/target/lambda}/$arch"

# ---------------------------------------------------------------- tools
# shellcheck source=scripts/lib/venv.sh
source "$ROOT/scripts/lib/venv.sh"
# Two packagers at once: one installs, the other waits for it.
venv_sync "$VENV" "$ROOT/.venv/.package.lock" "scripts/package-requirements.txt (cargo-lambda, zig)" "$REQ"
# cargo-lambda's zig linker is `zig` on PATH or `python3 -m ziglang`: the venv gives both.
export PATH="$VENV/bin:$PATH"

# ---------------------------------------------------------------- checks
# cargo-lambda adds panic = "abort" (and strip, thin LTO, codegen-units = 1) to a release
# build for every key the workspace's [profile.release] leaves out. Abort would defeat
# lambda_runtime's catch_unwind (a handler panic would kill the sandbox), so refuse to
# build rather than ship that by accident.
"$VENV/bin/python" - "$ROOT/Cargo.toml" <<'PY' || exit 1
import sys, tomllib
profiles = tomllib.load(open(sys.argv[1], "rb")).get("profile", {})
if profiles.get("release", {}).get("panic") != "unwind":
    sys.exit('package.sh: Cargo.toml [profile.release] must say panic = "unwind"; '
             'without it cargo-lambda builds with panic = "abort"')
lam = profiles.get("lambda", {})
if lam.get("inherits") != "release" or lam.get("panic", "unwind") != "unwind":
    sys.exit('package.sh: Cargo.toml [profile.lambda] must inherit release and keep panic = "unwind"')
PY

sysroot="$(rustc --print sysroot)"
if [[ ! -d "$sysroot/lib/rustlib/$triple/lib" ]]; then
  why="the Rust standard library for $triple is not installed in $sysroot"
  if command -v rustup >/dev/null; then
    log "$why; adding it with rustup"
    if ! err="$(RUST_BACKTRACE=0 rustup target add "$triple" 2>&1)"; then
      log "$why, and \`rustup target add $triple\` failed:"
      echo "    ${err//$'\n'/$'\n'    }" >&2
      why="rustup could not download it"
    fi
  fi
  if [[ ! -d "$sysroot/lib/rustlib/$triple/lib" ]]; then
    log "cannot build $arch: $why."
    log "zig links for $triple, but rustc still needs that target's precompiled std, and"
    log "this toolchain has none. Install it (rustup target add $triple) where the Rust"
    log "distribution server is reachable, or prove the packaging path here with --x86-64."
    exit 3
  fi
fi

# ---------------------------------------------------------------- build
bins=()
for f in "${FUNCTIONS[@]}"; do bins+=(--bin "$f"); done
log "building ${FUNCTIONS[*]} for $triple ($(cargo-lambda lambda --version), zig $(python -m ziglang version), $(rustc --version))"
started="$(date +%s.%N)"
# Profile `lambda` (Cargo.toml: release, optimised for size). Only the functions' packages
# are selected, so that no feature the CLI or the tests enable (aws-config's SSO
# profiles, say) is linked into a function.
pkgs=()
for f in "${FUNCTIONS[@]}"; do pkgs+=(-p "leadwatch-$f"); done
cargo-lambda lambda build --profile lambda "$flag" --output-format zip --lambda-dir "$OUT" "${pkgs[@]}" "${bins[@]}"
seconds="$(python -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.0f}")' "$started" "$(date +%s.%N)")"

# ---------------------------------------------------------------- report
# Each zip must hold an executable `bootstrap` for the right machine: a zip from a stale
# build directory or another target would deploy and then fail at its first cold start.
"$VENV/bin/python" - "$OUT" "$elf_machine" "$arch" "$seconds" "${FUNCTIONS[@]}" <<'PY'
import os, struct, sys, zipfile
out, machine, arch, seconds, functions = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
# Lambda's limits for a zip uploaded directly, and for the unzipped function.
ZIP_LIMIT, UNZIPPED_LIMIT = 50 * 2**20, 250 * 2**20
rows, problems = [], []
for name in functions:
    path = os.path.join(out, name, "bootstrap.zip")
    if not os.path.isfile(path):
        problems.append(f"{path}: missing")
        continue
    with zipfile.ZipFile(path) as z:
        try:
            info = z.getinfo("bootstrap")
        except KeyError:
            problems.append(f"{path}: no bootstrap inside")
            continue
        head = z.open(info).read(20)
    if head[:4] != b"\x7fELF" or struct.unpack_from("<H", head, 18)[0] != machine:
        problems.append(f"{path}: bootstrap is not a {arch} ELF executable")
    if (info.external_attr >> 16) & 0o111 == 0:
        problems.append(f"{path}: bootstrap is not executable")
    size = os.path.getsize(path)
    if size > ZIP_LIMIT or info.file_size > UNZIPPED_LIMIT:
        problems.append(f"{path}: over Lambda's size limits")
    rows.append((name, size, info.file_size, os.path.relpath(path)))

lines = ["function\tzip_bytes\tbootstrap_bytes\tpath"]
lines += [f"{n}\t{z}\t{b}\t{p}" for n, z, b, p in rows]
with open(os.path.join(out, "sizes.tsv"), "w") as f:
    f.write("\n".join(lines) + "\n")
mib = lambda n: f"{n / 2**20:.2f} MiB"
print(f"\n{arch} zips (build {seconds} s):")
for n, z, b, p in rows:
    print(f"  {p}  {z} bytes ({mib(z)}; bootstrap {mib(b)} unzipped)")
print(f"  total {mib(sum(r[1] for r in rows))}; table in {os.path.relpath(out)}/sizes.tsv")
for p in problems:
    print(f"package.sh: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

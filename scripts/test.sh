#!/usr/bin/env bash
# The one test command: installs what the tests need on a fresh Debian machine, builds once
# (release), and runs every suite: cargo tests (unit + the real binary), redis-py in RESP2 and
# RESP3, redis-cli, and a short kill -9 crash run. Long soak runs: scripts/crash.sh --long.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

# --- system packages ---------------------------------------------------------------------
missing=()
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v python3 >/dev/null || missing+=(python3 python3-pip)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- python packages ---------------------------------------------------------------------
if ! python3 -c 'import redis, pytest' 2>/dev/null; then
  log "installing python packages"
  python3 -m pip install -q -r integration/python/requirements.txt 2>/dev/null ||
    python3 -m pip install -q --break-system-packages -r integration/python/requirements.txt
fi

# --- node packages (ioredis, pinned by integration/node/package-lock.json) ---------------------
if [ ! -d integration/node/node_modules/ioredis ]; then
  log "installing node packages"
  (cd integration/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- build once, test -----------------------------------------------------------------------
# One release build serves cargo test, the python suite, redis-cli and the crash run.
log "cargo build --release"
cargo build --release --bins
BIN="$PWD/target/release/vaylix"

# --- the Docker image's build context --------------------------------------------------------
# No Docker engine here: instead check that the files the Dockerfile COPYs, alone in a directory,
# make a buildable crate (a bench or source file missing from the COPY lines breaks the image).
log "docker/Dockerfile: its COPY set builds on its own"
docker_ctx="$(mktemp -d)"
trap 'rm -rf "$docker_ctx"' EXIT
grep -E '^COPY[[:space:]]' docker/Dockerfile | grep -v -- '--from=' | while read -r _ rest; do
  read -ra words <<<"$rest"
  args=()
  for w in "${words[@]}"; do [[ $w == --* ]] || args+=("$w"); done
  dest="${args[-1]}"
  unset 'args[-1]'
  for src in "${args[@]}"; do
    [ -e "$src" ] || { echo "docker/Dockerfile copies $src, which does not exist" >&2; exit 1; }
    case "$dest" in
      /*) ;; # into the runtime image, outside the build directory: existing is enough
      */) mkdir -p "$docker_ctx/$dest" && cp -a "$src" "$docker_ctx/$dest" ;;
      *) mkdir -p "$docker_ctx/$(dirname "$dest")" && cp -a "$src" "$docker_ctx/$dest" ;;
    esac
  done
done
# A target dir of its own (kept between runs, so only vaylix itself is checked again).
CARGO_TARGET_DIR="$PWD/target/docker-check" \
  cargo check --locked --quiet --bin vaylix --manifest-path "$docker_ctx/Cargo.toml"

log "cargo test --release"
cargo test --release
log "cargo bench targets, each routine once (no timing)"
cargo test --release --benches

log "redis-py suite (RESP2 + RESP3)"
VAYLIX_BIN="$BIN" python3 -m pytest -q integration/python

log "redis-cli suite"
VAYLIX_BIN="$BIN" bash integration/cli/test_cli.sh

log "ioredis suite"
(cd integration/node && VAYLIX_BIN="$BIN" timeout 300 node --test --test-reporter=tap test/)

if [ -x scripts/crash.sh ]; then
  log "crash run (short)"
  VAYLIX_BIN="$BIN" scripts/crash.sh --quick
  log "crash run (short, appendfsync everysec)"
  VAYLIX_BIN="$BIN" scripts/crash.sh --quick-everysec
  log "crash run (short, job queue: RPUSH / BLPOP / BLMOVE)"
  VAYLIX_BIN="$BIN" timeout 120 scripts/crash.sh --quick-queue
fi

log "all suites passed"

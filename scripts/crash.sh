#!/usr/bin/env bash
# kill -9 soak of the real binary: concurrent writers, kill -9 at random moments (sometimes mid
# snapshot), restart, check every acknowledged write. `--quick` for CI, `--long` for a soak,
# any other flags go to scripts/crash.py (--cycles N --writers N --seed N
# --appendfsync always|everysec|no). `--quick-everysec`: the short run under everysec, where
# kill -9 must lose nothing either (replies wait for the write(2)). `--quick-queue`: the short
# job-queue run (`--mode queue`: RPUSH producers, BLPOP and BLMOVE consumers; no acknowledged
# push lost, no acknowledged pop back or repeated); `--long-queue` its soak.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VAYLIX_BIN:-$PWD/target/release/vaylix}"
[ -x "$BIN" ] || cargo build --release --bins
case "${1:-}" in
  --quick) shift; set -- --cycles 3 --run-for 1.5 "$@" ;;
  --quick-everysec) shift; set -- --cycles 3 --run-for 1 --appendfsync everysec "$@" ;;
  --quick-queue) shift; set -- --mode queue --cycles 3 --run-for 1.5 "$@" ;;
  --long) shift; set -- --cycles 200 --run-for 5 "$@" ;;
  --long-queue) shift; set -- --mode queue --cycles 100 --run-for 5 --producers 16 --consumers 16 "$@" ;;
esac
exec python3 scripts/crash.py --binary "$BIN" "$@"

#!/usr/bin/env bash
# kill -9 soak of the real binary: concurrent writers, kill -9 at random moments (sometimes mid
# snapshot), restart, check every acknowledged write. `--quick` for CI, `--long` for a soak,
# any other flags go to scripts/crash.py (--cycles N --writers N --seed N
# --appendfsync always|everysec|no). `--quick-everysec`: the short run under everysec, where
# kill -9 must lose nothing either (replies wait for the write(2)).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VAYLIX_BIN:-$PWD/target/release/vaylix}"
[ -x "$BIN" ] || cargo build --release --bins
case "${1:-}" in
  --quick) shift; set -- --cycles 3 --run-for 1.5 "$@" ;;
  --quick-everysec) shift; set -- --cycles 3 --run-for 1 --appendfsync everysec "$@" ;;
  --long) shift; set -- --cycles 200 --run-for 5 "$@" ;;
esac
exec python3 scripts/crash.py --binary "$BIN" "$@"

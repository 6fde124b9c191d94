#!/usr/bin/env bash
# Side-by-side benchmark: vaylix vs a stock redis-server, same durability setting, same load,
# same run (alternating order, medians). See docs/performance.md for the method.
#
#   scripts/bench.sh --quick            1 repetition, short runs (~3-4 min)
#   scripts/bench.sh --full             3 repetitions (override: --reps N), longer runs
#   scripts/bench.sh --json out.json    also write the results as JSON
#   scripts/bench.sh --only NAME        one workload: always | everysec | memory | recovery |
#                                       snapshot | types | typesmem | typesnap | zsetmem | zsets |
#                                       listmem | lists | queue | pubsub | scripts
#   VAYLIX_BIN=/path/to/vaylix          use that prebuilt binary: no cargo build, no cargo needed
#
# Installs nothing. Needs redis-server, redis-benchmark, redis-cli (apt: redis-server,
# redis-tools), python3 and cargo. Servers listen on free 127.0.0.1 ports only; their data
# dirs live under one mktemp dir that is removed on exit; servers are stopped by PID.
#
# Dry run (not in --help on purpose): BENCH_VAYLIX_IS_REDIS=1 makes the "vaylix" side a second
# redis-server with exactly the Redis side's flags and skips the cargo build, so the script's
# own logic (loading, checks, rows, targets) can be tried before vaylix has a command. Ratios
# are then Redis / Redis, i.e. the noise of the method. The header says "DRY RUN".
set -euo pipefail
ORIG_PWD=$PWD
cd "$(dirname "$0")/.."
ROOT=$PWD
DRIVER="$ROOT/scripts/bench/driver.py"
QUEUE="$ROOT/scripts/bench/queue.py"
PUBSUB="$ROOT/scripts/bench/pubsub.py"

MODE=quick
REPS=""
JSON_OUT=""
ONLY=""
WORKLOADS=(always everysec memory recovery snapshot types typesmem typesnap zsetmem zsets listmem lists queue pubsub scripts cache)
DRY_REDIS=${BENCH_VAYLIX_IS_REDIS:-0}
[[ "$DRY_REDIS" =~ ^[01]$ ]] || die "BENCH_VAYLIX_IS_REDIS must be 0 or 1"

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "bench.sh: error: $*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --reps) [ $# -ge 2 ] || die "--reps needs a number"; REPS=$2; shift ;;
    --json) [ $# -ge 2 ] || die "--json needs a file name"; JSON_OUT=$2; shift ;;
    --only) [ $# -ge 2 ] || die "--only needs a workload name"; ONLY=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
  shift
done
if [ -n "$ONLY" ]; then
  case " ${WORKLOADS[*]} " in *" $ONLY "*) ;; *) die "--only: unknown workload '$ONLY' (one of: ${WORKLOADS[*]})" ;; esac
fi
if [ -n "$JSON_OUT" ]; then
  case "$JSON_OUT" in /*) ;; *) JSON_OUT="$ORIG_PWD/$JSON_OUT" ;; esac
  [ -d "$(dirname "$JSON_OUT")" ] || die "--json: directory $(dirname "$JSON_OUT") does not exist"
fi

# --- sizes ---------------------------------------------------------------------------------
BIG=1000000          # keys for memory / recovery / snapshot (both modes)
if [ "$MODE" = quick ]; then
  : "${REPS:=1}"
  N_P1=50000         # requests for -P 1 runs
  N_P16=300000       # requests for -P 16 runs
  N_GET_KEYS=100000
  STALL_SECS=3
  QUEUE_SECS=5
  PUBSUB_SECS=5      # saturated fan-out phase; then PUBSUB_FIX_SECS at PUBSUB_FIX_RATE PUBLISH/s;
  PUBSUB_FIX_SECS=4  # then 2 x PUBSUB_PAT_SECS of PUBLISH without / with patterns
  PUBSUB_PAT_SECS=2
  CACHE_GETS=200000  # GET requests of the measured cache phase (SETs are a tenth of it)
else
  : "${REPS:=3}"
  N_P1=200000
  N_P16=2000000
  N_GET_KEYS=100000
  STALL_SECS=10
  QUEUE_SECS=15
  PUBSUB_SECS=15
  PUBSUB_FIX_SECS=10
  PUBSUB_PAT_SECS=5
  CACHE_GETS=1000000
fi
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
PUBSUB_FIX_RATE=2000   # pubsub open-loop phase: offered PUBLISH/s (x 50 subscribers = deliveries/s)
BENCH_COMMON=(-c 50 -d 64 -r 100000)
# issue 12 (types*): 100k small collections of 10 elements, and one collection of BIG elements
TYPES_SMALL_KEYS=100000
TYPES_SMALL_ELEMS=10

# --- prerequisites (nothing is installed) -----------------------------------------------------
missing=()
command -v redis-server >/dev/null || missing+=("redis-server (apt package redis-server)")
command -v redis-benchmark >/dev/null || missing+=("redis-benchmark (apt package redis-tools)")
command -v redis-cli >/dev/null || missing+=("redis-cli (apt package redis-tools)")
command -v python3 >/dev/null || missing+=("python3 (apt package python3)")
VAYLIX_BIN=${VAYLIX_BIN:-}
[ "$DRY_REDIS" = 1 ] || [ -n "$VAYLIX_BIN" ] || command -v cargo >/dev/null || missing+=("cargo (rustup)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench.sh: missing prerequisites (not installing anything):" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "  e.g. sudo apt-get install redis-server redis-tools python3" >&2
  exit 2
fi
command -v timeout >/dev/null || die "coreutils 'timeout' is missing"
CLK_TCK=$(getconf CLK_TCK)

# --- temp dir, server bookkeeping, cleanup -------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vaylix-bench.XXXXXX")
RAW="$TMP/raw.tsv"
: >"$RAW"
declare -A PID=() PORT=() DIR=()   # by side: vaylix | redis
ALL_PIDS=()

stop_pid() {   # stop_pid PID: TERM, wait up to 10 s, then KILL
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  echo "bench.sh: pid $p ignored SIGTERM for 10 s; sending SIGKILL" >&2
  kill -KILL "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${ALL_PIDS[@]}"; do stop_pid "$p"; done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench.sh: interrupted" >&2; exit 130' INT TERM

# --- build ---------------------------------------------------------------------------------------
VAYLIX="$ROOT/target/release/vaylix"
if [ "$DRY_REDIS" = 1 ]; then
  log "DRY RUN (BENCH_VAYLIX_IS_REDIS=1): the vaylix side is a second redis-server; no build"
elif [ -n "$VAYLIX_BIN" ]; then
  case "$VAYLIX_BIN" in /*) ;; *) VAYLIX_BIN="$ORIG_PWD/$VAYLIX_BIN" ;; esac
  [ -x "$VAYLIX_BIN" ] || die "VAYLIX_BIN=$VAYLIX_BIN is not an executable file"
  VAYLIX=$VAYLIX_BIN
  log "VAYLIX_BIN: using the prebuilt $VAYLIX; no build"
else
  log "cargo build --release --bins"
  cargo build --release --bins >&2 || die "cargo build failed"
  [ -x "$VAYLIX" ] || die "$VAYLIX not found after the build"
fi

# --- server control ------------------------------------------------------------------------------
# start_server SIDE FSYNC DATADIR: starts one server on a free port (reusing DATADIR's data if
# any, as the recovery workload does), waits for PONG.
# Sets PID[SIDE], PORT[SIDE], DIR[SIDE]; LAST_STARTUP = seconds from spawn to the first PONG.
start_server() {
  local side=$1 fsync=$2 dir=$3 port t0
  port=$(python3 "$DRIVER" freeport)
  mkdir -p "$dir"
  t0=$(date +%s%N)
  if [ "$side" = vaylix ] && [ "$DRY_REDIS" = 0 ]; then
    "$VAYLIX" --port "$port" --bind 127.0.0.1 --data-dir "$dir/data" --appendfsync "$fsync" \
      >>"$dir/server.log" 2>&1 &
  else
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes \
      --appendfsync "$fsync" --save '' --daemonize no --logfile "$dir/server.log" \
      >>"$dir/server.log" 2>&1 &
  fi
  PID[$side]=$!
  ALL_PIDS+=("$!")
  disown "$!"   # no "Killed" job notices after kill -9; still stopped by PID in the trap
  PORT[$side]=$port
  DIR[$side]=$dir
  if ! LAST_STARTUP=$(python3 "$DRIVER" waitpong --port "$port" --timeout 180 --t0-ns "$t0"); then
    echo "bench.sh: $side did not answer PING on port $port; last log lines:" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    exit 1
  fi
  if [ "$side" = vaylix ] && [ "$STORAGE_STATUS" = unknown ]; then check_vaylix_storage; fi
}
stop_server() { local side=$1; stop_pid "${PID[$side]}"; PID[$side]=""; }
kill9_server() {
  local side=$1 p i
  p=${PID[$side]}
  kill -KILL "$p"
  for i in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  ! kill -0 "$p" 2>/dev/null || die "$side (pid $p) still alive 10 s after SIGKILL"
  PID[$side]=""
}
rcli() { local side=$1; shift; timeout 60 redis-cli -p "${PORT[$side]}" "$@"; }
info_field() {  # info_field SIDE SECTION FIELD
  rcli "$1" INFO "$2" | tr -d '\r' | awk -F: -v f="$3" '$1==f {print $2; exit}'
}
cpu_ticks() {   # utime+stime of the whole process (all threads) in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
rss_bytes() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }
rec() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"; }   # metric side value
note() { printf '%s\tnote\t%s\n' "$1" "$2" >>"$RAW"; }

# wait until no AOF rewrite / BGSAVE (Redis) or snapshot (vaylix) is running
wait_idle() {
  local side=$1 i info
  for i in $(seq 600); do
    info=$(rcli "$side" INFO persistence | tr -d '\r')
    if ! grep -Eq '^(aof_rewrite_in_progress|rdb_bgsave_in_progress|snapshot_in_progress):1$' <<<"$info"; then
      return 0
    fi
    sleep 0.1
  done
  die "$side: background rewrite/save still running after 60 s"
}

# load_pipe SIDE FILE EXPECTED_KEYS
load_pipe() {
  local side=$1 file=$2 want=$3 out n
  out=$(timeout 600 redis-cli -p "${PORT[$side]}" --pipe --pipe-timeout 120 <"$file" 2>&1) ||
    die "$side: redis-cli --pipe failed: $(echo "$out" | tail -n 3)"
  grep -q 'errors: 0,' <<<"$out" || die "$side: --pipe reported errors: $(echo "$out" | tail -n 2)"
  n=$(rcli "$side" DBSIZE)
  [ "$n" -ge "$want" ] || die "$side: DBSIZE $n after loading $want keys"
}

keyfile() {  # keyfile N -> path of a RESP file with N SETs (generated once)
  local f="$TMP/keys-$1.resp"
  [ -s "$f" ] || python3 "$DRIVER" gen --count "$1" --size 64 --out "$f"
  echo "$f"
}

# order REP -> "vaylix redis" on odd repetitions, "redis vaylix" on even ones
order() { if [ $(( $1 % 2 )) = 1 ]; then echo "vaylix redis"; else echo "redis vaylix"; fi; }

# bench SIDE METRIC_PREFIX TEST N PIPELINE [COMMAND ARG...]: one redis-benchmark run; records
# rps, latencies, CPU. TEST is a redis-benchmark test (-t TEST), or, when a COMMAND is given, only
# a name for the log: redis-benchmark then runs that command (its CSV row is named after it).
# BENCH_ROW=NAME: the CSV row to read when it is not named after the test (-t lrange_100 also
# runs an LPUSH fill and names its row "LRANGE_100 (first 100 elements)").
bench() {
  local side=$1 m=$2 test=$3 n=$4 pl=$5 before after csv line rps p50 p99 max f0 f1 what pat
  shift 5
  if [ $# -gt 0 ]; then what=("$@"); pat="^$*,"; else what=(-t "$test"); pat="^${BENCH_ROW:-$test},"; fi
  f0=$(info_field "$side" persistence wal_fsync_count)
  before=$(cpu_ticks "${PID[$side]}")
  csv=$(timeout 900 redis-benchmark -p "${PORT[$side]}" "${BENCH_COMMON[@]}" -P "$pl" -n "$n" \
        --csv "${what[@]}" 2>"$TMP/rb.err") || die "$side: redis-benchmark failed: $(tail -n 3 "$TMP/rb.err")"
  after=$(cpu_ticks "${PID[$side]}")
  f1=$(info_field "$side" persistence wal_fsync_count)
  if [ -n "$f0" ] && [ -n "$f1" ] && [ $# = 0 ] && [ $((f1 - f0)) -gt 0 ]; then
    case "$test" in set|hset|sadd|zadd|zpopmin|lpush|rpush|lpop|rpop)
      note "${m}_rps" "$side: $((f1 - f0)) WAL fsyncs, $(( n / (f1 - f0) )) ${test^^}s per fsync" ;;
    esac
  fi
  line=$(echo "$csv" | tr -d '"' | grep -i "$pat" | tail -n 1) ||
    die "$side: could not parse redis-benchmark output: $csv"
  IFS=, read -r _ rps _ _ p50 _ p99 max <<<"$line"
  log "  $side $test -P $pl: $rps ops/s (p50 $p50 ms, p99 $p99 ms, max $max ms)"
  rec "${m}_rps" "$side" "$rps"
  if [ "$pl" = 1 ]; then rec "${m}_p50" "$side" "$p50"; rec "${m}_p99" "$side" "$p99"; rec "${m}_max" "$side" "$max"; fi
  rec "${m}_cpu" "$side" "$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN{printf "%.3f", t / hz / n * 1e6}')"
}

# durability status of vaylix, from INFO persistence (the storage engine adds wal_* fields)
check_vaylix_storage() {
  local info
  if [ "$DRY_REDIS" = 1 ]; then
    STORAGE_STATUS="DRY RUN: the vaylix column is a second redis-server (BENCH_VAYLIX_IS_REDIS=1)"
    return 0
  fi
  info=$(rcli vaylix INFO persistence | tr -d '\r')
  if grep -q '^wal_' <<<"$info"; then
    STORAGE_STATUS="merged (INFO persistence has wal_* fields)"
  else
    STORAGE_STATUS="NOT merged: no wal_* fields in INFO persistence, vaylix 'always' numbers are not durable yet"
  fi
}
STORAGE_STATUS=unknown

# --- workloads -----------------------------------------------------------------------------------
w_always() {
  log "workload always: SET, appendfsync always, -P 1 ($N_P1 req) and -P 16 ($N_P16 req), $REPS rep(s)"
  start_server vaylix always "$TMP/always-vaylix"
  start_server redis always "$TMP/always-redis"
  local r s
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do bench "$s" always_set_p1 set "$N_P1" 1; done
    for s in $(order "$((r + 1))"); do bench "$s" always_set_p16 set "$N_P16" 16; done
  done
  for s in vaylix redis; do
    note always_set_p1_rps "$s data dir after: $(du -sh --exclude=server.log "${DIR[$s]}" | cut -f1)"
    stop_server "$s"
  done
}

w_everysec() {
  log "workload everysec: SET, then GET on $N_GET_KEYS loaded keys, appendfsync everysec, $REPS rep(s)"
  local f r s
  f=$(keyfile "$N_GET_KEYS")
  start_server vaylix everysec "$TMP/everysec-vaylix"
  start_server redis everysec "$TMP/everysec-redis"
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do bench "$s" everysec_set set "$N_P1" 1; done
  done
  for s in vaylix redis; do load_pipe "$s" "$f" "$N_GET_KEYS"; done
  for r in $(seq "$REPS"); do
    for s in $(order "$((r + 1))"); do bench "$s" everysec_get get "$N_P1" 1; done
  done
  for s in vaylix redis; do stop_server "$s"; done
}

w_memory() {
  log "workload memory: $BIG keys x 64 B via redis-cli --pipe (everysec)"
  local f s u0 r0 u1 r1
  f=$(keyfile "$BIG")
  for s in vaylix redis; do
    start_server "$s" everysec "$TMP/memory-$s"
    u0=$(info_field "$s" memory used_memory); r0=$(rss_bytes "${PID[$s]}")
    load_pipe "$s" "$f" "$BIG"
    wait_idle "$s"
    sleep 1
    u1=$(info_field "$s" memory used_memory); r1=$(rss_bytes "${PID[$s]}")
    if [ "$u1" = "$(info_field "$s" memory used_memory_rss)" ]; then
      note mem_used_per_key "$s used_memory equals its RSS (no allocator accounting)"
    fi
    log "  $s: used_memory $u0 -> $u1, RSS $r0 -> $r1"
    rec mem_used_per_key "$s" "$(awk -v a="$u0" -v b="$u1" -v n="$BIG" 'BEGIN{printf "%.2f", (b - a) / n}')"
    rec mem_rss_per_key "$s" "$(awk -v a="$r0" -v b="$r1" -v n="$BIG" 'BEGIN{printf "%.2f", (b - a) / n}')"
    stop_server "$s"
  done
  note mem_used_per_key "(after load - empty server) / 1M keys"
}

w_recovery() {
  log "workload recovery: $BIG keys under always, kill -9, start -> first PONG, $REPS rep(s)"
  local f s r n t sz
  f=$(keyfile "$BIG")
  for s in vaylix redis; do
    start_server "$s" always "$TMP/recovery-$s"
    load_pipe "$s" "$f" "$BIG"
    wait_idle "$s"
  done
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do
      kill9_server "$s"
      sz=$(du -sb "${DIR[$s]}" --exclude=server.log | cut -f1)
      start_server "$s" always "${DIR[$s]}"
      t=$LAST_STARTUP
      n=$(rcli "$s" DBSIZE)
      log "  $s: PONG after ${t}s, $n/$BIG keys recovered, data dir $sz bytes"
      rec recovery_time "$s" "$t"
      rec recovery_disk "$s" "$(awk -v b="$sz" 'BEGIN{printf "%.1f", b / 1048576}')"
      note recovery_time "$s recovered $n/$BIG keys"
      wait_idle "$s"
    done
  done
  for s in vaylix redis; do stop_server "$s"; done
  note recovery_disk "vaylix: WAL + snapshot; redis: appendonlydir"
}

w_snapshot() {
  log "workload snapshot: 1 connection, GET/SET at 2000 ops/s, ${STALL_SECS}s, without and during BGSAVE ($BIG keys, everysec)"
  local f s r out
  f=$(keyfile "$BIG")
  for s in vaylix redis; do
    start_server "$s" everysec "$TMP/snapshot-$s"
    load_pipe "$s" "$f" "$BIG"
    wait_idle "$s"
  done
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do stall_rows "$s" stall --keys "$BIG"; done
  done
  for s in vaylix redis; do stop_server "$s"; done
}

# stall_rows SIDE PREFIX DRIVER_ARGS...: the steady single client (driver.py stall at 2000 ops/s)
# without and then during a BGSAVE; records PREFIX_base_p99/_max and PREFIX_bgsave_p99/_max
stall_rows() {
  local s=$1 m=$2 out
  shift 2
  out=$(timeout 300 python3 "$DRIVER" stall --port "${PORT[$s]}" --rate 2000 --seconds "$STALL_SECS" "$@") ||
    die "$s: stall client failed"
  log "  $s baseline: p50_ms p99_ms max_ms ops = $out"
  if [ "${out%% *}" = n/a ]; then
    rec "${m}_base_p99" "$s" n/a; rec "${m}_base_max" "$s" n/a
    note "${m}_base_p99" "$s: ${out#n/a }"
  else
    rec "${m}_base_p99" "$s" "$(echo "$out" | cut -d' ' -f2)"
    rec "${m}_base_max" "$s" "$(echo "$out" | cut -d' ' -f3)"
  fi
  out=$(timeout 600 python3 "$DRIVER" stall --port "${PORT[$s]}" --rate 2000 --seconds "$STALL_SECS" --bgsave "$@") ||
    die "$s: stall client failed"
  log "  $s during BGSAVE: p50_ms p99_ms max_ms ops bgsave_s = $out"
  if [ "${out%% *}" = n/a ]; then
    rec "${m}_bgsave_p99" "$s" n/a; rec "${m}_bgsave_max" "$s" n/a
    note "${m}_bgsave_p99" "$s: ${out#n/a }"
  else
    rec "${m}_bgsave_p99" "$s" "$(echo "$out" | cut -d' ' -f2)"
    rec "${m}_bgsave_max" "$s" "$(echo "$out" | cut -d' ' -f3)"
    note "${m}_bgsave_max" "$s BGSAVE took ~$(echo "$out" | cut -d' ' -f5)s"
  fi
  wait_idle "$s"
}

# --- issue 12: hashes and sets ---------------------------------------------------------------------
# typesfile CASE -> path of the RESP file for one collection case (generated once):
#   hash10  100k hashes "hash:%08d" of fields f0..f9 with 8-16 B values (small encoding)
#   set10   100k sets "set:%08d" of 10 members "member:N" (small encoding)
#   bighash one hash "bighash" of BIG fields; bigset one set "bigset" of BIG members
# HSET/SADD carry up to 1,000 elements per command (driver.py gentypes).
typesfile() {
  local f="$TMP/types-$1.resp"
  if [ ! -s "$f" ]; then
    case "$1" in
      hash10) python3 "$DRIVER" gentypes --kind hash --keys "$TYPES_SMALL_KEYS" --elems "$TYPES_SMALL_ELEMS" --out "$f" ;;
      set10) python3 "$DRIVER" gentypes --kind set --keys "$TYPES_SMALL_KEYS" --elems "$TYPES_SMALL_ELEMS" --out "$f" ;;
      bighash) python3 "$DRIVER" gentypes --kind hash --keys 1 --key bighash --elems "$BIG" --out "$f" ;;
      bigset) python3 "$DRIVER" gentypes --kind set --keys 1 --key bigset --elems "$BIG" --out "$f" ;;
      *) die "typesfile: unknown case $1" ;;
    esac
  fi
  echo "$f"
}

# expect_len SIDE WANT COMMAND KEY: dies unless COMMAND KEY (HLEN, SCARD) answers WANT
expect_len() {
  local side=$1 want=$2 got
  shift 2
  got=$(rcli "$side" "$@" 2>&1 | tr -d '\r') || true
  [ "$got" = "$want" ] || die "$side: $* answered '$got', expected $want (does $side implement it?)"
}

# load_types SIDE CASE: loads one case with redis-cli --pipe and checks its size
load_types() {
  local side=$1 c=$2
  case "$c" in
    hash10)
      load_pipe "$side" "$(typesfile hash10)" "$TYPES_SMALL_KEYS"
      expect_len "$side" "$TYPES_SMALL_ELEMS" HLEN hash:00000000
      expect_len "$side" "$TYPES_SMALL_ELEMS" HLEN "$(printf 'hash:%08d' $((TYPES_SMALL_KEYS - 1)))" ;;
    set10)
      load_pipe "$side" "$(typesfile set10)" "$TYPES_SMALL_KEYS"
      expect_len "$side" "$TYPES_SMALL_ELEMS" SCARD set:00000000
      expect_len "$side" "$TYPES_SMALL_ELEMS" SCARD "$(printf 'set:%08d' $((TYPES_SMALL_KEYS - 1)))" ;;
    bighash) load_pipe "$side" "$(typesfile bighash)" 1; expect_len "$side" "$BIG" HLEN bighash ;;
    bigset) load_pipe "$side" "$(typesfile bigset)" 1; expect_len "$side" "$BIG" SCARD bigset ;;
  esac
}

# encoding_of SIDE KEY: OBJECT ENCODING, or "?" when the server has no answer
encoding_of() { rcli "$1" OBJECT ENCODING "$2" 2>/dev/null | tr -d '\r' | head -n 1 || echo '?'; }

w_types() {
  log "workload types: HSET/SADD (redis-benchmark -t hset / -t sadd) at -P 1 ($N_P1 req) and -P 16 ($N_P16 req), HGETALL h100 (100 fields x 64 B) at -P 1 ($N_P1 req), appendfsync always, $REPS rep(s)"
  local r s t v args=() i
  start_server vaylix always "$TMP/types-vaylix"
  start_server redis always "$TMP/types-redis"
  v=$(printf 'v%.0s' $(seq 64))
  for i in $(seq 0 99); do args+=("f$i" "$v"); done
  for s in vaylix redis; do
    rcli "$s" HSET h100 "${args[@]}" >/dev/null 2>&1 || true
    expect_len "$s" 100 HLEN h100
  done
  for r in $(seq "$REPS"); do
    for t in hset sadd; do
      for s in $(order "$r"); do bench "$s" "types_${t}_p1" "$t" "$N_P1" 1; done
      for s in $(order "$((r + 1))"); do bench "$s" "types_${t}_p16" "$t" "$N_P16" 16; done
    done
    for s in $(order "$r"); do bench "$s" types_hgetall_p1 hgetall "$N_P1" 1 HGETALL h100; done
  done
  for s in vaylix redis; do
    # redis-benchmark's hset/sadd tests write fields/members element:0..99999 of myhash / myset
    note types_hset_p1_rps "$s: myhash has $(rcli "$s" HLEN myhash) fields ($(encoding_of "$s" myhash))"
    note types_sadd_p1_rps "$s: myset has $(rcli "$s" SCARD myset) members ($(encoding_of "$s" myset))"
    note types_hgetall_p1_rps "$s: h100 is $(encoding_of "$s" h100)"
    note types_hset_p1_rps "$s data dir after: $(du -sh --exclude=server.log "${DIR[$s]}" | cut -f1)"
    stop_server "$s"
  done
}

w_typesmem() {
  log "workload typesmem: 100k hashes x 10 fields, 100k sets x 10 members, 1 hash x $BIG fields, 1 set x $BIG members, each on an empty server, via redis-cli --pipe (everysec)"
  local c s n u0 r0 u1 r1 key
  for c in hash10 set10 bighash bigset; do
    case "$c" in
      hash10|set10) n=$((TYPES_SMALL_KEYS * TYPES_SMALL_ELEMS)); key=${c%10}:00000000 ;;
      *) n=$BIG; key=$c ;;
    esac
    for s in vaylix redis; do
      start_server "$s" everysec "$TMP/typesmem-$c-$s"
      u0=$(info_field "$s" memory used_memory); r0=$(rss_bytes "${PID[$s]}")
      load_types "$s" "$c"
      wait_idle "$s"
      sleep 1
      u1=$(info_field "$s" memory used_memory); r1=$(rss_bytes "${PID[$s]}")
      if [ "$u1" = "$(info_field "$s" memory used_memory_rss)" ]; then
        note "typesmem_${c}_used" "$s used_memory equals its RSS (no allocator accounting)"
      fi
      note "typesmem_${c}_used" "$s: $key is $(encoding_of "$s" "$key")"
      log "  $s $c: used_memory $u0 -> $u1, RSS $r0 -> $r1 ($n elements)"
      rec "typesmem_${c}_used" "$s" "$(awk -v a="$u0" -v b="$u1" -v n="$n" 'BEGIN{printf "%.2f", (b - a) / n}')"
      rec "typesmem_${c}_rss" "$s" "$(awk -v a="$r0" -v b="$r1" -v n="$n" 'BEGIN{printf "%.2f", (b - a) / n}')"
      stop_server "$s"
    done
    note "typesmem_${c}_used" "(after load - empty server) / $n elements, key overhead included"
  done
}

w_typesnap() {
  log "workload typesnap: 1 connection, HGET/HSET on the fields of one $BIG-field hash at 2000 ops/s, ${STALL_SECS}s, without and during BGSAVE (everysec)"
  local s r
  for s in vaylix redis; do
    start_server "$s" everysec "$TMP/typesnap-$s"
    load_types "$s" bighash
    wait_idle "$s"
  done
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do stall_rows "$s" typesnap --keys "$BIG" --hash bighash; done
  done
  for s in vaylix redis; do stop_server "$s"; done
}

# --- issue 13: sorted sets ----------------------------------------------------------------------
# zsetfile CASE -> path of the RESP file for one sorted-set case (generated once):
#   zset10   100k zsets "zset:%08d" of 10 members (listpack in Redis: < 128 entries, < 64 B)
#   bigzset  one zset "bigzset" of BIG members (skiplist in Redis)
#   fillN    one zset "myzset" of N members: tops up redis-benchmark's ZPOPMIN key
# Members are "m:%012d", scores quarter steps in random order (driver.py zset_score), up to
# 1,000 pairs per ZADD.
zsetfile() {
  local f="$TMP/zset-$1.resp"
  if [ ! -s "$f" ]; then
    case "$1" in
      zset10) python3 "$DRIVER" gentypes --kind zset --keys "$TYPES_SMALL_KEYS" --elems "$TYPES_SMALL_ELEMS" --out "$f" ;;
      bigzset) python3 "$DRIVER" gentypes --kind zset --keys 1 --key bigzset --elems "$BIG" --out "$f" ;;
      fill[0-9]*) python3 "$DRIVER" gentypes --kind zset --keys 1 --key myzset --elems "${1#fill}" --out "$f" ;;
      *) die "zsetfile: unknown case $1" ;;
    esac
  fi
  echo "$f"
}

# load_zsets SIDE CASE: loads zset10 or bigzset with redis-cli --pipe and checks ZCARD
load_zsets() {
  local side=$1 c=$2
  case "$c" in
    zset10)
      load_pipe "$side" "$(zsetfile zset10)" "$TYPES_SMALL_KEYS"
      expect_len "$side" "$TYPES_SMALL_ELEMS" ZCARD zset:00000000
      expect_len "$side" "$TYPES_SMALL_ELEMS" ZCARD "$(printf 'zset:%08d' $((TYPES_SMALL_KEYS - 1)))" ;;
    bigzset) load_pipe "$side" "$(zsetfile bigzset)" 1; expect_len "$side" "$BIG" ZCARD bigzset ;;
    *) die "load_zsets: unknown case $c" ;;
  esac
}

w_zsetmem() {
  log "workload zsetmem: 100k zsets x 10 members, 1 zset x $BIG members, each on an empty server, via redis-cli --pipe (everysec, as typesmem)"
  local c s n u0 r0 u1 r1 key
  for c in zset10 bigzset; do
    case "$c" in
      zset10) n=$((TYPES_SMALL_KEYS * TYPES_SMALL_ELEMS)); key=zset:00000000 ;;
      *) n=$BIG; key=$c ;;
    esac
    for s in vaylix redis; do
      start_server "$s" everysec "$TMP/zsetmem-$c-$s"
      u0=$(info_field "$s" memory used_memory); r0=$(rss_bytes "${PID[$s]}")
      load_zsets "$s" "$c"
      wait_idle "$s"
      sleep 1
      u1=$(info_field "$s" memory used_memory); r1=$(rss_bytes "${PID[$s]}")
      if [ "$u1" = "$(info_field "$s" memory used_memory_rss)" ]; then
        note "zsetmem_${c}_used" "$s used_memory equals its RSS (no allocator accounting)"
      fi
      note "zsetmem_${c}_used" "$s: $key is $(encoding_of "$s" "$key")"
      log "  $s $c: used_memory $u0 -> $u1, RSS $r0 -> $r1 ($n members)"
      rec "zsetmem_${c}_used" "$s" "$(awk -v a="$u0" -v b="$u1" -v n="$n" 'BEGIN{printf "%.2f", (b - a) / n}')"
      rec "zsetmem_${c}_rss" "$s" "$(awk -v a="$r0" -v b="$r1" -v n="$n" 'BEGIN{printf "%.2f", (b - a) / n}')"
      stop_server "$s"
    done
    note "zsetmem_${c}_used" "(after load - empty server) / $n members, key overhead included"
  done
}

# supports SIDE COMMAND ARG...: true unless the command answers with an error (e.g. a vaylix build
# that lacks it), so a row is n/a instead of redis-benchmark timing error replies
supports() {
  local side=$1 out
  shift
  out=$(rcli "$side" "$@" 2>&1) || return 1
  ! head -n 1 <<<"$out" | grep -Eq '^(\(error\) )?(ERR|WRONGTYPE) '
}

# na_row SIDE METRIC WHY: records an n/a throughput cell with a note
na_row() { rec "${2}_rps" "$1" n/a; note "${2}_rps" "$1: n/a, $3"; log "  $1 ${2}: n/a ($3)"; }

# zpop_bench SIDE METRIC N PIPELINE: tops myzset up to >= N members (fillN), runs N ZPOPMINs
# and checks that each one took a member (ZCARD dropped by exactly N), so no pop hit an empty key
zpop_bench() {
  local s=$1 m=$2 n=$3 pl=$4 c0 c1
  if ! supports "$s" ZPOPMIN zpop:probe; then na_row "$s" "$m" "ZPOPMIN answers an error"; return 0; fi
  load_pipe "$s" "$(zsetfile "fill$n")" 1
  c0=$(rcli "$s" ZCARD myzset | tr -d '\r')
  [ "$c0" -ge "$n" ] 2>/dev/null || die "$s: myzset has '$c0' members after the fill, need $n"
  bench "$s" "$m" zpopmin "$n" "$pl"
  c1=$(rcli "$s" ZCARD myzset | tr -d '\r')
  [ "$((c0 - c1))" = "$n" ] || die "$s: $n ZPOPMINs took $((c0 - c1)) members ($c0 -> $c1)"
}

# zrank_bench ARGS...: bench with -r BIG: bigzset's members are m:%012d for 0..BIG-1, the shape
# of redis-benchmark's __rand_int__ (12 digits), so every ZRANK asks for a member that exists
zrank_bench() {
  local BENCH_COMMON=(-c 50 -d 64 -r "$BIG")
  if ! supports "$1" ZRANK bigzset m:000000000000; then na_row "$1" "$2" "ZRANK answers an error"; return 0; fi
  bench "$@"
}

# zrange_bench SIDE METRIC: ZRANGE bigzset 0 99 WITHSCORES, if the side has ZRANGE
zrange_bench() {
  if ! supports "$1" ZRANGE bigzset 0 99 WITHSCORES; then na_row "$1" "$2" "ZRANGE answers an error"; return 0; fi
  bench "$1" "$2" zrange "$N_P1" 1 ZRANGE bigzset 0 99 WITHSCORES
}

w_zsets() {
  log "workload zsets: ZADD/ZPOPMIN (redis-benchmark -t zadd / -t zpopmin) at -P 1 ($N_P1 req) and -P 16 ($N_P16 req), ZRANGE 0 99 WITHSCORES and ZRANK on a $BIG-member zset at -P 1 ($N_P1 req), appendfsync always, $REPS rep(s)"
  local r s
  start_server vaylix always "$TMP/zsets-vaylix"
  start_server redis always "$TMP/zsets-redis"
  for s in vaylix redis; do load_zsets "$s" bigzset; wait_idle "$s"; done
  # the same data on both sides, so the timed ZRANGE reply should be byte-identical
  if [ "$(rcli vaylix ZRANGE bigzset 0 99 WITHSCORES 2>&1 | md5sum)" = "$(rcli redis ZRANGE bigzset 0 99 WITHSCORES 2>&1 | md5sum)" ]; then
    note zsets_zrange_p1_rps "both replies to ZRANGE bigzset 0 99 WITHSCORES are identical"
  else
    note zsets_zrange_p1_rps "the replies to ZRANGE bigzset 0 99 WITHSCORES DIFFER between the servers"
    log "  warning: ZRANGE bigzset 0 99 WITHSCORES differs between vaylix and redis"
  fi
  for r in $(seq "$REPS"); do
    # redis-benchmark's zadd: ZADD myzset <rand> element:<rand> (scores and members from -r)
    for s in $(order "$r"); do bench "$s" zsets_zadd_p1 zadd "$N_P1" 1; done
    for s in $(order "$((r + 1))"); do bench "$s" zsets_zadd_p16 zadd "$N_P16" 16; done
    # its zpopmin: ZPOPMIN myzset, on myzset topped up first so that every pop takes a member
    for s in $(order "$r"); do zpop_bench "$s" zsets_zpopmin_p1 "$N_P1" 1; done
    for s in $(order "$((r + 1))"); do zpop_bench "$s" zsets_zpopmin_p16 "$N_P16" 16; done
    for s in $(order "$r"); do zrange_bench "$s" zsets_zrange_p1; done
    for s in $(order "$((r + 1))"); do zrank_bench "$s" zsets_zrank_p1 zrank "$N_P1" 1 ZRANK bigzset 'm:__rand_int__'; done
  done
  for s in vaylix redis; do
    note zsets_zadd_p1_rps "$s: myzset ($(encoding_of "$s" myzset)) has $(rcli "$s" ZCARD myzset) members after the run"
    note zsets_zrange_p1_rps "$s: bigzset is $(encoding_of "$s" bigzset), $(rcli "$s" ZCARD bigzset) members"
    note zsets_zrank_p1_rps "$s: ZRANK bigzset m:000000000000 = $(rcli "$s" ZRANK bigzset m:000000000000 | tr -d '\r')"
    note zsets_zadd_p1_rps "$s data dir after: $(du -sh --exclude=server.log "${DIR[$s]}" | cut -f1)"
    stop_server "$s"
  done
}

# --- issue 14: lists and blocking commands ------------------------------------------------------
# listfile CASE -> path of the RESP file for one list case (generated once):
#   list10   100k lists "list:%08d" of 10 elements (one RPUSH each)
#   biglist  one list "biglist" of BIG elements (1,000 RPUSHes of 1,000)
# Elements are driver.py type_value(g): 8-16 B strings ("v" + digits, never integers).
listfile() {
  local f="$TMP/list-$1.resp"
  if [ ! -s "$f" ]; then
    case "$1" in
      list10) python3 "$DRIVER" gentypes --kind list --keys "$TYPES_SMALL_KEYS" --elems "$TYPES_SMALL_ELEMS" --out "$f" ;;
      biglist) python3 "$DRIVER" gentypes --kind list --keys 1 --key biglist --elems "$BIG" --out "$f" ;;
      *) die "listfile: unknown case $1" ;;
    esac
  fi
  echo "$f"
}

w_listmem() {
  log "workload listmem: 100k lists x 10 elements, 1 list x $BIG elements, each on an empty server, via redis-cli --pipe (everysec, as typesmem)"
  local c s n u0 r0 u1 r1 key
  for c in list10 biglist; do
    case "$c" in
      list10) n=$((TYPES_SMALL_KEYS * TYPES_SMALL_ELEMS)); key=list:00000000 ;;
      *) n=$BIG; key=$c ;;
    esac
    for s in vaylix redis; do
      start_server "$s" everysec "$TMP/listmem-$c-$s"
      u0=$(info_field "$s" memory used_memory); r0=$(rss_bytes "${PID[$s]}")
      case "$c" in
        list10)
          load_pipe "$s" "$(listfile list10)" "$TYPES_SMALL_KEYS"
          expect_len "$s" "$TYPES_SMALL_ELEMS" LLEN list:00000000
          expect_len "$s" "$TYPES_SMALL_ELEMS" LLEN "$(printf 'list:%08d' $((TYPES_SMALL_KEYS - 1)))" ;;
        biglist) load_pipe "$s" "$(listfile biglist)" 1; expect_len "$s" "$BIG" LLEN biglist ;;
      esac
      wait_idle "$s"
      sleep 1
      u1=$(info_field "$s" memory used_memory); r1=$(rss_bytes "${PID[$s]}")
      if [ "$u1" = "$(info_field "$s" memory used_memory_rss)" ]; then
        note "listmem_${c}_used" "$s used_memory equals its RSS (no allocator accounting)"
      fi
      note "listmem_${c}_used" "$s: $key is $(encoding_of "$s" "$key")"
      log "  $s $c: used_memory $u0 -> $u1, RSS $r0 -> $r1 ($n elements)"
      rec "listmem_${c}_used" "$s" "$(awk -v a="$u0" -v b="$u1" -v n="$n" 'BEGIN{printf "%.2f", (b - a) / n}')"
      rec "listmem_${c}_rss" "$s" "$(awk -v a="$r0" -v b="$r1" -v n="$n" 'BEGIN{printf "%.2f", (b - a) / n}')"
      stop_server "$s"
    done
    note "listmem_${c}_used" "(after load - empty server) / $n elements, key overhead included"
  done
}

# llen_of SIDE KEY: LLEN as a number (0 for a missing key)
llen_of() { rcli "$1" LLEN "$2" | tr -d '\r'; }

# lpop_bench SIDE METRIC TEST N PIPELINE: redis-benchmark's lpop / rpop (LPOP mylist) after
# checking that mylist holds >= N elements, then that the N pops each took one
lpop_bench() {
  local s=$1 m=$2 t=$3 n=$4 pl=$5 c0 c1
  c0=$(llen_of "$s" mylist)
  [ "$c0" -ge "$n" ] 2>/dev/null || die "$s: mylist has '$c0' elements before $n ${t^^}s"
  bench "$s" "$m" "$t" "$n" "$pl"
  c1=$(llen_of "$s" mylist)
  [ "$((c0 - c1))" = "$n" ] || die "$s: $n ${t^^}s took $((c0 - c1)) elements ($c0 -> $c1)"
}

# lrange_bench SIDE METRIC N PIPELINE: redis-benchmark -t lrange_100, which first LPUSHes N
# elements to mylist (its "LPUSH (needed to benchmark LRANGE)" row, not recorded), then times
# LRANGE mylist 0 99 (100 elements of -d 64 bytes)
lrange_bench() {
  local c
  BENCH_ROW="LRANGE_100 (first 100 elements)" bench "$1" "$2" lrange_100 "$3" "$4"
  c=$(rcli "$1" LRANGE mylist 0 99 | wc -l)
  [ "$c" = 100 ] || die "$1: LRANGE mylist 0 99 gave $c elements after the lrange_100 run"
}

w_lists() {
  log "workload lists: redis-benchmark -t lpush,rpush,lpop,rpop,lrange_100 at -P 1 ($N_P1 req) and -P 16 ($N_P16 req), appendfsync always, $REPS rep(s)"
  local r s t pl n
  start_server vaylix always "$TMP/lists-vaylix"
  start_server redis always "$TMP/lists-redis"
  for r in $(seq "$REPS"); do
    for pl in 1 16; do
      if [ "$pl" = 1 ]; then n=$N_P1; else n=$N_P16; fi
      # LPUSH mylist and RPUSH mylist add 2N elements, so the LPOP and RPOP runs that follow
      # each take an element every time (checked)
      for t in lpush rpush; do
        for s in $(order "$r"); do bench "$s" "lists_${t}_p$pl" "$t" "$n" "$pl"; done
      done
      for t in lpop rpop; do
        for s in $(order "$((r + 1))"); do lpop_bench "$s" "lists_${t}_p$pl" "$t" "$n" "$pl"; done
      done
      for s in $(order "$r"); do lrange_bench "$s" "lists_lrange_p$pl" "$n" "$pl"; done
    done
  done
  for s in vaylix redis; do
    note lists_lpush_p1_rps "$s: mylist ($(encoding_of "$s" mylist)) has $(llen_of "$s" mylist) elements after the run"
    note lists_lpush_p1_rps "$s data dir after: $(du -sh --exclude=server.log "${DIR[$s]}" | cut -f1)"
    stop_server "$s"
  done
}

# queue_run SIDE: one run of scripts/bench/queue.py (50 producers RPUSH, 50 consumers BLPOP on
# 4 keys, QUEUE_SECS seconds, then a drain that checks every acknowledged push was popped once)
queue_run() {
  local s=$1 before after out jobs pushes p50 p99 max total
  before=$(cpu_ticks "${PID[$s]}")
  out=$(timeout $((QUEUE_SECS + 120)) python3 "$QUEUE" --port "${PORT[$s]}" --producers 50 --consumers 50 \
        --keys 4 --seconds "$QUEUE_SECS" --timeout 1 2>"$TMP/queue.err") ||
    die "$s: queue.py failed: $(tail -n 3 "$TMP/queue.err")"
  after=$(cpu_ticks "${PID[$s]}")
  read -r jobs pushes p50 p99 max total _ <<<"$out"
  log "  $s queue: $jobs jobs/s ($pushes pushes/s; push->pop p50 $p50 ms, p99 $p99 ms, max $max ms; $total jobs, each popped once)"
  rec queue_jobs_rps "$s" "$jobs"
  rec queue_p50 "$s" "$p50"; rec queue_p99 "$s" "$p99"; rec queue_max "$s" "$max"
  rec queue_cpu "$s" "$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$total" 'BEGIN{printf "%.3f", t / hz / n * 1e6}')"
}

w_queue() {
  log "workload queue: 50 producers RPUSH + 50 consumers BLPOP (timeout 1) on 4 keys, -P 1 each, ${QUEUE_SECS}s, appendfsync always, $REPS rep(s)"
  local r s
  start_server vaylix always "$TMP/queue-vaylix"
  start_server redis always "$TMP/queue-redis"
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do queue_run "$s"; done
  done
  note queue_jobs_rps "jobs popped per second within the window; the drain after it checked every acknowledged push popped exactly once"
  note queue_cpu "server CPU over the run and the drain / jobs"
  for s in vaylix redis; do stop_server "$s"; done
}

# --- issue 15: pub/sub ---------------------------------------------------------------------------
# pubsub_run SIDE: one run of scripts/bench/pubsub.py: 50 RESP2 subscribers on one channel, one
# publisher PUBLISHing 100-byte messages 16 per round trip for PUBSUB_SECS (then a drain that checks
# every subscriber got every message once, in order); then, on the same subscribers, an open-loop
# phase: one PUBLISH at a time at a fixed PUBSUB_FIX_RATE per second for PUBSUB_FIX_SECS, each sent
# at its scheduled time without waiting for replies (same checks, and the achieved rate must be
# >= 95% of the offered one); then PUBLISH with nobody listening for PUBSUB_PAT_SECS without and
# with 1000 unrelated patterns (PSUBSCRIBE unrelated:<i>:*)
PUBSUB_FIX_LATE=()   # "SIDE p99/max" publisher lateness (ms) of each fixed-rate run, for the note
pubsub_run() {
  local s=$1 out msgs pubs p50 p99 max total nopat pat cpu cnopat cpat
  local foffer frate fp50 fp99 fmax ftotal flate99 flatemax fcpu
  out=$(timeout $((PUBSUB_SECS + 2 * PUBSUB_FIX_SECS + 2 * PUBSUB_PAT_SECS + 300)) python3 "$PUBSUB" \
        --port "${PORT[$s]}" --subscribers 50 --seconds "$PUBSUB_SECS" --batch 16 --size 100 \
        --fixed-rate "$PUBSUB_FIX_RATE" --fixed-seconds "$PUBSUB_FIX_SECS" --patterns 1000 \
        --pattern-seconds "$PUBSUB_PAT_SECS" --server-pid "${PID[$s]}" 2>"$TMP/pubsub.err") ||
    die "$s: pubsub.py failed: $(tail -n 3 "$TMP/pubsub.err")"
  read -r msgs pubs p50 p99 max total nopat pat cpu cnopat cpat \
          foffer frate fp50 fp99 fmax ftotal flate99 flatemax fcpu _ <<<"$out"
  [ -n "$fcpu" ] || die "$s: pubsub.py printed too few fields: '$out'"
  log "  $s pubsub: $msgs msgs/s delivered ($pubs publishes/s x 50; publish->receive p50 $p50 ms, p99 $p99 ms, max $max ms; $total deliveries, all complete and in order); PUBLISH alone $nopat/s, with 1000 unrelated patterns $pat/s"
  log "  $s pubsub fixed rate: offered $foffer PUBLISH/s, achieved $frate/s x 50 (publisher late vs schedule p99 $flate99 ms, max $flatemax ms); publish->receive p50 $fp50 ms, p99 $fp99 ms, max $fmax ms; $ftotal deliveries, all complete and in order"
  rec pubsub_msgs_rps "$s" "$msgs"
  rec pubsub_pub_rps "$s" "$pubs"
  rec pubsub_p50 "$s" "$p50"; rec pubsub_p99 "$s" "$p99"; rec pubsub_max "$s" "$max"
  rec pubsub_cpu "$s" "$cpu"
  rec pubsub_fix_pub_rps "$s" "$frate"
  rec pubsub_fix_p50 "$s" "$fp50"; rec pubsub_fix_p99 "$s" "$fp99"; rec pubsub_fix_max "$s" "$fmax"
  rec pubsub_fix_cpu "$s" "$fcpu"
  PUBSUB_FIX_LATE+=("$s $flate99/$flatemax")
  rec pubsub_nopat_rps "$s" "$nopat"
  rec pubsub_pat_rps "$s" "$pat"
  rec pubsub_pat_keep "$s" "$(awk -v a="$pat" -v b="$nopat" 'BEGIN{printf "%.3f", a / b}')"
  rec pubsub_nopat_cpu "$s" "$cnopat"
  rec pubsub_pat_cpu "$s" "$cpat"
}

w_pubsub() {
  log "workload pubsub: 1 publisher (PUBLISH x 16 per round trip, 100 B) -> 50 subscribers on 1 channel, ${PUBSUB_SECS}s; then the same at a fixed $PUBSUB_FIX_RATE PUBLISH/s (open loop, 1 at a time), ${PUBSUB_FIX_SECS}s; then PUBLISH without / with 1000 unrelated patterns, ${PUBSUB_PAT_SECS}s each; appendfsync always, $REPS rep(s)"
  local r s
  PUBSUB_FIX_LATE=()
  start_server vaylix always "$TMP/pubsub-vaylix"
  start_server redis always "$TMP/pubsub-redis"
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do pubsub_run "$s"; done
  done
  note pubsub_msgs_rps "deliveries within the window / seconds (client-bound: the publisher stays within 256 messages of the slowest Python subscriber); every subscriber got every message once, in order"
  note pubsub_p50 "saturated closed loop: includes queueing in the 256-message window of the slowest subscriber; the server's delivery latency is in the fixed-rate rows"
  note pubsub_cpu "server CPU over the fan-out phase and its drain / deliveries"
  note pubsub_fix_pub_rps "open-loop phase: PUBLISHes achieved of the $PUBSUB_FIX_RATE/s offered (checked >= 95% in every run)"
  note pubsub_fix_p50 "open loop at a fixed offered load: 1 PUBLISH at a time at $PUBSUB_FIX_RATE/s (x 50 subscribers = $((PUBSUB_FIX_RATE * 50)) deliveries/s) on a monotonic schedule, sent without waiting for replies, ${PUBSUB_FIX_SECS}s; latency = actual send -> subscriber recv over every delivery; every subscriber got every message once, in order"
  note pubsub_fix_p99 "publisher lateness vs its schedule, p99/max ms per run (not in the latency; the payload has the actual send time): $(IFS=,; echo "${PUBSUB_FIX_LATE[*]}" | sed 's/,/, /g')"
  note pubsub_fix_cpu "server CPU over the fixed-rate phase and its drain / deliveries (1 PUBLISH per send, so little batching, unlike pubsub_cpu)"
  note pubsub_pat_rps "PUBLISH to a channel nobody subscribes to, 16 per round trip, while 1 connection holds 1000 PSUBSCRIBE unrelated:<i>:* (none matches)"
  note pubsub_pat_keep "with-patterns / without-patterns PUBLISH rate on the same server"
  for s in vaylix redis; do stop_server "$s"; done
}

# --- issue 16: scripting -------------------------------------------------------------------------
# The same script text on both sides, so SCRIPT LOAD gives both the same SHA1.
# counter: GET KEYS[1], INCR KEYS[2], EXPIRE KEYS[2] 100, returns the new count
SCRIPT_COUNTER="local v = redis.call('GET', KEYS[1]) local n = redis.call('INCR', KEYS[2]) redis.call('EXPIRE', KEYS[2], 100) return n"
# unlock: Redlock's release, delete the lock only if it still holds our token
SCRIPT_UNLOCK="if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"

# script_load SIDE TEXT -> SHA1, checked to be the same as Redis's (computed locally)
script_load() {
  local sha want
  sha=$(rcli "$1" SCRIPT LOAD "$2" | tr -d '\r')
  want=$(printf '%s' "$2" | sha1sum | cut -d' ' -f1)
  [ "$sha" = "$want" ] || die "$1: SCRIPT LOAD gave '$sha', want $want"
  echo "$sha"
}

# count_keys SIDE PATTERN -> number of keys matching PATTERN (SCAN, so it is cheap enough)
count_keys() { rcli "$1" --scan --pattern "$2" | wc -l; }

w_scripts() {
  log "workload scripts: EVALSHA of GET+INCR+EXPIRE at -P 1 ($N_P1 req) and -P 16 ($N_P16 req); Redlock SET NX PX then EVALSHA compare-and-delete at -P 1 ($N_P1 req); appendfsync always, $REPS rep(s)"
  local r s sha_c sha_u c0 c1 held
  start_server vaylix always "$TMP/scripts-vaylix"
  start_server redis always "$TMP/scripts-redis"
  for s in vaylix redis; do
    sha_c=$(script_load "$s" "$SCRIPT_COUNTER")
    sha_u=$(script_load "$s" "$SCRIPT_UNLOCK")
    # the counter script GETs key:<n>, which exists for every n redis-benchmark -r draws
    load_pipe "$s" "$(keyfile "$N_GET_KEYS")" "$N_GET_KEYS"
    rcli "$s" SET sc:check:get x >/dev/null
    [ "$(rcli "$s" EVALSHA "$sha_c" 2 sc:check:get sc:check:ctr | tr -d '\r')" = 1 ] ||
      die "$s: the counter script did not return 1 on a fresh key"
    held=$(rcli "$s" TTL sc:check:ctr | tr -d '\r')
    [ "$held" -gt 0 ] 2>/dev/null || die "$s: the counter script left TTL '$held'"
  done
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do
      bench "$s" scripts_counter_p1 evalsha "$N_P1" 1 EVALSHA "$sha_c" 2 'key:__rand_int__' 'sc:ctr:__rand_int__'
    done
    for s in $(order "$((r + 1))"); do
      bench "$s" scripts_counter_p16 evalsha "$N_P16" 16 EVALSHA "$sha_c" 2 'key:__rand_int__' 'sc:ctr:__rand_int__'
    done
    # Redlock: acquire each lock:<n> with a token and a 60 s lease, then release with the script.
    # Both runs draw the same -r range; the check after the release is that the script took the
    # locks it was given (the lock keys left are only those the release run never drew).
    for s in $(order "$r"); do
      bench "$s" scripts_lock_p1 set_nx_px "$N_P1" 1 SET 'lock:__rand_int__' tok NX PX 60000
      c0=$(count_keys "$s" 'lock:*')
      bench "$s" scripts_unlock_p1 evalsha "$N_P1" 1 EVALSHA "$sha_u" 1 'lock:__rand_int__' tok
      c1=$(count_keys "$s" 'lock:*')
      [ "$c1" -lt "$c0" ] || die "$s: the unlock script deleted no lock ($c0 -> $c1 lock keys)"
      note scripts_unlock_p1_rps "$s rep $r: $c0 locks held after the SET NX PX run, $c1 after the unlock run"
      rcli "$s" EVAL "for _, k in ipairs(redis.call('KEYS', 'lock:*')) do redis.call('DEL', k) end return 1" 0 >/dev/null
    done
  done
  for s in vaylix redis; do
    note scripts_counter_p1_rps "$s: $(count_keys "$s" 'sc:ctr:*') counter keys after the runs, TTL of one: $(rcli "$s" TTL "$(rcli "$s" --scan --pattern 'sc:ctr:*' | head -n 1)" | tr -d '\r') s"
    note scripts_counter_p1_rps "$s data dir after: $(du -sh --exclude=server.log "${DIR[$s]}" | cut -f1)"
    stop_server "$s"
  done
}

# --- issue 17: maxmemory -------------------------------------------------------------------------
# A cache: maxmemory CACHE_MB with allkeys-lru, CACHE_KEYS keys of 1000 bytes (about 3x the limit),
# first filled (SETs over the whole range, so both servers start full and evicting), then GETs and
# SETs at 10:1 over the same uniform range from two concurrent redis-benchmark runs (40 GET
# clients, 4 SET clients, -P 1). Hit rate = keyspace_hits / (hits + misses) of the GET phase.
CACHE_MB=32
CACHE_KEYS=90000
w_cache() {
  log "workload cache: allkeys-lru, maxmemory ${CACHE_MB}mb, $CACHE_KEYS keys x 1000 B (~3x), GET:SET 10:1 ($CACHE_GETS GETs), appendfsync always, $REPS rep(s)"
  local r s h0 m0 h1 m1 t0 t1 c0 c1 ev gpid sets
  sets=$((CACHE_GETS / 10))
  start_server vaylix always "$TMP/cache-vaylix"
  start_server redis always "$TMP/cache-redis"
  for s in vaylix redis; do
    rcli "$s" CONFIG SET maxmemory "${CACHE_MB}mb" >/dev/null
    rcli "$s" CONFIG SET maxmemory-policy allkeys-lru >/dev/null
    timeout 600 redis-benchmark -p "${PORT[$s]}" -c 50 -P 16 -d 1000 -r "$CACHE_KEYS" \
      -n $((CACHE_KEYS * 2)) -t set -q >/dev/null 2>"$TMP/rb.err" ||
      die "$s: cache fill failed: $(tail -n 3 "$TMP/rb.err")"
    ev=$(info_field "$s" stats evicted_keys)
    [ "$ev" -gt 0 ] || die "$s: the fill evicted nothing (evicted_keys $ev)"
  done
  for r in $(seq "$REPS"); do
    for s in $(order "$r"); do
      h0=$(info_field "$s" stats keyspace_hits); m0=$(info_field "$s" stats keyspace_misses)
      c0=$(cpu_ticks "${PID[$s]}")
      t0=$(date +%s%N)
      timeout 900 redis-benchmark -p "${PORT[$s]}" -c 4 -P 1 -d 1000 -r "$CACHE_KEYS" -n "$sets" \
        -t set -q >/dev/null 2>"$TMP/rb-set.err" &
      gpid=$!
      timeout 900 redis-benchmark -p "${PORT[$s]}" -c 40 -P 1 -r "$CACHE_KEYS" -n "$CACHE_GETS" \
        -t get -q >/dev/null 2>"$TMP/rb.err" || die "$s: cache GET run failed: $(tail -n 3 "$TMP/rb.err")"
      wait "$gpid" || die "$s: cache SET run failed: $(tail -n 3 "$TMP/rb-set.err")"
      t1=$(date +%s%N)
      c1=$(cpu_ticks "${PID[$s]}")
      h1=$(info_field "$s" stats keyspace_hits); m1=$(info_field "$s" stats keyspace_misses)
      rec cache_rps "$s" "$(awk -v n=$((CACHE_GETS + sets)) -v ns=$((t1 - t0)) 'BEGIN{printf "%.0f", n / (ns / 1e9)}')"
      rec cache_hit "$s" "$(awk -v h=$((h1 - h0)) -v m=$((m1 - m0)) 'BEGIN{printf "%.3f", (h + m) ? h / (h + m) : 0}')"
      rec cache_cpu "$s" "$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n=$((CACHE_GETS + sets)) 'BEGIN{printf "%.3f", t / hz / n * 1e6}')"
      log "  $s cache: $(( (h1 - h0) )) hits, $(( (m1 - m0) )) misses in $(( (t1 - t0) / 1000000 )) ms"
    done
  done
  for s in vaylix redis; do
    note cache_rps "$s: evicted_keys $(info_field "$s" stats evicted_keys), used_memory $(info_field "$s" memory used_memory_human), rss $(info_field "$s" memory used_memory_rss_human), $(rcli "$s" DBSIZE) keys after the runs"
    stop_server "$s"
  done
}

# --- run -------------------------------------------------------------------------------------------
T_START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_BEFORE%% *}" -v n="$(nproc)" 'BEGIN{exit !(l > n / 2)}'; then
  log "warning: load average is $LOAD_BEFORE on $(nproc) cores before the run: expect noisy numbers"
fi
for w in "${WORKLOADS[@]}"; do
  if [ -z "$ONLY" ] || [ "$ONLY" = "$w" ]; then "w_$w"; fi
done
ELAPSED=$(( $(date +%s) - T_START ))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

if [ "$DRY_REDIS" = 1 ]; then
  VAYLIX_VERSION="DRY RUN: a second redis-server"
else
  VAYLIX_VERSION=$("$VAYLIX" --version 2>/dev/null || echo unknown)
fi
REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
echo
echo "vaylix vs redis-server $REDIS_VERSION ($VAYLIX_VERSION), mode=$MODE, reps=$REPS, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(free -h | awk '/^Mem:/ {print $2}') RAM; redis-benchmark ${BENCH_COMMON[*]} runs on the same cores (it takes ~1 core)."
echo "server CPU/op = (utime+stime of the server process) / requests, independent of the client."
echo "load average before: $LOAD_BEFORE, after: $LOAD_AFTER (the benchmark itself adds ~2)"
echo "vaylix storage engine: $STORAGE_STATUS"
echo
META=(mode="$MODE" reps="$REPS" date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" nproc="$(nproc)"
      redis_version="$REDIS_VERSION" vaylix_version="$VAYLIX_VERSION" storage="$STORAGE_STATUS"
      elapsed_s="$ELAPSED" only="${ONLY:-all}" loadavg_before="$LOAD_BEFORE" loadavg_after="$LOAD_AFTER"
      dry_run_redis="$DRY_REDIS")
if [ -n "$JSON_OUT" ]; then
  python3 "$DRIVER" report --raw "$RAW" --json "$JSON_OUT" --meta "${META[@]}"
  echo; echo "JSON written to $JSON_OUT"
else
  python3 "$DRIVER" report --raw "$RAW" --meta "${META[@]}"
fi
echo "(total ${ELAPSED}s)"

#!/usr/bin/env bash
# redis-cli compatibility checks for vaylix (or a real Redis, as reference).
#
# Server under test (same as the Python suite):
#   VAYLIX_BIN=/path/to/vaylix           -> vaylix --port P --bind 127.0.0.1 --data-dir TMP
#                                            (+ $VAYLIX_EXTRA_ARGS, e.g. "--appendfsync always")
#   REDIS_SERVER_BIN=/usr/bin/redis-server, or TEST_AGAINST_REDIS=1 with redis-server on PATH
#                                         -> redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --dir TMP
# REDIS_CLI (default: redis-cli on PATH) selects the client.
# Last line: "N passed, N failed"; exit status is non-zero on any failure.
set -euo pipefail

REDIS_CLI="${REDIS_CLI:-redis-cli}"
HOST=127.0.0.1
PASSED=0
FAILED=0
SERVER_PID=""
SUMMARY_DONE=""
TMPDIR_IT="$(mktemp -d -t vaylix-cli-it.XXXXXX)"

cleanup() {
    local rc=$?
    if [[ -z "$SUMMARY_DONE" ]]; then
        # aborted early (set -e or a signal): still end with the summary line
        echo "test_cli.sh: aborted (status $rc)" >&2
        echo "$PASSED passed, $((FAILED + 1)) failed"
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMPDIR_IT"
}
trap cleanup EXIT INT TERM

die() { echo "test_cli.sh: $*" >&2; exit 1; }

command -v "$REDIS_CLI" >/dev/null 2>&1 || die "redis-cli not found (set REDIS_CLI)"

if [[ -n "${VAYLIX_BIN:-}" ]]; then
    KIND=vaylix; BIN="$VAYLIX_BIN"
elif [[ -n "${REDIS_SERVER_BIN:-}" ]]; then
    KIND=redis; BIN="$REDIS_SERVER_BIN"
elif [[ "${TEST_AGAINST_REDIS:-}" == "1" ]] && command -v redis-server >/dev/null 2>&1; then
    KIND=redis; BIN="$(command -v redis-server)"
else
    die "no server under test: set VAYLIX_BIN, REDIS_SERVER_BIN, or TEST_AGAINST_REDIS=1"
fi

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    else
        echo $(( 20000 + RANDOM % 30000 ))
    fi
}

start_server() {
    local attempt
    for attempt in 1 2 3; do
        PORT="$(free_port)"
        if [[ "$KIND" == vaylix ]]; then
            # shellcheck disable=SC2086
            "$BIN" --port "$PORT" --bind "$HOST" --data-dir "$TMPDIR_IT" ${VAYLIX_EXTRA_ARGS:-} \
                >"$TMPDIR_IT/server.log" 2>&1 </dev/null &
        else
            "$BIN" --port "$PORT" --bind "$HOST" --save '' --appendonly no --dir "$TMPDIR_IT" \
                >"$TMPDIR_IT/server.log" 2>&1 </dev/null &
        fi
        SERVER_PID=$!
        local i
        for i in $(seq 1 100); do  # ~10 s
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                break
            fi
            if [[ "$(timeout 2 "$REDIS_CLI" -h "$HOST" -p "$PORT" ping 2>/dev/null || true)" == "PONG" ]]; then
                return 0
            fi
            sleep 0.1
        done
        echo "server did not start (attempt $attempt); log:" >&2
        tail -n 20 "$TMPDIR_IT/server.log" >&2 || true
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    done
    die "could not start $KIND ($BIN)"
}

cli() { timeout 20 "$REDIS_CLI" -h "$HOST" -p "$PORT" "$@"; }

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; shift; for l in "$@"; do echo "       $l"; done; }

# check NAME EXPECTED ACTUAL
check() {
    if [[ "$3" == "$2" ]]; then pass "$1"; else fail "$1" "expected: $(printf '%q' "$2")" "got:      $(printf '%q' "$3")"; fi
}

# check_contains NAME NEEDLE HAYSTACK
check_contains() {
    if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1" "missing:  $(printf '%q' "$2")" "in:       $(printf '%q' "${3:0:400}")"; fi
}

start_server
echo "# $KIND ($BIN) on port $PORT"

# ---------------------------------------------------------------- scripted commands
check "flushall"              "OK"    "$(cli flushall)"
check "set a 1"               "OK"    "$(cli set a 1)"
check "get a"                 "1"     "$(cli get a)"
check "incr a"                "2"     "$(cli incr a)"
check "incrby a 10"           "12"    "$(cli incrby a 10)"
check "get missing (raw)"     ""      "$(cli --raw get missing)"
check "get missing (no-raw)"  "(nil)" "$(cli --no-raw get missing)"
check "incr (no-raw)"         "(integer) 13" "$(cli --no-raw incr a)"
check "set (no-raw)"          "OK"    "$(cli --no-raw set b hello)"
check "get (no-raw) quoted"   '"hello"' "$(cli --no-raw get b)"
check "append"                "11"    "$(cli append b " world")"
check "get --raw"             "hello world" "$(cli --raw get b)"
check "mset"                  "OK"    "$(cli mset k1 v1 k2 v2 k3 v3)"
check "mget --raw"            $'v1\nv2\n\nv3' "$(cli --raw mget k1 k2 nokey k3)"
check "exists counts dupes"   "3"     "$(cli exists k1 k1 k2)"
check "del"                   "2"     "$(cli del k1 k2 nokey)"
check "ttl no expiry"         "-1"    "$(cli ttl k3)"
check "ttl missing"           "-2"    "$(cli ttl nokey)"
check "set ex"                "OK"    "$(cli set t v ex 100)"
ttl="$(cli ttl t || true)"
if [[ "$ttl" =~ ^[0-9]+$ ]] && (( ttl > 90 && ttl <= 100 )); then pass "ttl after set ex ($ttl)"; else fail "ttl after set ex" "got $ttl"; fi
check "type"                  "string" "$(cli type t)"
check "echo binary-ish --raw" "a b"   "$(cli --raw echo "a b")"
check "-n selects db"         "OK"    "$(cli -n 3 set indb3 x)"
check "db3 key not in db0"    "0"     "$(cli exists indb3)"
check "db3 key in db3"        "1"     "$(cli -n 3 exists indb3)"
check "-x value from stdin"   "OK"    "$(printf 'from-stdin' | cli -x set xk)"
check "get -x value"          "from-stdin" "$(cli get xk)"
check "-r repeat"             $'1\n2\n3' "$(cli -r 3 incr repeated)"
check "-3 (RESP3) nil"        "(nil)" "$(cli -3 --no-raw get missing)"
check "-3 (RESP3) get"        "hello world" "$(cli -3 --raw get b)"
check_contains "-3 hello proto" "proto" "$(cli -3 hello 3)"

err="$(cli set onlykey 2>&1 || true)"
check "wrong arity error" "ERR wrong number of arguments for 'set' command" "$err"
err="$(cli foo a 2>&1 || true)"
check "unknown command error" "ERR unknown command 'foo', with args beginning with: 'a' " "$err"
cli set s abc >/dev/null || true
err="$(cli incr s 2>&1 || true)"
check "incr non-integer error" "ERR value is not an integer or out of range" "$err"
check "still usable after errors" "PONG" "$(cli ping)"

# ---------------------------------------------------------------- stdin
check "echo ping | redis-cli" "PONG" "$(echo ping | cli)"
check "several commands on stdin" $'OK\nv\n1' "$(printf 'set sk v\nget sk\nexists sk\n' | cli)"

# ---------------------------------------------------------------- info
info="$(cli info server)"
check_contains "info server: redis_version" "redis_version:" "$info"
check_contains "info server: tcp_port" "tcp_port:$PORT" "$info"
check_contains "info server: section header" "# Server" "$info"
info="$(cli info)"
check_contains "info: connected_clients" "connected_clients:" "$info"
check_contains "info: used_memory" "used_memory:" "$info"
check_contains "info: role" "role:master" "$info"
check_contains "info keyspace" "db0:keys=" "$(cli info keyspace)"

# ---------------------------------------------------------------- --scan
cli flushall >/dev/null || true
for i in $(seq 1 30); do printf 'SET scan:%d x\r\n' "$i"; done | cli >/dev/null || true
scanned="$( (cli --scan --pattern 'scan:1*' || true) | sort | tr '\n' ' ')"
check "--scan --pattern" "scan:1 scan:10 scan:11 scan:12 scan:13 scan:14 scan:15 scan:16 scan:17 scan:18 scan:19 " "$scanned"

# ---------------------------------------------------------------- --pipe mass insertion
cli flushall >/dev/null || true
PIPE_FILE="$TMPDIR_IT/mass.resp"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$PIPE_FILE" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    for i in range(10000):
        k, v = b"key:%d" % i, b"value:%d" % i
        f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PY
else
    for i in $(seq 0 9999); do
        k="key:$i"; v="value:$i"
        printf '*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' "${#k}" "$k" "${#v}" "$v"
    done >"$PIPE_FILE"
fi
pipe_out="$(timeout 60 "$REDIS_CLI" -h "$HOST" -p "$PORT" --pipe <"$PIPE_FILE" 2>&1 || true)"
check_contains "--pipe: errors 0, replies 10000" "errors: 0, replies: 10000" "$pipe_out"
check "--pipe: dbsize" "10000" "$(cli dbsize)"
check "--pipe: first value" "value:0" "$(cli get key:0)"
check "--pipe: last value" "value:9999" "$(cli get key:9999)"

# --pipe reports errors too
printf '*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n*1\r\n$3\r\nGET\r\n' >"$TMPDIR_IT/err.resp"
pipe_out="$(timeout 30 "$REDIS_CLI" -h "$HOST" -p "$PORT" --pipe <"$TMPDIR_IT/err.resp" 2>&1 || true)"
check_contains "--pipe: counts errors" "errors: 1, replies: 2" "$pipe_out"

# ---------------------------------------------------------------- SUBSCRIBE
# redis-cli SUBSCRIBE never returns: run it under `timeout` in the background,
# wait (bounded) until the server counts the subscriber, publish, wait for the
# output, then stop it by its PID.
subscribe_check() {   # name, expected output, publish channel, redis-cli args...
    local name="$1" expected="$2" channel="$3"; shift 3
    local out="$TMPDIR_IT/sub.$PASSED.$FAILED.out" pid i n
    timeout 10 "$REDIS_CLI" -h "$HOST" -p "$PORT" "$@" >"$out" 2>&1 </dev/null &
    pid=$!
    for i in $(seq 1 100); do   # ~5 s
        n="$(cli pubsub numsub "$channel" | sed -n 2p)"
        [[ "$n" == 1 || "$(cli pubsub numpat)" == 1 ]] && break
        sleep 0.05
    done
    cli publish "$channel" "hello world" >/dev/null
    for i in $(seq 1 100); do
        grep -q "hello world" "$out" 2>/dev/null && break
        sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    check "$name" "$expected" "$(cat "$out")"
}
subscribe_check "subscribe (raw output)" $'subscribe\nch\n1\nmessage\nch\nhello world' \
    ch subscribe ch
subscribe_check "subscribe --no-raw" \
    $'Reading messages... (press Ctrl-C to quit)\n1) "subscribe"\n2) "ch"\n3) (integer) 1\n1) "message"\n2) "ch"\n3) "hello world"' \
    ch --no-raw subscribe ch
subscribe_check "-3 psubscribe" $'psubscribe\nc*\n1\npmessage\nc*\nch\nhello world' \
    ch -3 psubscribe 'c*'
for i in $(seq 1 100); do   # the stopped subscribers' connections close (~5 s max)
    [[ "$(cli pubsub numsub ch | sed -n 2p)" == 0 && "$(cli pubsub numpat)" == 0 ]] && break
    sleep 0.05
done
check "publish with no subscriber left" "0" "$(cli publish ch x)"

# ---------------------------------------------------------------- flush + dbsize
check "flushdb" "OK" "$(cli flushdb)"
check "dbsize after flushdb" "0" "$(cli dbsize)"
check "server alive at the end" "PONG" "$(cli ping)"

SUMMARY_DONE=1
echo "$PASSED passed, $FAILED failed"
[[ "$FAILED" -eq 0 ]]

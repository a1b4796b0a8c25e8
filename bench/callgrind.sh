#!/usr/bin/env bash
# Instructions per request in the worker (valgrind's callgrind): robust to the load of other
# processes on the machine, unlike req/s, so it is the before/after measure of the per-request
# cost. One worker with one thread runs under callgrind behind the real nginx of `dev`; after a
# warm-up the counters are zeroed, N requests are sent one at a time, and the worker's total is
# divided by N. Measures verify/ (ES256 access token), health/ and refresh/ (an ES256 rotation).
# Usage: bash bench/callgrind.sh   (after `make release`; BIN=… for another build, N=2000)
#        KEEP=1 keeps the callgrind files for callgrind_annotate (the path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
N=${N:-2000}
source bench/instance.sh
bench_work callgrind
cleanup() {
    stop_dev
    [ -n "${KEEP:-}" ] && echo "callgrind files kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(free_port)
URL="http://127.0.0.1:$PORT/jwt-allauth"
# valgrind gives up on the DWARF of a --static-swift-stdlib release build ("possibly corrupted
# debuginfo"); a copy without it keeps the symbols, which is all callgrind's per-function counts
# need. The copy finds nginx/ and the templates of the checkout it was built in.
export JWT_ALLAUTH_SHARE_DIR
JWT_ALLAUTH_SHARE_DIR=$(cd "$(dirname "$BIN")" && git rev-parse --show-toplevel)
objcopy --strip-debug "$BIN" "$WORK/jwt-allauth"
BIN="$WORK/jwt-allauth"

# dev and the master run under callgrind too (idle, they cost nothing per request); nginx and the
# mail process natively. Only the worker's counters are read. Instrumentation starts off, or the
# worker would not be ready within the master's 30 s: it is switched on for the measured phases.
JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 JWT_ALLAUTH_THROTTLE_SCALE=100000 \
    JWT_ALLAUTH_SERVER_WORKERS=1 JWT_ALLAUTH_SERVER_THREADS=1 \
    valgrind --tool=callgrind --instr-atstart=no --trace-children=yes --trace-children-skip='*nginx*' \
    --trace-children-skip-by-arg='mailer' --callgrind-out-file="$WORK/callgrind.%p" \
    "$BIN" dev --dir "$WORK/instance" --port "$PORT" --algorithm ES256 --credential-rate 100000r/s >"$WORK/dev.log" 2>&1 &
DEV_PID=$!
for _ in $(seq 1 1200); do
    curl -sf "$URL/health/" >/dev/null 2>&1 && break
    sleep 0.1
done
create_user "$WORK/instance" bench@example.com 'Bench-Passw0rd!'
# Sessions for the warm-up and for the measured refreshes (a rotated token is spent); two each,
# because wrk calls the script's request() once to check it, which takes a token it never sends.
login_tokens bench@example.com 'Bench-Passw0rd!' 2 "$WORK/tokens-warm-up"
login_tokens bench@example.com 'Bench-Passw0rd!' 2 "$WORK/tokens" "$WORK/access"
ACCESS=$(cat "$WORK/access")
for _ in $(seq 1 100); do WORKER=$(pgrep -f "worker --config $WORK/instance" | head -1) && break; sleep 0.1; done

# $1 label; the rest: the request (wrk arguments). wrk -t1 -c1 sends one request at a time.
measure() {
    local label=$1; shift
    TOKENS="$WORK/tokens-warm-up" wrk -t1 -c1 -d2s "$@" >/dev/null 2>&1   # warm-up: caches, statements, first use
    callgrind_control -i on "$WORKER" >/dev/null 2>&1
    callgrind_control -z "$WORKER" >/dev/null 2>&1
    local sent bad
    read -r sent bad <<<"$(wrk -t1 -c1 -d"${SECONDS_PER_PHASE:-6}s" "$@" 2>&1 | python3 bench/wrk-summary.py requests non2xx)"
    if [ "$bad" != 0 ]; then echo "$label:   Non-2xx or 3xx responses: $bad (the count below includes them)"; fi
    callgrind_control -d "$label" "$WORKER" >/dev/null 2>&1
    local file instructions
    for _ in $(seq 1 50); do
        file=$(grep -l "$label" "$WORK/callgrind.$WORKER".* 2>/dev/null | head -1) && [ -n "$file" ] && break
        sleep 0.2
    done
    cp "$file" "$WORK/$label.callgrind"
    instructions=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$file" | head -1)
    printf '%-22s %8s requests %14s instructions %10.0f per request\n' "$label" "$sent" "$instructions" \
        "$(python3 -c "print($instructions/$sent)")"
}

echo "instructions per request in the worker (callgrind, 1 worker x 1 thread, wrk -c1): $BIN"
measure verify -H "Authorization: Bearer $ACCESS" "$URL/verify/"
measure health "$URL/health/"
TOKENS="$WORK/tokens" THREADS=1 measure refresh-es256 -s bench/refresh.lua "$URL/refresh/"

#!/usr/bin/env bash
# Where a worker's CPU goes on real hardware (callgrind's counts run on valgrind's CPU, which
# lacks SHA-NI and ADX: BoringSSL then takes its slower paths and the crypto share looks larger).
# Runs verify/ and ES256 refresh/ in turn at 64 connections against `dev` (2 workers), samples the
# workers with `perf record` (cpu-clock: this VM has no hardware counters), and prints per phase
# the requests/s, the workers' CPU time per request (from /proc, user + system: load on the machine
# moves it, so compare binaries in one run, on quiet cores) and the top symbols of the workers.
# Usage: bash bench/perf-profile.sh   (after `make release`; BIN=… for another build, SECONDS_PER_PHASE=10)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
DURATION=${SECONDS_PER_PHASE:-10}
export JWT_ALLAUTH_SHARE_DIR
JWT_ALLAUTH_SHARE_DIR=$(cd "$(dirname "$BIN")" && git rev-parse --show-toplevel)
source bench/instance.sh
bench_work perf

start_dev ES256 "$WORK/instance"
URL="http://127.0.0.1:$PORT/jwt-allauth"
create_user "$WORK/instance" bench@example.com 'Bench-Passw0rd!'
login_tokens bench@example.com 'Bench-Passw0rd!' 66 "$WORK/tokens" "$WORK/access"
ACCESS=$(cat "$WORK/access")
WORKERS=$(pgrep -f "worker --config $WORK/instance" | paste -sd, -)

# $1 label; the rest: wrk arguments.
phase() {
    local label=$1; shift
    local before after out sent
    before=$(workers_cpu_seconds)
    perf record -q -e cpu-clock -g -p "$WORKERS" -o "$WORK/$label.perf" -- sleep "$DURATION" >/dev/null 2>&1 &
    local perf_pid=$!
    out=$(wrk -t2 -c64 -d"${DURATION}s" "$@" 2>&1)
    wait "$perf_pid" || true
    after=$(workers_cpu_seconds)
    sent=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
    printf '\n== %s: %s req/s, %.1f µs of worker CPU per request (%s)\n' "$label" \
        "$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")" \
        "$(python3 -c "print(($after - $before) * 1e6 / $sent)")" "$BIN"
    if grep -q "Non-2xx" <<<"$out"; then grep "Non-2xx" <<<"$out"; fi
    perf report -i "$WORK/$label.perf" --no-children --sort sym --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -25 || true
}

phase verify -H "Authorization: Bearer $ACCESS" "$URL/verify/"
TOKENS="$WORK/tokens" THREADS=2 phase refresh-es256 -s bench/refresh.lua "$URL/refresh/"

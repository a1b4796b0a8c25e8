#!/usr/bin/env bash
# Benchmarks through real nginx on 127.0.0.1, each comparison taken in one run:
#   1. the health endpoint (a worker round trip + one SQLite read) vs nginx's own `return 200`;
#   2. refresh (rotation: HMAC check, one BEGIN IMMEDIATE transaction, one access-token signature)
#      and verify (nginx auth_request path) at 64 connections, for RS256-4096 and ES256,
#      next to `openssl speed` for the same algorithm;
#   3. the ceiling of nginx's FastCGI hop: two C responders (bench/fcgi-ceiling-*.c, compiled
#      here with gcc, a fixed 200) behind a copy of the same nginx config, in the same run as verify;
#   4. verify through auth_request with the nginx micro-cache on (verify.cache), repeated token,
#      next to `return 200` without and with the same Authorization header;
#   5. the resident memory of the master and its workers;
#   6. bench/storm.sh and bench/purge.sh, when present (their own phases).
# Every row shows wrk's mean (Avg Latency) beside p50 and p99: at saturation a p99 far above the
# mean means unfair service, some requests waiting much longer than others.
# Usage: bash bench/run.sh   (after `make release`; DURATION=10 by default)
#        BIN=/other/jwt-allauth bash bench/run.sh   measures another build (e.g. main's, for "before")
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=2
CORES=$(nproc)
source bench/instance.sh
bench_work bench

# wrk → "rps p50_ms p99_ms non2xx mean_ms [socket errors]"
run_wrk() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" 2>&1 |
        python3 bench/wrk-summary.py rps:.0f p50:.2f p99:.2f non2xx mean:.2f errors
}

rss_kb() {  # "RSS PSS" in kB, summed over the master (child of dev running serve) and its workers.
    # RSS counts the shared libraries (Swift runtime, Foundation) once per process; PSS splits
    # shared pages between the processes that map them, so its sum is what the pool really uses.
    local master rss=0 pss=0
    master=$(pgrep -P "$DEV_PID" -f " serve " | head -1)
    for pid in "$master" $(pgrep -P "$master"); do
        rss=$((rss + $(awk '/^Rss:/ {print $2}' /proc/"$pid"/smaps_rollup)))
        pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup)))
    done
    echo "$rss kB RSS, $pss kB PSS"
}

start_instance() {  # $1 algorithm; the verify micro-cache on (5 s) when the binary knows the key
    INSTANCE="$WORK/$1"
    CACHE=${VERIFY_CACHE:-5s}
    # An older binary refuses the unknown JWT_ALLAUTH_VERIFY_CACHE: measure it without the cache.
    if ! JWT_ALLAUTH_VERIFY_CACHE=$CACHE try_start_dev "$1" "$INSTANCE" --nginx-workers "$CORES"; then
        CACHE=""
        start_dev "$1" "$INSTANCE" --nginx-workers "$CORES"
    fi
    create_user "$INSTANCE" bench@example.com 'Bench-Passw0rd!'
}

# The hop ceiling: a C responder ($1: libfcgi or epoll, $2 threads) behind a copy of the
# instance's own nginx.conf (same workers, keepalive, params), on its own port. Prints run_wrk's
# line for GET verify/ with the same Authorization header.
ceiling() {
    local dir="$WORK/ceiling-$1" port socket responder_pid nginx_pid result
    mkdir -p "$dir/log" "$dir/run" "$dir/nginx-tmp"
    port=$(free_port)
    sed -e "s|$INSTANCE|$dir|g" -e "s|listen 127.0.0.1:$PORT;|listen 127.0.0.1:$port;|" "$INSTANCE/nginx.conf" >"$dir/nginx.conf"
    # The files nginx.conf includes from the instance (dev renders auth-request.conf there).
    for included in $(sed -n "s|^ *include \($dir/[^;]*\);.*|\1|p" "$dir/nginx.conf"); do
        cp "${included/#$dir/$INSTANCE}" "$included"
    done
    socket=$(sed -n 's/^ *server unix:\([^;]*\);.*/\1/p' "$dir/nginx.conf" | head -1)
    "$WORK/fcgi-ceiling-$1" "$socket" "$2" >"$dir/log/responder.log" 2>&1 &
    responder_pid=$!
    /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/log/nginx-error.log" >"$dir/log/nginx.out" 2>&1 &
    nginx_pid=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/jwt-allauth/verify/" 2>/dev/null && break
        sleep 0.05
    done
    result=$(run_wrk -H "Authorization: Bearer $ACCESS" "http://127.0.0.1:$port/jwt-allauth/verify/")
    kill -QUIT "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true
    kill -KILL "$responder_pid" 2>/dev/null || true; wait "$responder_pid" 2>/dev/null || true  # libfcgi ignores TERM
    echo "$result"
}

row() {  # label rps p50 p99 non2xx mean
    printf '%-34s %10s %9s %9s %9s %7s\n' "$1" "$2" "$6" "$3" "$4" "$5"
}
heading() { printf '%-34s %10s %9s %9s %9s %7s\n' endpoint req/s mean_ms p50_ms p99_ms non2xx; }

openssl_sign_rate() {  # $1 openssl speed algorithm → signatures/s on one core
    openssl speed -seconds 3 "$1" 2>/dev/null | awk '/^rsa 4096 bits|^ 256 bits ecdsa \(nistp256\)/ {for (i=1;i<=NF;i++) if ($i ~ /^[0-9.]+$/) v[++n]=$i; print v[n-1]; exit}'
}

printf 'machine: %s cores, %s; wrk -t%s -c%s -d%ss on 127.0.0.1\n\n' "$CORES" "$(uname -r)" "$THREADS" "$CONNECTIONS" "$DURATION"

for responder in libfcgi epoll; do
    gcc -O2 -o "$WORK/fcgi-ceiling-$responder" "bench/fcgi-ceiling-$responder.c" -lfcgi -lpthread
done

declare -A RESULT
for ALG in ${ALGS:-RS256 ES256}; do
    start_instance "$ALG"
    if [ "$ALG" = RS256 ]; then
        read -r n_rps n_p50 n_p99 n_bad n_mean _ <<<"$(run_wrk "http://127.0.0.1:$PORT/nginx-return-200")"
        read -r h_rps h_p50 h_p99 h_bad h_mean _ <<<"$(run_wrk "http://127.0.0.1:$PORT/jwt-allauth/health/")"
        RESULT[health_rss]=$(rss_kb)
        echo "== health through nginx vs nginx return 200 =="
        heading
        row "nginx return 200" "$n_rps" "$n_p50" "$n_p99" "$n_bad" "$n_mean"
        row "GET /jwt-allauth/health/" "$h_rps" "$h_p50" "$h_p99" "$h_bad" "$h_mean"
        python3 -c "print(f'ratio health / return 200: {$h_rps/$n_rps:.2f}')"
        echo "memory of master + workers after the health run: ${RESULT[health_rss]}"
        echo
    fi
    login_tokens bench@example.com 'Bench-Passw0rd!' $((CONNECTIONS + THREADS)) "$WORK/tokens" "$WORK/access"
    # The libfcgi ceiling gets as many threads as the pool has (server.workers x server.threads).
    POOL_THREADS=$(awk '/^  workers:/ {w=$2} /^  threads:/ {t=$2} END {print w*t}' "$INSTANCE/config.yaml")
    ACCESS=$(cat "$WORK/access")
    read -r r_rps r_p50 r_p99 r_bad r_mean r_err <<<"$(TOKENS="$WORK/tokens" THREADS=$THREADS run_wrk -s bench/refresh.lua "http://127.0.0.1:$PORT/jwt-allauth/refresh/")"
    # The rotations wrk left in flight (up to 64 RSA-4096 signatures, ~0.15 s) are still being
    # answered when it stops: without this pause they made verify/'s first requests wait (RS256
    # verify p99 34-56 ms against a p50 of 1 ms).
    sleep 1
    read -r v_rps v_p50 v_p99 v_bad v_mean _ <<<"$(run_wrk -H "Authorization: Bearer $ACCESS" "http://127.0.0.1:$PORT/jwt-allauth/verify/")"
    read -r cl_rps cl_p50 cl_p99 cl_bad cl_mean _ <<<"$(ceiling libfcgi "$POOL_THREADS")"
    read -r ce_rps ce_p50 ce_p99 ce_bad ce_mean _ <<<"$(ceiling epoll "$CORES")"
    if [ -n "$CACHE" ]; then
        read -r vc_rps vc_p50 vc_p99 vc_bad vc_mean _ <<<"$(run_wrk -H "Authorization: Bearer $ACCESS" "http://127.0.0.1:$PORT/verified-200")"
    else
        vc_rps=nan vc_p50=- vc_p99=- vc_bad=- vc_mean=-
    fi
    read -r n2_rps n2_p50 n2_p99 n2_bad n2_mean _ <<<"$(run_wrk "http://127.0.0.1:$PORT/nginx-return-200")"
    # The same request as the cached row's (its Authorization header: ~1 KB with RS256-4096),
    # answered by `return 200`: what receiving and parsing that request costs nginx and wrk.
    read -r nt_rps nt_p50 nt_p99 nt_bad nt_mean _ <<<"$(run_wrk -H "Authorization: Bearer $ACCESS" "http://127.0.0.1:$PORT/nginx-return-200")"
    RSS=$(rss_kb)
    if [ "$ALG" = RS256 ]; then SIGN=$(openssl_sign_rate rsa4096); else SIGN=$(openssl_sign_rate ecdsap256); fi
    echo "== $ALG: refresh and verify at $CONNECTIONS connections =="
    heading
    row "POST refresh/ (rotation)" "$r_rps" "$r_p50" "$r_p99" "$r_bad" "$r_mean"
    [ -n "${r_err:-}" ] && echo "  refresh: ${r_err//_/ }"
    row "GET verify/ (direct)" "$v_rps" "$v_p50" "$v_p99" "$v_bad" "$v_mean"
    row "hop ceiling: C libfcgi x$POOL_THREADS" "$cl_rps" "$cl_p50" "$cl_p99" "$cl_bad" "$cl_mean"
    row "hop ceiling: C epoll x$CORES" "$ce_rps" "$ce_p50" "$ce_p99" "$ce_bad" "$ce_mean"
    row "auth_request, cached ${CACHE:-(off)}" "$vc_rps" "$vc_p50" "$vc_p99" "$vc_bad" "$vc_mean"
    row "nginx return 200" "$n2_rps" "$n2_p50" "$n2_p99" "$n2_bad" "$n2_mean"
    row "nginx return 200, with the token" "$nt_rps" "$nt_p50" "$nt_p99" "$nt_bad" "$nt_mean"
    python3 - <<PY
sign = float("$SIGN"); cores = $CORES
r, r_p99, r_mean, v = float("$r_rps"), float("$r_p99"), float("$r_mean"), float("$v_rps")
ceiling = max([x for x in (float("$cl_rps"), float("$ce_rps")) if x == x] or [float("nan")])
cached, n200 = float("$vc_rps"), float("$n2_rps")
print(f"openssl speed sign/s, one core: {sign:.0f}; x {cores} cores = {sign*cores:.0f}")
print(f"ratio refresh / (sign/s x cores): {r/(sign*cores):.2f}   (target >= 0.90 for RS256)")
print(f"ratio refresh p99 / mean: {r_p99/r_mean:.1f}   (target <= 3)")
print(f"ratio refresh / verify: {r/v:.2f}   (target >= 0.50 for ES256)")
print(f"ratio verify / hop ceiling (the faster C responder): {v/ceiling:.2f}   (target >= 0.80)")
print(f"ratio verify / nginx return 200: {v/n200:.2f}")
print(f"ratio cached auth_request / nginx return 200: {cached/n200:.2f}   (target >= 0.50)")
print(f"ratio cached auth_request / nginx return 200 with the same token header: {cached/float('$nt_rps'):.2f}")
PY
    echo "memory of master + workers after refresh and verify: $RSS"
    echo
    stop_dev
done

# Phases other benchmarks add (a login storm, a purge of expired sessions), each its own script.
[ -f bench/storm.sh ] && BIN="$BIN" DURATION="$DURATION" bash bench/storm.sh
[ -f bench/purge.sh ] && BIN="$BIN" bash bench/purge.sh
exit 0

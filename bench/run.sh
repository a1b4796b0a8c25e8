#!/usr/bin/env bash
# Benchmarks through real nginx on 127.0.0.1, each comparison taken in one run:
#   1. the health endpoint (a worker round trip + one SQLite read) vs nginx's own `return 200`;
#   2. refresh (rotation: HMAC check, one BEGIN IMMEDIATE transaction, one access-token signature)
#      and verify (nginx auth_request path) at 64 connections, for RS256-4096 and ES256,
#      next to `openssl speed` for the same algorithm;
#   3. the resident memory of the master and its workers.
# Usage: bash bench/run.sh   (after `make release`; DURATION=10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=2
CORES=$(nproc)
WORK=$(mktemp -d /tmp/jwt-allauth-bench.XXXXXX)
DEV_PID=""
cleanup() { [ -n "$DEV_PID" ] && kill "$DEV_PID" 2>/dev/null && wait "$DEV_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# wrk → "rps p50_ms p99_ms non2xx"
run_wrk() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" 2>&1)
    python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, text, re.M)
    if not m: return float("nan")
    v = float(m.group(1)); return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = re.search(r"Socket errors:.*", text)
print(f"{rps:.0f} {ms('50%'):.2f} {ms('99%'):.2f} {int(non2xx.group(1)) if non2xx else 0}{' ' + errors.group(0).replace(' ', '_') if errors else ''}")
PY
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

start_instance() {  # $1 algorithm
    local dir="$WORK/$1"
    PORT=$(free_port)
    # Login speed is not measured here: cheap hashing makes the 64 set-up logins quick.
    JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 JWT_ALLAUTH_THROTTLE_SCALE=100000 \
        "$BIN" dev --dir "$dir" --port "$PORT" --algorithm "$1" --nginx-workers "$CORES" --credential-rate 100000r/s \
        >"$WORK/$1.log" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$PORT/jwt-allauth/health/" >/dev/null 2>&1 && [ "$(grep -c 'worker started' "$WORK/$1.log")" -ge 2 ] && break
        sleep 0.1
    done
    echo 'Bench-Passw0rd!' | JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 "$BIN" create-user --config "$dir/config.yaml" \
        --email bench@example.com --password-stdin >/dev/null
}

stop_instance() { kill "$DEV_PID"; wait "$DEV_PID" 2>/dev/null || true; DEV_PID=""; }

login_tokens() {  # $1 count → refresh tokens in $WORK/tokens, the last access token in $WORK/access
    : >"$WORK/tokens"
    for _ in $(seq 1 "$1"); do
        curl -s -D "$WORK/headers" -o "$WORK/body" -H 'Content-Type: application/json' \
            -d '{"email":"bench@example.com","password":"Bench-Passw0rd!"}' "http://127.0.0.1:$PORT/jwt-allauth/login/"
        sed -n 's/^[Ss]et-[Cc]ookie: refresh_token=\([^;]*\);.*/\1/p' "$WORK/headers" >>"$WORK/tokens"
    done
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access"])' "$WORK/body" >"$WORK/access"
}

openssl_sign_rate() {  # $1 openssl speed algorithm → signatures/s on one core
    openssl speed -seconds 3 "$1" 2>/dev/null | awk '/^rsa 4096 bits|^ 256 bits ecdsa \(nistp256\)/ {for (i=1;i<=NF;i++) if ($i ~ /^[0-9.]+$/) v[++n]=$i; print v[n-1]; exit}'
}

printf 'machine: %s cores, %s; wrk -t%s -c%s -d%ss on 127.0.0.1\n\n' "$CORES" "$(uname -r)" "$THREADS" "$CONNECTIONS" "$DURATION"

declare -A RESULT
for ALG in ${ALGS:-RS256 ES256}; do
    start_instance "$ALG"
    if [ "$ALG" = RS256 ]; then
        read -r n_rps n_p50 n_p99 n_bad <<<"$(run_wrk "http://127.0.0.1:$PORT/nginx-return-200")"
        read -r h_rps h_p50 h_p99 h_bad <<<"$(run_wrk "http://127.0.0.1:$PORT/jwt-allauth/health/")"
        RESULT[health_rss]=$(rss_kb)
        echo "== health through nginx vs nginx return 200 =="
        printf '%-28s %10s %9s %9s %7s\n' endpoint req/s p50_ms p99_ms non2xx
        printf '%-28s %10s %9s %9s %7s\n' "nginx return 200" "$n_rps" "$n_p50" "$n_p99" "$n_bad"
        printf '%-28s %10s %9s %9s %7s\n' "GET /jwt-allauth/health/" "$h_rps" "$h_p50" "$h_p99" "$h_bad"
        python3 -c "print(f'ratio health / return 200: {$h_rps/$n_rps:.2f}')"
        echo "memory of master + workers after the health run: ${RESULT[health_rss]}"
        echo
    fi
    login_tokens $((CONNECTIONS + THREADS))
    ACCESS=$(cat "$WORK/access")
    read -r r_rps r_p50 r_p99 r_bad <<<"$(TOKENS="$WORK/tokens" THREADS=$THREADS run_wrk -s bench/refresh.lua "http://127.0.0.1:$PORT/jwt-allauth/refresh/")"
    read -r v_rps v_p50 v_p99 v_bad <<<"$(run_wrk -H "Authorization: Bearer $ACCESS" "http://127.0.0.1:$PORT/jwt-allauth/verify/")"
    read -r n2_rps _ _ _ <<<"$(run_wrk "http://127.0.0.1:$PORT/nginx-return-200")"
    RSS=$(rss_kb)
    if [ "$ALG" = RS256 ]; then SIGN=$(openssl_sign_rate rsa4096); else SIGN=$(openssl_sign_rate ecdsap256); fi
    echo "== $ALG: refresh and verify at $CONNECTIONS connections =="
    printf '%-28s %10s %9s %9s %7s\n' endpoint req/s p50_ms p99_ms non2xx
    printf '%-28s %10s %9s %9s %7s\n' "POST refresh/ (rotation)" "$r_rps" "$r_p50" "$r_p99" "$r_bad"
    printf '%-28s %10s %9s %9s %7s\n' "GET verify/ (auth_request)" "$v_rps" "$v_p50" "$v_p99" "$v_bad"
    printf '%-28s %10s\n' "nginx return 200" "$n2_rps"
    python3 - <<PY
sign = float("$SIGN"); cores = $CORES
print(f"openssl speed sign/s, one core: {sign:.0f}; x {cores} cores = {sign*cores:.0f}")
print(f"ratio refresh / (sign/s x cores): {$r_rps/(sign*cores):.2f}   (target >= 0.90 for RS256)")
print(f"ratio verify / nginx return 200: {$v_rps/$n2_rps:.2f}   (target >= 0.50)")
PY
    echo "memory of master + workers after refresh and verify: $RSS"
    echo
    stop_instance
done

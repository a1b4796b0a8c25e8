#!/usr/bin/env bash
# Where the tail latency of refresh at saturation comes from: the same closed-loop load as run.sh
# (wrk, 64 connections, every request rotating its token), once per variant of the pairing between
# nginx's upstream keepalive and the pool's threads. Each row: req/s, mean, p50, p99, max, p99/mean,
# and from nginx's own log the share of requests whose upstream answer took > 4x the median
# ($upstream_header_time: queueing before a thread picks the request up, plus the work).
# Usage: bash bench/fairness.sh   (after `make release`; BIN=… ALG=RS256|ES256 DURATION=10
#        VARIANTS="baseline threads64 nokeepalive" to pick rows)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
ALG=${ALG:-RS256}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
WORK=$(mktemp -d /tmp/jwt-allauth-fairness.XXXXXX)
DEV_PID=""
cleanup() { [ -n "$DEV_PID" ] && kill "$DEV_PID" 2>/dev/null && wait "$DEV_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
SOURCE_SHARE=$(cd "$(dirname "$BIN")" && git rev-parse --show-toplevel)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# A share directory whose nginx templates differ from the shipped ones only by $1 (a sed script)
# and an access log of the upstream timings.
make_share() {
    local share="$WORK/share-$2"
    mkdir -p "$share"
    cp -r "$SOURCE_SHARE/config" "$SOURCE_SHARE/Templates" "$share/"
    cp -r "$SOURCE_SHARE/nginx" "$share/nginx"
    sed -i -e "$1" -e 's|access_log off;.*|log_format timing "$upstream_header_time $request_time"; access_log {{var}}/log/timing.log timing;|' \
        "$share/nginx/dev.conf.template"
    echo "$share"
}

run_variant() {  # $1 name, $2 sed script for dev.conf.template, $3 server.threads, $4 server.workers
    local share dir port out
    share=$(make_share "$2" "$1")
    dir="$WORK/$1"
    port=$(free_port)
    env JWT_ALLAUTH_SHARE_DIR="$share" ${3:+JWT_ALLAUTH_SERVER_THREADS="$3"} JWT_ALLAUTH_SERVER_WORKERS="$4" \
        JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 JWT_ALLAUTH_THROTTLE_SCALE=100000 \
        "$BIN" dev --dir "$dir" --port "$port" --algorithm "$ALG" --nginx-workers "$(nproc)" --credential-rate 100000r/s \
        >"$WORK/$1.log" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$port/jwt-allauth/health/" >/dev/null 2>&1 && [ "$(grep -c 'worker started' "$WORK/$1.log")" -ge "$4" ] && break
        sleep 0.1
    done
    echo 'Bench-Passw0rd!' | JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 "$BIN" create-user --config "$dir/config.yaml" \
        --email bench@example.com --password-stdin >/dev/null
    : >"$WORK/tokens"
    for _ in $(seq 1 $((CONNECTIONS + 2))); do
        curl -s -D "$WORK/headers" -o /dev/null -H 'Content-Type: application/json' \
            -d '{"email":"bench@example.com","password":"Bench-Passw0rd!"}' "http://127.0.0.1:$port/jwt-allauth/login/"
        sed -n 's/^[Ss]et-[Cc]ookie: refresh_token=\([^;]*\);.*/\1/p' "$WORK/headers" >>"$WORK/tokens"
    done
    : >"$dir/log/timing.log"
    out=$(TOKENS="$WORK/tokens" THREADS=2 wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/refresh.lua \
        "http://127.0.0.1:$port/jwt-allauth/refresh/" 2>&1)
    kill "$DEV_PID" 2>/dev/null || true; wait "$DEV_PID" 2>/dev/null || true; DEV_PID=""
    python3 - "$1" "$out" "$dir/log/timing.log" <<'PY'
import re, statistics, sys
name, text, log = sys.argv[1], sys.argv[2], sys.argv[3]
def ms(pattern):
    m = re.search(pattern + r"\s+([\d.]+)(us|ms|s)\b", text, re.M)
    return float("nan") if not m else float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
mean, p50, p99 = ms(r"^\s*Latency"), ms(r"^\s*50%"), ms(r"^\s*99%")
mx = re.search(r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", text, re.M)
mx = float(mx.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[mx.group(2)]
upstream = [float(line.split()[0]) for line in open(log) if line.split() and line.split()[0] not in ("-",)]
median = statistics.median(upstream) if upstream else float("nan")
slow = sum(1 for t in upstream if t > 4 * median) / max(1, len(upstream))
timeouts = re.search(r"timeout (\d+)", text)
print(f"{name:<16} {rps:8.0f} {mean:9.1f} {p50:9.1f} {p99:9.1f} {mx:9.0f} {p99/mean:8.1f} {median*1000:10.1f} {slow*100:8.2f}%"
      + (f"  wrk timeouts {timeouts.group(1)}" if timeouts and timeouts.group(1) != "0" else ""))
PY
}

echo "$ALG refresh, wrk -t2 -c$CONNECTIONS -d${DURATION}s, $(nproc) cores, $BIN"
printf '%-16s %8s %9s %9s %9s %9s %8s %10s %9s\n' variant req/s mean_ms p50_ms p99_ms max_ms p99/mean up_med_ms "slow(>4x)"
for variant in ${VARIANTS:-shipped threads-16 threads-4 threads-1 one-worker-threads-4 no-keepalive}; do
    case $variant in
        shipped) run_variant shipped '' '' 2 ;;                                    # as shipped: 2 workers x server.threads
        threads-*) run_variant "$variant" '' "${variant#threads-}" 2 ;;            # threads per worker
        one-worker-threads-*) run_variant "$variant" '' "${variant#one-worker-threads-}" 1 ;;  # one FIFO for the pool
        no-keepalive) run_variant no-keepalive 's/fastcgi_keep_conn on;//' 16 2 ;; # a connection per request
        keepalive-requests-16) run_variant keepalive-requests-16 's/keepalive_requests [0-9]*;/keepalive_requests 16;/' 16 2 ;;
    esac
done

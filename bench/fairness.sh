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
source bench/instance.sh
bench_work fairness
SOURCE_SHARE=$(cd "$(dirname "$BIN")" && git rev-parse --show-toplevel)

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
    local dir="$WORK/$1" rps mean p50 p99 max timeouts
    local -x JWT_ALLAUTH_SHARE_DIR JWT_ALLAUTH_SERVER_WORKERS=$4
    JWT_ALLAUTH_SHARE_DIR=$(make_share "$2" "$1")
    [ -z "$3" ] || local -x JWT_ALLAUTH_SERVER_THREADS=$3
    DEV_WORKERS=$4 start_dev "$ALG" "$dir" --nginx-workers "$(nproc)"
    create_user "$dir" bench@example.com 'Bench-Passw0rd!'
    login_tokens bench@example.com 'Bench-Passw0rd!' $((CONNECTIONS + 2)) "$WORK/tokens"
    : >"$dir/log/timing.log"
    read -r rps mean p50 p99 max timeouts <<<"$(TOKENS="$WORK/tokens" THREADS=2 wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" \
        --latency -s bench/refresh.lua "http://127.0.0.1:$PORT/jwt-allauth/refresh/" 2>&1 |
        python3 bench/wrk-summary.py rps mean p50 p99 max timeouts)"
    stop_dev
    python3 - "$1" "$dir/log/timing.log" "$rps" "$mean" "$p50" "$p99" "$max" "$timeouts" <<'PY'
import statistics, sys
name, log = sys.argv[1], sys.argv[2]
rps, mean, p50, p99, mx = map(float, sys.argv[3:8])
timeouts = sys.argv[8]
upstream = [float(line.split()[0]) for line in open(log) if line.split() and line.split()[0] not in ("-",)]
median = statistics.median(upstream) if upstream else float("nan")
slow = sum(1 for t in upstream if t > 4 * median) / max(1, len(upstream))
print(f"{name:<16} {rps:8.0f} {mean:9.1f} {p50:9.1f} {p99:9.1f} {mx:9.0f} {p99/mean:8.1f} {median*1000:10.1f} {slow*100:8.2f}%"
      + (f"  wrk timeouts {timeouts}" if timeouts not in ("0", "nan") else ""))
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

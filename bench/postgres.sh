#!/usr/bin/env bash
# PostgreSQL beside SQLite, in one run, through real nginx on 127.0.0.1 (the same wrk settings as
# bench/run.sh: 2 threads, 64 connections, bench/refresh.lua):
#   refresh (rotation) and verify for RS256-4096 and ES256, each on SQLite and then on PostgreSQL,
#   with req/s, p50/p99/mean and the PostgreSQL / SQLite ratio of each.
# PostgreSQL is a throwaway cluster of Debian's postgresql package started here (as the tests do:
# initdb into a temporary directory, as the `postgres` user when run as root, loopback only) with
# the server's default durability (fsync on, synchronous_commit=$SYNCHRONOUS_COMMIT); the pool
# reaches it over TCP on 127.0.0.1, one connection per worker thread.
# Usage: bash bench/postgres.sh   (after `make release`; BIN=other/jwt-allauth, DURATION=10,
#        ALGS="RS256 ES256", SYNCHRONOUS_COMMIT=on|off)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
SYNCHRONOUS_COMMIT=${SYNCHRONOUS_COMMIT:-on}
THREADS=2
CORES=$(nproc)
PGROOT=$(mktemp -d /tmp/jwt-allauth-bench-pg.XXXXXX)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

source bench/postgres-cluster.sh
source bench/instance.sh
bench_work pgbench
trap 'stop_dev; stop_postgres; rm -rf "$WORK"' EXIT

# wrk → "rps p50_ms p99_ms mean_ms non2xx"
run_wrk() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" 2>&1 |
        python3 bench/wrk-summary.py rps:.0f p50:.2f p99:.2f mean:.2f non2xx
}

start_instance() {  # $1 algorithm, $2 engine (sqlite | postgresql): a dev instance with the bench user
    unset JWT_ALLAUTH_DATABASE_URL
    if [ "$2" = postgresql ]; then
        local name="bench_${1,,}"
        psql_admin "CREATE DATABASE $name TEMPLATE template0"
        export JWT_ALLAUTH_DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/$name"
    fi
    start_dev "$1" "$WORK/$1-$2" --nginx-workers "$CORES"
    create_user "$WORK/$1-$2" bench@example.com 'Bench-Passw0rd!'
}

start_postgres
printf 'machine: %s cores, %s; wrk -t%s -c%s -d%ss on 127.0.0.1; PostgreSQL %s (synchronous_commit=%s) on 127.0.0.1\n\n' \
    "$CORES" "$(uname -r)" "$THREADS" "$CONNECTIONS" "$DURATION" "$(psql_admin 'SHOW server_version')" "$SYNCHRONOUS_COMMIT"

for ALG in ${ALGS:-RS256 ES256}; do
    declare -A R=()
    for ENGINE in sqlite postgresql; do
        start_instance "$ALG" "$ENGINE"
        login_tokens bench@example.com 'Bench-Passw0rd!' $((CONNECTIONS + THREADS)) "$WORK/tokens" "$WORK/access"
        R[refresh_$ENGINE]=$(TOKENS="$WORK/tokens" THREADS=$THREADS run_wrk -s bench/refresh.lua "http://127.0.0.1:$PORT/jwt-allauth/refresh/")
        R[verify_$ENGINE]=$(run_wrk -H "Authorization: Bearer $(cat "$WORK/access")" "http://127.0.0.1:$PORT/jwt-allauth/verify/")
        stop_dev
    done
    echo "== $ALG: refresh and verify at $CONNECTIONS connections =="
    printf '%-22s %-11s %9s %9s %9s %9s %7s\n' endpoint engine req/s p50_ms p99_ms mean_ms non2xx
    for ENDPOINT in refresh verify; do
        for ENGINE in sqlite postgresql; do
            read -r rps p50 p99 mean bad <<<"${R[${ENDPOINT}_$ENGINE]}"
            printf '%-22s %-11s %9s %9s %9s %9s %7s\n' "$ENDPOINT/" "$ENGINE" "$rps" "$p50" "$p99" "$mean" "$bad"
        done
        python3 - "${R[${ENDPOINT}_sqlite]}" "${R[${ENDPOINT}_postgresql]}" "$ENDPOINT" <<'PY'
import sys
s, p = (list(map(float, a.split())) for a in sys.argv[1:3])
print(f"ratio PostgreSQL / SQLite, {sys.argv[3]}/: req/s {p[0]/s[0]:.2f}, p50 {p[1]/s[1]:.2f}, p99 {p[2]/s[2]:.2f}, mean {p[3]/s[3]:.2f}")
PY
    done
    echo
done

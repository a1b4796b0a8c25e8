#!/usr/bin/env bash
# The refresh load of 24 clients while a worker is killed (-9), the master reloaded (HUP) and a
# worker stopped (TERM), through real nginx on 127.0.0.1; see bench/faults.py for the phases.
# Usage: bash bench/faults.sh   (after `make release`; CLIENTS=24 PHASE_SECONDS=3 ALG=RS256)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
CLIENTS=${CLIENTS:-24}
PHASE_SECONDS=${PHASE_SECONDS:-3}
ALG=${ALG:-RS256}
WORK=$(mktemp -d /tmp/jwt-allauth-faults.XXXXXX)
DEV_PID=""
cleanup() { [ -n "$DEV_PID" ] && kill "$DEV_PID" 2>/dev/null && wait "$DEV_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 JWT_ALLAUTH_THROTTLE_SCALE=100000 \
    "$BIN" dev --dir "$WORK/instance" --port "$PORT" --algorithm "$ALG" --credential-rate 100000r/s >"$WORK/dev.log" 2>&1 &
DEV_PID=$!
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/jwt-allauth/health/" >/dev/null 2>&1 && [ "$(grep -c 'worker started' "$WORK/dev.log")" -ge 2 ] && break
    sleep 0.1
done
echo 'Faults-Passw0rd!' | JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 "$BIN" create-user --config "$WORK/instance/config.yaml" \
    --email faults@example.com --password-stdin >/dev/null
: >"$WORK/tokens"
for _ in $(seq 1 "$CLIENTS"); do
    curl -s -D "$WORK/headers" -o /dev/null -H 'Content-Type: application/json' \
        -d '{"email":"faults@example.com","password":"Faults-Passw0rd!"}' "http://127.0.0.1:$PORT/jwt-allauth/login/"
    sed -n 's/^[Ss]et-[Cc]ookie: refresh_token=\([^;]*\);.*/\1/p' "$WORK/headers" >>"$WORK/tokens"
done
echo "$ALG, $(grep -m1 rotation_grace "$WORK/instance/config.yaml" | sed 's/ *#.*//;s/^ *//'), $(nproc) cores"
python3 bench/faults.py "$PORT" "$DEV_PID" "$WORK/tokens" "$CLIENTS" "$PHASE_SECONDS"

#!/usr/bin/env bash
# Side by side, in one run on this machine: refresh throughput, 5xx answers and memory of
#   - the reference, django-jwt-allauth 1.5.1 under gunicorn (its startproject defaults: RS256-4096,
#     SQLite), with gunicorn's default single worker and with 2 workers;
#   - this service (RS256-4096, 2 workers × 16 threads) behind nginx.
# The same wrk script drives both: 64 connections, every request rotates the token it was given.
# Needs PyPI (a venv under $CACHE). Usage: bash bench/reference.sh   (after `make release`)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
DURATION=${DURATION:-10}
CONNECTIONS=64
CACHE=${CACHE:-/tmp/jwt-allauth-reference}
WORK=$(mktemp -d /tmp/jwt-allauth-refbench.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
source bench/instance.sh

if [ ! -x "$CACHE/venv/bin/gunicorn" ]; then
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q django-jwt-allauth==1.5.1 gunicorn cryptography
fi
export PATH="$CACHE/venv/bin:$PATH"
mkdir -p "$WORK/ref" && (cd "$WORK/ref" && jwt-allauth startproject refsite . >/dev/null \
    && python manage.py makemigrations jwt_allauth >/dev/null && python manage.py migrate >/dev/null \
    && python manage.py shell -c "
from django.contrib.auth import get_user_model
from allauth.account.models import EmailAddress
u = get_user_model().objects.create_user(username='bench', email='bench@example.com', password='Bench-Passw0rd!')
EmailAddress.objects.create(user=u, email='bench@example.com', verified=True, primary=True)" >/dev/null)

measure() {  # $1 label, $2.. pids whose memory to sum; the server on 127.0.0.1:$PORT
    local label=$1 rss=0 pss=0 rps ok five seconds
    shift
    # One refresh token per connection, +2 for wrk's script check.
    login_tokens bench@example.com 'Bench-Passw0rd!' $((CONNECTIONS + 2)) "$WORK/tokens"
    read -r rps ok five seconds <<<"$(TOKENS="$WORK/tokens" THREADS=2 wrk -t2 -c$CONNECTIONS -d"${DURATION}s" -s bench/refresh.lua \
        "http://127.0.0.1:$PORT/jwt-allauth/refresh/" 2>&1 | python3 bench/wrk-summary.py rps status_200 status_5xx seconds)"
    for pid in "$@"; do
        rss=$((rss + $(awk '/^Rss:/ {print $2}' /proc/"$pid"/smaps_rollup)))
        pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup)))
    done
    python3 - "$label" "$rss" "$pss" "$rps" "$ok" "$five" "$seconds" <<'PY'
import sys
label, rss, pss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rps, ok, five, seconds = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], float(sys.argv[7])
print(f"{label:<44} {ok / seconds:>9.0f} {five:>6} {rss / 1024:>8.0f} {pss / 1024:>8.0f}   ({rps:.0f} req/s incl. failures)")
PY
}

# RSS sums count shared libraries once per process; PSS sums count them once in all.
printf '%-44s %9s %6s %8s %8s\n' "refreshes at $CONNECTIONS connections" "200s/s" "5xx" "RSS_MB" "PSS_MB"

PORT=$(free_port)
(cd "$WORK/ref" && exec gunicorn refsite.wsgi -b "127.0.0.1:$PORT" >"$WORK/gunicorn1.log" 2>&1) &
PIDS+=($!); sleep 3
measure "reference, gunicorn default (1 worker)" $(pgrep -f "gunicorn refsite.wsgi -b 127.0.0.1:$PORT")
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

PORT=$(free_port)
(cd "$WORK/ref" && exec gunicorn refsite.wsgi -w 2 -b "127.0.0.1:$PORT" >"$WORK/gunicorn2.log" 2>&1) &
PIDS+=($!); sleep 3
measure "reference, gunicorn -w 2" $(pgrep -f "gunicorn refsite.wsgi -w 2 -b 127.0.0.1:$PORT")
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
echo "  (\"database is locked\" in its log: $(grep -c 'database is locked' "$WORK/gunicorn2.log" || true) lines)"

PORT=$(free_port)
JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 "$BIN" dev --dir "$WORK/ours" --port "$PORT" --algorithm RS256 \
    --nginx-workers 2 --credential-rate 100000r/s >"$WORK/ours.log" 2>&1 &
DEV=$!; PIDS+=($DEV)
for _ in $(seq 1 300); do
    [ "$(grep -c 'worker started' "$WORK/ours.log" 2>/dev/null)" -ge 2 ] && break; sleep 0.1
done
create_user "$WORK/ours" bench@example.com 'Bench-Passw0rd!'
MASTER=$(pgrep -P "$DEV" -f " serve ")
measure "jwt-allauth (2 workers, behind nginx)" "$MASTER" $(pgrep -P "$MASTER")
echo
echo "Both sign with RS256-4096 keys made by their own init; the reference signs both tokens of a"
echo "rotation with RSA, this service only the access token (refresh tokens carry a server-only HMAC)."

#!/usr/bin/env bash
# migrate-store at scale: an SQLite store with SESSIONS refresh tokens (default a million, over
# SESSIONS/10 accounts) copied into a throwaway PostgreSQL cluster, with the command's own progress
# lines, the wall time and rows/s; then the same copy interrupted after INTERRUPT_AFTER seconds
# (SIGINT) and run again, which must resume (its "copied before" line) and end with equal counts.
# Usage: bash bench/migrate-store.sh   (after `make release`; BIN=other/jwt-allauth, SESSIONS=1000000,
#        INTERRUPT_AFTER=3)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BIN:-.build/release/jwt-allauth}")
SESSIONS=${SESSIONS:-1000000}
INTERRUPT_AFTER=${INTERRUPT_AFTER:-3}
WORK=$(mktemp -d /tmp/jwt-allauth-copybench.XXXXXX)
PGROOT=$(mktemp -d /tmp/jwt-allauth-bench-pg.XXXXXX)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
source bench/postgres-cluster.sh
trap 'stop_postgres; rm -rf "$WORK"' EXIT

# The schema comes from the binary itself (`migrate` on an SQLite config), the rows from python3's
# sqlite3 module in one transaction: a store as a long-running deployment leaves it.
printf 'database:\n  path: %s/store.sqlite3\n' "$WORK" >"$WORK/config.yaml"
"$BIN" migrate --config "$WORK/config.yaml" >/dev/null
python3 - "$WORK/store.sqlite3" "$SESSIONS" <<'PY'
import sqlite3, sys, os, time
path, sessions = sys.argv[1], int(sys.argv[2])
users = max(1, sessions // 10)
db = sqlite3.connect(path)
now = int(time.time())
db.executemany("INSERT INTO users (id, email, email_lower, password, date_joined) VALUES (?, ?, ?, 'pbkdf2_sha256$1$x$y', ?)",
               ((i, f"user{i}@example.com", f"user{i}@example.com", now) for i in range(1, users + 1)))
db.executemany("""INSERT INTO refresh_tokens (jti, session, user_id, enabled, created, expires, session_iat, ip, browser, os)
                  VALUES (?, ?, ?, 1, ?, ?, ?, '192.0.2.1', 'Firefox', 'Linux')""",
               ((os.urandom(16).hex(), os.urandom(16).hex(), 1 + i % users, now, now + 1209600, now) for i in range(sessions)))
db.commit()
PY
printf 'SQLite store: %s sessions of %s accounts, %s MB\n' "$SESSIONS" "$((SESSIONS / 10 > 0 ? SESSIONS / 10 : 1))" \
    "$(( $(stat -c %s "$WORK/store.sqlite3") / 1048576 ))"

start_postgres
psql_admin "CREATE DATABASE whole TEMPLATE template0"
psql_admin "CREATE DATABASE resumed TEMPLATE template0"

echo "== one run"
started=$(date +%s.%N)
"$BIN" migrate-store --from "sqlite:$WORK/store.sqlite3" --to "postgresql://postgres@127.0.0.1:$PGPORT/whole"
elapsed=$(echo "$(date +%s.%N) - $started" | bc)
printf 'wall time %.1f s: %.0f sessions/s overall\n' "$elapsed" "$(echo "$SESSIONS / $elapsed" | bc -l)"

echo "== interrupted after ${INTERRUPT_AFTER}s, then run again"
timeout -s INT "$INTERRUPT_AFTER" "$BIN" migrate-store --from "sqlite:$WORK/store.sqlite3" \
    --to "postgresql://postgres@127.0.0.1:$PGPORT/resumed" | tail -2 || true
"$BIN" migrate-store --from "sqlite:$WORK/store.sqlite3" --to "postgresql://postgres@127.0.0.1:$PGPORT/resumed" \
    >"$WORK/resumed.log"
grep -m1 'refresh_tokens.*copied before' "$WORK/resumed.log"
grep -E 'MISMATCH|^ok (users|refresh_tokens)|^done' "$WORK/resumed.log"

#!/usr/bin/env bash
# A login storm against the sessions, through real nginx on 127.0.0.1, in one run:
#   1. 4 refresh chains (RS256 rotations, bench/refresh.lua) alone;
#   2. the same with 16 clients logging in without pause (bench/login.lua), production hashing
#      (the configured PBKDF2 rounds, 1M by default) and nginx's per-address limit out of the way,
#      as a storm from many addresses would look;
#   3. the CPU seconds one login takes on a quiet pool (one hash on one core, plus a signature).
# Prints refresh req/s, p50/p99/mean alone and under the storm and their ratios (targets: rate
# >= 0.45 of alone, p99 <= 3x alone), and logins/s against what the hashing share allows
# (accounts.hashing_concurrency / seconds per hash; target >= 0.9).
# Usage: bash bench/storm.sh   (after `make release`; DURATION=10, BIN= another binary to compare,
#        e.g. BIN=/work/main/.build/release/jwt-allauth for the code before the hashing budget;
#        SHARE=N sets accounts.hashing_concurrency, default the service's own: max(1, cores/2))
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
DURATION=${DURATION:-10}
CHAINS=4
STORM=16
CORES=$(nproc)
source bench/instance.sh
bench_work storm
STORM_PID=""
cleanup() {
    [ -n "$STORM_PID" ] && kill "$STORM_PID" 2>/dev/null
    stop_dev
    rm -rf "$WORK"
}
trap cleanup EXIT
export EMAIL=storm@example.com PASSWORD='Storm-Passw0rd!'

# A binary without the hashing budget refuses the key (unknown keys stop the service): set it only
# when asked, and say which kind of binary this is.
if grep -q hashing_concurrency "$BIN"; then BUDGET=yes; else BUDGET="no (all hashes at once)"; fi
SHARE_ASKED=${SHARE:-}
SHARE=${SHARE:-$(( CORES / 2 > 1 ? CORES / 2 : 1 ))}

# wrk output → "rps p50_ms p99_ms mean_ms count_200 count_503 count_other socket_errors"; the
# status counts are those bench/refresh.lua and bench/login.lua print.
wrk_summary() {
    python3 bench/wrk-summary.py rps:.1f p50:.1f p99:.1f mean:.1f status_200 status_503 status_other socket_errors
}

refresh_run() {  # $1 tokens file: 4 chains for DURATION → wrk_summary line
    TOKENS="$1" THREADS=2 wrk -t2 -c"$CHAINS" -d"${DURATION}s" --latency --timeout 10s \
        -s bench/refresh.lua "http://127.0.0.1:$PORT/jwt-allauth/refresh/" 2>&1 | wrk_summary
}

# Production hashing: the instance's configured rounds, for the bench user too. The login limits
# (nginx's per address and the service's failed-login counts) are lifted, as start_dev does: a
# storm from many addresses meets neither.
PRODUCTION_HASHING=yes
if [ -n "$SHARE_ASKED" ]; then
    JWT_ALLAUTH_ACCOUNTS_HASHING_CONCURRENCY=$SHARE start_dev RS256 "$WORK/instance" --nginx-workers "$CORES"
else
    start_dev RS256 "$WORK/instance" --nginx-workers "$CORES"
fi
ITERATIONS=$(sed -n 's/^ *password_iterations: *\([0-9]*\).*/\1/p' "$WORK/instance/config.yaml")
create_user "$WORK/instance" "$EMAIL" "$PASSWORD"

# Five logins one at a time on the quiet pool: the workers' CPU seconds per login are one hash on
# one core (+ ~5 ms of RS256 signature and a small write, outside the hashing slot). CPU time, not
# wall time: other load on the machine does not inflate it. The best wall time is shown beside it.
CPU_BEFORE=$(workers_cpu_seconds)
WALL_S=$(for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
        -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$PORT/jwt-allauth/login/"
done | sort -n | head -1)
HASH_S=$(python3 -c "print(f'{($(workers_cpu_seconds) - $CPU_BEFORE) / 5:.3f}')")

login_tokens "$EMAIL" "$PASSWORD" $((CHAINS + 2)) "$WORK/tokens"  # wrk's script check takes one token per thread
read -r a_rps a_p50 a_p99 a_mean _ a_busy a_other a_errors <<<"$(refresh_run "$WORK/tokens")"

login_tokens "$EMAIL" "$PASSWORD" $((CHAINS + 2)) "$WORK/storm-tokens"
STORM_SECONDS=$((DURATION + 4))
wrk -t2 -c"$STORM" -d"${STORM_SECONDS}s" --timeout 10s -s bench/login.lua "http://127.0.0.1:$PORT/jwt-allauth/login/" >"$WORK/storm.out" 2>&1 &
STORM_PID=$!
sleep 2  # the storm's queue fills
STORM_CPU_BEFORE=$(workers_cpu_seconds); STORM_CPU_STARTED=$(date +%s.%N)
read -r s_rps s_p50 s_p99 s_mean _ s_busy s_other s_errors <<<"$(refresh_run "$WORK/storm-tokens")"
WORKER_CORES=$(python3 -c "print(f'{($(workers_cpu_seconds) - $STORM_CPU_BEFORE) / ($(date +%s.%N) - $STORM_CPU_STARTED):.2f}')")
wait "$STORM_PID"; STORM_PID=""
read -r _ _ _ l_mean l_ok l_busy l_other l_errors <<<"$(wrk_summary <"$WORK/storm.out")"

printf 'machine: %s cores, %s; binary %s (hashing budget: %s)\n' "$CORES" "$(uname -r)" "$BIN" "$BUDGET"
printf 'PBKDF2 rounds %s; one login alone: %.3f CPU s in the workers, best wall time %.3f s; hashing share %s;\n' \
    "$ITERATIONS" "$HASH_S" "$WALL_S" "$SHARE"
printf '%s refresh chains (RS256), %s storm clients\n\n' "$CHAINS" "$STORM"
printf '%-26s %9s %8s %8s %8s %6s\n' "POST refresh/" req/s p50_ms p99_ms mean_ms non200
printf '%-26s %9s %8s %8s %8s %6s\n' "alone" "$a_rps" "$a_p50" "$a_p99" "$a_mean" "$((a_busy + a_other + a_errors))"
printf '%-26s %9s %8s %8s %8s %6s\n' "during the login storm" "$s_rps" "$s_p50" "$s_p99" "$s_mean" "$((s_busy + s_other + s_errors))"
python3 - <<PY
alone, storm = $a_rps, $s_rps
p99_alone, p99_storm = $a_p99, $s_p99
ok, busy, bad, seconds = $l_ok, $l_busy, $((l_other + l_errors)), $STORM_SECONDS
share, hash_s = $SHARE, $HASH_S
allowed = share / hash_s
print(f"ratio refresh rate storm / alone: {storm / alone:.2f}   (target >= 0.45)")
print(f"ratio refresh p99 storm / alone:  {p99_storm / p99_alone:.2f}   (target <= 3)")
print(f"logins during the storm: {ok / seconds:.2f}/s answered 200, {busy / seconds:.2f}/s 503 (hashing wait), {bad} other; mean {$l_mean:.0f} ms")
print(f"the workers used {$WORKER_CORES} cores during the storm (hashing at most {share}, the rest refresh and login bookkeeping)")
print(f"the share allows {share} / {hash_s:.3f} s = {allowed:.2f} logins/s; ratio {ok / seconds / allowed:.2f}   (target >= 0.90)")
PY

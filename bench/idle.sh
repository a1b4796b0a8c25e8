#!/usr/bin/env bash
# What an idle pool costs: the CPU time (user + system, from /proc) its workers spend in
# IDLE_SECONDS (20) without a single request, after a short settle. The workers' sweepers wake
# on their own (docs/sizing.md); everything else waits for a request.
# Usage: bash bench/idle.sh   (after `make release`; BIN=… another build,
#        JWT_ALLAUTH_SERVER_RUNNING_THREADS=N to try a setting; N = server.threads has no sweeper)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/jwt-allauth}
IDLE_SECONDS=${IDLE_SECONDS:-20}
source bench/instance.sh
bench_work idle
start_dev ES256 "$WORK/instance"
sleep 2
before=$(workers_cpu_seconds)
sleep "$IDLE_SECONDS"
after=$(workers_cpu_seconds)
python3 -c "t = $after - $before; print(f'idle workers: {t:.2f} CPU s in $IDLE_SECONDS s = {100 * t / $IDLE_SECONDS:.2f} % of one core')"

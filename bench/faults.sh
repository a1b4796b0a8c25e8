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
source bench/instance.sh
bench_work faults

start_dev "$ALG" "$WORK/instance"
create_user "$WORK/instance" faults@example.com 'Faults-Passw0rd!'
login_tokens faults@example.com 'Faults-Passw0rd!' "$CLIENTS" "$WORK/tokens"
echo "$ALG, $(grep -m1 rotation_grace "$WORK/instance/config.yaml" | sed 's/ *#.*//;s/^ *//'), $(nproc) cores"
python3 bench/faults.py "$PORT" "$DEV_PID" "$WORK/tokens" "$CLIENTS" "$PHASE_SECONDS"

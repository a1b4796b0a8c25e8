# Sourced by the bench scripts: their work directory, a `jwt-allauth dev` instance on a free
# loopback port, its user and its logins. Expects BIN (the binary) to be set. Cheap hashing and no
# throttling: the set-up logins are not what is measured. PRODUCTION_HASHING=yes keeps the
# configured PBKDF2 rounds, for the instance and the users create_user makes, where logins are
# what is measured (bench/storm.sh).

# The environment of cheap hashing, unless PRODUCTION_HASHING is set.
cheap_hashing() { [ -n "${PRODUCTION_HASHING:-}" ] || echo JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# try_start_dev ALG DIR [dev options…]: starts it in the background (log in DIR.log), sets PORT and
# DEV_PID, and waits (30 s at most) until health answers and DEV_WORKERS workers (default 2) have
# started. Returns 1, DEV_PID empty, when dev exits first (an older binary refusing a newer key
# set in the environment, for one): the caller may try again without it. The caller's environment
# reaches dev (`JWT_ALLAUTH_X=y try_start_dev …`).
try_start_dev() {
    local alg=$1 dir=$2
    shift 2
    PORT=$(free_port)
    env $(cheap_hashing) JWT_ALLAUTH_THROTTLE_SCALE=100000 \
        "$BIN" dev --dir "$dir" --port "$PORT" --algorithm "$alg" --credential-rate 100000r/s "$@" >"$dir.log" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$PORT/jwt-allauth/health/" >/dev/null 2>&1 &&
            [ "$(grep -c 'worker started' "$dir.log")" -ge "${DEV_WORKERS:-2}" ] && break
        kill -0 "$DEV_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$DEV_PID" 2>/dev/null && return 0
    wait "$DEV_PID" 2>/dev/null || true
    DEV_PID=""
    return 1
}

# start_dev ALG DIR [dev options…]: try_start_dev, and when dev exits, its log's end on stderr and
# status 1 (which ends a `set -e` script).
start_dev() {
    try_start_dev "$@" && return 0
    echo "jwt-allauth dev exited before it was ready; the end of $2.log:" >&2
    tail -5 "$2.log" >&2
    return 1
}

# stop_dev: stops the instance start_dev started, if any (TERM, then waits for it).
stop_dev() {
    [ -n "${DEV_PID:-}" ] || return 0
    kill "$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
    DEV_PID=""
}

# bench_work NAME: WORK, a new directory /tmp/jwt-allauth-NAME.XXXXXX; at exit the instance is
# stopped and WORK removed. A script with more to clean up sets its own EXIT trap after this.
bench_work() {
    WORK=$(mktemp -d "/tmp/jwt-allauth-$1.XXXXXX")
    DEV_PID=""
    trap 'stop_dev; rm -rf "$WORK"' EXIT
}

# create_user DIR EMAIL PASSWORD
create_user() {
    echo "$3" | env $(cheap_hashing) "$BIN" create-user --config "$1/config.yaml" \
        --email "$2" --password-stdin >/dev/null
}

# login_tokens EMAIL PASSWORD COUNT FILE [ACCESS_FILE]: the refresh tokens of COUNT logins, one per
# line; with ACCESS_FILE, the last login's access token there.
login_tokens() {
    local headers body
    headers=$(mktemp)
    body=$(mktemp)
    : >"$4"
    for _ in $(seq 1 "$3"); do
        curl -s -D "$headers" -o "$body" -H 'Content-Type: application/json' \
            -d "{\"email\":\"$1\",\"password\":\"$2\"}" "http://127.0.0.1:$PORT/jwt-allauth/login/"
        sed -n 's/^[Ss]et-[Cc]ookie: refresh_token=\([^;]*\);.*/\1/p' "$headers" >>"$4"
    done
    if [ -n "${5:-}" ]; then
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access"])' "$body" >"$5"
    fi
    rm -f "$headers" "$body"
}

# workers_cpu_seconds: the CPU seconds (user + system, /proc/<pid>/stat) the workers of the
# instance start_dev started have used so far; CPU time, so other load on the machine does not
# inflate it.
workers_cpu_seconds() {
    local master pid
    master=$(pgrep -P "$DEV_PID" -f " serve " | head -1)
    for pid in $(pgrep -P "$master" -f " worker "); do cat "/proc/$pid/stat"; done |
        awk -v tick="$(getconf CLK_TCK)" '{ sum += ($14 + $15) / tick } END { printf "%.3f\n", sum }'
}

# Sourced by the bench scripts: a `jwt-allauth dev` instance on a free loopback port, its user and
# its logins. Expects BIN (the binary) to be set. Cheap hashing and no throttling: the set-up logins
# are not what is measured.

# start_dev ALG DIR [dev options…]: starts it in the background (log in DIR.log), sets PORT and
# DEV_PID, and waits (30 s at most) until health answers and both workers have started.
start_dev() {
    local alg=$1 dir=$2
    shift 2
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 JWT_ALLAUTH_THROTTLE_SCALE=100000 \
        "$BIN" dev --dir "$dir" --port "$PORT" --algorithm "$alg" --credential-rate 100000r/s "$@" >"$dir.log" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$PORT/jwt-allauth/health/" >/dev/null 2>&1 && [ "$(grep -c 'worker started' "$dir.log")" -ge 2 ] && break
        sleep 0.1
    done
}

# create_user DIR EMAIL PASSWORD
create_user() {
    echo "$3" | JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS=1000 "$BIN" create-user --config "$1/config.yaml" \
        --email "$2" --password-stdin >/dev/null
}

# login_tokens EMAIL PASSWORD COUNT FILE: the refresh tokens of COUNT logins, one per line.
login_tokens() {
    local headers
    headers=$(mktemp)
    : >"$4"
    for _ in $(seq 1 "$3"); do
        curl -s -D "$headers" -o /dev/null -H 'Content-Type: application/json' \
            -d "{\"email\":\"$1\",\"password\":\"$2\"}" "http://127.0.0.1:$PORT/jwt-allauth/login/"
        sed -n 's/^[Ss]et-[Cc]ookie: refresh_token=\([^;]*\);.*/\1/p' "$headers" >>"$4"
    done
    rm -f "$headers"
}

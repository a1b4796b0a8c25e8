#!/usr/bin/env bash
# The deployment test (`make test-deploy`; CI runs it after `make test`, as root on a throwaway
# machine). It does what docs/deploying.md tells a sysadmin, on this machine, with
# loopback addresses only:
#   install the package (dpkg -i through apt, which brings its dependencies), `jwt-allauth init` a
#   site for auth.test.example in /etc/jwt-allauth, score its units with systemd-analyze, make a
#   throwaway CA and server certificate with openssl, run nginx with the generated site (only the
#   listen ports and certificate paths substituted, plus the protected location docs/deploying.md
#   shows) and the service under its generated unit's sandbox (Tests/Deployment/sandbox.py: no
#   systemd runs here, the harness applies the unit's settings itself) with Type=notify readiness;
# then, over HTTPS with that CA: login → refresh → logout with the Secure __Host- cookie, the
# HTTP → HTTPS redirect, HSTS, X-Forwarded-For honoured only from set_real_ip_from, limit_req's
# JSON 429, auth_request's 401 and X-Auth-* headers, metrics/ (200 from loopback, 403 from
# elsewhere), fail2ban-regex over the service's own security events, an online backup, the mode of
# every file it made and what other users (and the service itself) can reach, a reload, the daily
# purge under the same sandbox, and the package upgraded over itself while the service runs.
#   usage: Tests/Deployment/deploy-test.sh PACKAGE.deb
set -euo pipefail
deb=$(readlink -f "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "deploy-test: run as root (dpkg -i, a system user, nginx binding as root)" >&2; exit 1; }
# The site goes where docs/deploying.md puts it, so the package's own units and postinst apply to it:
# never over a real one.
for dir in /etc/jwt-allauth /var/lib/jwt-allauth; do
    if [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then echo "deploy-test: $dir exists on this machine; not touching a real site" >&2; exit 1; fi
done
started=$(date +%s.%N)
domain=auth.test.example
site=/etc/jwt-allauth
data=/var/lib/jwt-allauth
work=$(mktemp -d /tmp/jwt-allauth-deploy.XXXXXX)
harness=()   # the sandbox harness's pid (the service's "systemd")
pids=()

cleanup() {
    for pid in "${harness[@]}" "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${harness[@]}" "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    dpkg --purge jwt-allauth >/dev/null 2>&1 || true
    rm -rf "$work" /etc/nginx/jwt-allauth "$site" "$data" /run/jwt-allauth /var/log/jwt-allauth
    userdel jwt-allauth-test-stranger 2>/dev/null || true
    [ -z "${challenge:-}" ] || rm -f "$challenge"
}
trap cleanup EXIT
fail() { echo "not ok - $*" >&2; [ -f "$work/nginx/error.log" ] && tail -20 "$work/nginx/error.log" >&2; [ -f "$work/service.log" ] && tail -20 "$work/service.log" >&2; exit 1; }
pass() { echo "ok - $*"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
as_service() { runuser -u jwt-allauth -- "$@"; }
sandbox() { /usr/bin/python3 "$repo/Tests/Deployment/sandbox.py" "$@"; }   # in the foreground (in the background, $! must be python's)

# 1. Install ---------------------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null || fail "apt-get install $deb"
[ "$(command -v jwt-allauth)" = /usr/bin/jwt-allauth ] || fail "jwt-allauth is not /usr/bin/jwt-allauth"
echo "# dpkg -c $(basename "$deb")"; dpkg -c "$deb"
echo "# ldd /usr/bin/jwt-allauth"; ldd /usr/bin/jwt-allauth
ldd /usr/bin/jwt-allauth | grep -qi swift && fail "the installed binary loads a Swift toolchain library"
ldd /usr/bin/jwt-allauth | grep -q "not found" && fail "a library of the installed binary is missing"
getent passwd jwt-allauth >/dev/null || fail "the maintainer scripts made no jwt-allauth user"
[ "$(id -nG jwt-allauth)" = jwt-allauth ] || fail "the jwt-allauth user's groups are $(id -nG jwt-allauth), not its own group alone"
pass "package installed: binary without toolchain paths, the jwt-allauth user in its own group alone, $(dpkg -s jwt-allauth | grep ^Depends:)"
units=(/lib/systemd/system/jwt-allauth.service /lib/systemd/system/jwt-allauth-purge.service /lib/systemd/system/jwt-allauth-purge.timer)
verify=$(systemd-analyze verify --man=no "${units[@]}" 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
pass "systemd-analyze verify: the shipped service, purge service and timer are clean"

# 2. init, then the next steps it prints --------------------------------------------------------
jwt-allauth init "$site" --domain "$domain" --algorithm ES256 --trusted-proxy 127.0.0.2 > "$work/init.txt"
unit=$site/jwt-allauth.service
grep -q "ExecStart=/usr/bin/jwt-allauth serve --config $site/config.yaml" "$unit" || fail "the unit does not run the installed binary"
grep -rq "\.build" "$site" && fail "init wrote a build directory path"
for name in jwt-allauth.service jwt-allauth-purge.service jwt-allauth-purge.timer; do
    diff <(grep -v '^#' "$site/$name") <(grep -v '^#' "/lib/systemd/system/$name") >/dev/null \
        || fail "the package's $name differs from the one init wrote: $(diff <(grep -v '^#' "$site/$name") <(grep -v '^#' "/lib/systemd/system/$name"))"
done
pass "init wrote the installed binary's path into the units, no build directory anywhere; the package ships the same units"

for name in jwt-allauth.service jwt-allauth-purge.service; do
    score=$(systemd-analyze security --offline=yes "$site/$name" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
    [ -n "$score" ] || fail "systemd-analyze security --offline=yes $name: $(systemd-analyze security --offline=yes "$site/$name" 2>&1 | tail -3)"
    python3 -c "import sys; sys.exit(0 if float('$score') <= 2.5 else 1)" || fail "systemd-analyze security: $name scores $score, above 2.5"
    pass "systemd-analyze security --offline=yes $name: $score (2.5 at most)"
done

as_service jwt-allauth migrate --config "$site/config.yaml" >/dev/null
echo 'Deploy-Passw0rd' | as_service jwt-allauth create-user --config "$site/config.yaml" --email admin@$domain --role 1000 --password-stdin >/dev/null
mkdir -p /etc/nginx/jwt-allauth
cp "$site/nginx/fastcgi-params.conf" "$site/nginx/auth-request.conf" "$site/nginx/json-errors.conf" /etc/nginx/jwt-allauth/

# 3. A throwaway CA and a certificate for the test domain -------------------------------------
mkdir -p "$work/tls"
cd "$work/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=jwt-allauth test CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$domain" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$domain" > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out server.pem 2>/dev/null
cd "$repo"

# 4. nginx with the generated site: listen ports and certificate paths substituted -------------
http_port=$(free_port); https_port=$(free_port); app_port=$(free_port)
mkdir -p "$work/nginx/tmp"
chmod 0755 "$work"   # nginx's workers (www-data) read their temporary directories in it
sed -e "s|^\(\s*\)listen 80;|\1listen 127.0.0.1:$http_port;|" \
    -e "s|^\(\s*\)listen 443 ssl\( http2\)\{0,1\};|\1listen 127.0.0.1:$https_port ssl\2;|" \
    -e "/listen \[::\]/d" \
    -e "s|/etc/letsencrypt/live/$domain/fullchain.pem|$work/tls/server.pem|" \
    -e "s|/etc/letsencrypt/live/$domain/privkey.pem|$work/tls/server.key|" \
    "$site/nginx/$domain.conf" > "$work/nginx/site.conf"
# The protected application, as auth-request.conf's comment shows, before the site's last brace.
python3 - "$work/nginx/site.conf" "$app_port" <<'PY'
import sys
path, port = sys.argv[1], sys.argv[2]
text = open(path).read()
cut = text.rstrip().rfind("}")
protected = f"""
    include /etc/nginx/jwt-allauth/auth-request.conf;
    location /app/ {{
        auth_request /_jwt_allauth_verify;
        auth_request_set $auth_user_id $upstream_http_x_auth_user_id;
        auth_request_set $auth_role $upstream_http_x_auth_role;
        proxy_set_header X-Auth-User-Id $auth_user_id;
        proxy_set_header X-Auth-Role $auth_role;
        proxy_pass http://127.0.0.1:{port};
    }}
"""
open(path, "w").write(text[:cut] + protected + text[cut:])
PY
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
user www-data;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    include $work/nginx/site.conf;
    # The protected application: echoes the identity nginx passed on.
    server {
        listen 127.0.0.1:$app_port;
        location / { default_type text/plain; return 200 "user=\$http_x_auth_user_id role=\$http_x_auth_role\n"; }
    }
}
CONF
nginx -t -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>/dev/null || { nginx -t -p "$work/nginx" -c "$work/nginx/nginx.conf"; fail "nginx -t"; }
# nginx first (as systemd orders it after the service, it would otherwise meet a pool still starting).
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
nginx_pid=$!
# A stopping worker serves the connections nginx keeps to it until nginx closes them (up to the
# upstream keepalive_timeout, 3 s: the drain of docs/architecture.md). Before a stop the test has
# nginx close them at once (a reload closes its old workers' idle connections), to keep its time short.
close_kept_connections() { kill -HUP "$nginx_pid"; sleep 0.2; }
base=https://$domain:$https_port/jwt-allauth
https() { curl -s --max-time 10 --cacert "$work/tls/ca.pem" --resolve "$domain:$https_port:127.0.0.1" "$@"; }
health() { https -o /dev/null -w '%{http_code}' "$base/health/"; }

# 5. The service under its unit's sandbox, Type=notify ------------------------------------------
notify=$work/notify.log
touch "$notify"
# As `systemctl start` returns for Type=notify: once the service's READY=1 has come.
start_service() {
    local before
    before=$(wc -l < "$notify")
    /usr/bin/python3 "$repo/Tests/Deployment/sandbox.py" run "$unit" --notify-log "$notify" --pid-file "$work/main.pid" >> "$work/service.log" 2>&1 &
    harness=($!)
    for _ in $(seq 1500); do
        tail -n +$((before + 1)) "$notify" | grep -q ' accepted READY=1' && return 0
        kill -0 "${harness[0]}" 2>/dev/null || fail "the service exited before READY=1"
        sleep 0.02
    done
    fail "no READY=1 within 30 s: $(cat "$notify")"
}
# Waits for the notify log to hold $1 lines, the last matching $2.
await_notification() {
    for _ in $(seq 500); do
        [ "$(wc -l < "$notify")" -ge "$1" ] && break
        sleep 0.02
    done
    sed -n "${1}p" "$notify" | grep -q " accepted $2" || fail "notification $1 is not $2: $(cat "$notify")"
}
start_service
# At the moment READY=1 arrives, every worker has said it accepts, and a request is answered at once.
[ "$(health)" = 200 ] || fail "READY=1 came before health/ answered: $(cat "$notify")"
workers=$(grep -c "worker started" "$work/service.log")
[ "$workers" = 2 ] || fail "READY=1 with $workers of 2 workers started"
grep -q ' ignored ' "$notify" && fail "a process other than the main one spoke to the manager: $(cat "$notify")"
main=$(cat "$work/main.pid")
pass "Type=notify: READY=1 from the master ($(sed -n '1s/^[0-9.]* [0-9]* accepted //p' "$notify")) once both workers accept; health/ answered at once"
status=$(cat "/proc/$main/status")
for expected in "NoNewPrivs:	1" "Seccomp:	2" "CapBnd:	0000000000000000" "CapEff:	0000000000000000" \
                "Uid:	$(id -u jwt-allauth)" "Gid:	$(id -g jwt-allauth)"; do
    grep -q "^$expected" <<< "$status" || fail "the master's /proc/$main/status lacks \"$expected\""
done
groups=$(sed -n 's/^Groups:\t//p' <<< "$status" | xargs -n1 | sort -n | xargs)
[ "$groups" = "$(printf '%s\n' "$(id -g jwt-allauth)" "$(getent group www-data | cut -d: -f3)" | sort -n | xargs)" ] \
    || fail "the master's groups: $groups"
[ "$(readlink "/proc/$main/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "the master shares the host's mount namespace"
pass "the master runs as jwt-allauth (groups jwt-allauth, www-data), no capability, no_new_privs, a seccomp filter, its own mount namespace"

# 6. Over HTTPS ---------------------------------------------------------------------------------
read -r code location < <(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}\n' -H "Host: $domain" "http://127.0.0.1:$http_port/jwt-allauth/health/")
[ "$code" = 301 ] && [ "$location" = "https://$domain/jwt-allauth/health/" ] || fail "HTTP → HTTPS redirect ($code $location)"
pass "plain HTTP answers 301 to https://$domain/…"
# certbot --webroot -w /var/www/html: the challenge file it writes is served over plain HTTP.
install -d -m 0755 /var/www/html/.well-known/acme-challenge
challenge=/var/www/html/.well-known/acme-challenge/jwt-allauth-test-$$
printf "token-%s.thumbprint" $$ > "$challenge"   # certbot writes no newline
answer=$(curl -s --max-time 10 -w ' %{http_code}' -H "Host: $domain" "http://127.0.0.1:$http_port/.well-known/acme-challenge/jwt-allauth-test-$$")
[ "$answer" = "token-$$.thumbprint 200" ] || fail "the ACME challenge over plain HTTP: $answer"
missing=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "Host: $domain" "http://127.0.0.1:$http_port/.well-known/acme-challenge/none")
[ "$missing" = 404 ] || fail "a missing challenge answered $missing"
rm -f "$challenge"; challenge=
pass "certbot's HTTP-01 challenge is served from /var/www/html over plain HTTP (a missing one 404); everything else redirects"
https -D - -o /dev/null "$base/health/" | grep -qi '^strict-transport-security: max-age=31536000' || fail "HSTS"
pass "HSTS on HTTPS answers"

login() { https -D "$work/login.headers" -c "$1" -H 'Content-Type: application/json' \
    -d "{\"email\":\"admin@$domain\",\"password\":\"Deploy-Passw0rd\"}" "$base/login/"; }
cookie() { awk '$6 == "__Host-refresh_token" { print $7 }' "$1"; }
jar=$work/cookies.txt
access=$(login "$jar" | json '["access"]')
grep -i '^set-cookie: __Host-refresh_token=' "$work/login.headers" | grep -i 'secure' | grep -i 'httponly' | grep -qi 'path=/' \
    || fail "login's cookie is not a Secure HttpOnly __Host- cookie: $(grep -i set-cookie "$work/login.headers")"
first=$(cookie "$jar")
[ -n "$first" ] || fail "curl did not keep the Secure cookie"
[ "$(https -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" -X POST "$base/refresh/")" = 200 ] || fail "refresh with the cookie"
second=$(cookie "$jar")
[ -n "$second" ] && [ "$second" != "$first" ] || fail "refresh did not rotate the cookie"
pass "login → refresh over HTTPS: Secure HttpOnly __Host-refresh_token, rotated"

[ "$(https -o /dev/null -w '%{http_code}' "https://$domain:$https_port/app/")" = 401 ] || fail "protected location without a token"
app=$(https -H "Authorization: Bearer $access" "https://$domain:$https_port/app/")
[ "$app" = "user=1 role=1000" ] || fail "protected location with a token answered: $app"
pass "auth_request: 401 without a token, X-Auth-User-Id/X-Auth-Role passed with one ($app)"

[ "$(https -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" -H "Authorization: Bearer $access" -X POST "$base/logout/")" = 200 ] || fail "logout"
[ "$(https -o /dev/null -w '%{http_code}' -b "__Host-refresh_token=$second" -X POST "$base/refresh/")" = 401 ] || fail "refresh after logout"
pass "logout closes the session: its refresh token answers 401"

# X-Forwarded-For: honoured from 127.0.0.2 (--trusted-proxy), ignored from 127.0.0.3 and 127.0.0.1.
bad_login() { https -o /dev/null --interface "$1" -H "X-Forwarded-For: $2" -H 'Content-Type: application/json' \
    -d "{\"email\":\"admin@$domain\",\"password\":\"wrong\"}" "$base/login/"; }
bad_login 127.0.0.2 203.0.113.9
bad_login 127.0.0.3 198.51.100.7
bad_login 127.0.0.1 198.51.100.8
events=/var/log/jwt-allauth/security.log
grep -q 'event=login_failed client=203.0.113.9$' "$events" || fail "X-Forwarded-For from the trusted proxy not honoured: $(cat "$events")"
grep -q 'event=login_failed client=127.0.0.3$' "$events" || fail "untrusted 127.0.0.3 not logged as itself"
grep -q 'event=login_failed client=127.0.0.1$' "$events" || fail "untrusted 127.0.0.1 not logged as itself"
grep -qE '198\.51\.100\.[78]' "$events" && fail "X-Forwarded-For from an untrusted address was honoured"
pass "X-Forwarded-For honoured only from set_real_ip_from (127.0.0.2 → 203.0.113.9; 127.0.0.3 and 127.0.0.1 stay themselves)"

# limit_req on login/: 40 requests on one connection from 127.0.0.4; bodies the service refuses
# with a 400, so only nginx's limit answers 429.
urls=(); for _ in $(seq 40); do urls+=("$base/login/"); done
statuses=$(https --interface 127.0.0.4 -H 'Content-Type: application/json' -d '{}' -w '\n=> %{http_code} %{content_type}\n' "${urls[@]}" | grep '^=> ')
limited=$(echo "$statuses" | grep -c '^=> 429 application/json' || true)
[ "$limited" -ge 5 ] || fail "limit_req: $limited JSON 429s in 40 quick logins: $statuses"
body=$(https --interface 127.0.0.4 -H 'Content-Type: application/json' -d '{}' "$base/login/")
[ "$(echo "$body" | json '["code"]')" = throttled ] || fail "nginx's 429 body: $body"
pass "limit_req: $limited of 40 quick logins answered 429 with a JSON body ($body)"

# metrics/: the pool's figures from loopback; 403 JSON from elsewhere.
metrics=$(https "$base/metrics/")
echo "$metrics" | grep -q '^jwt_allauth_requests_total{route="login/",status="401"} 3$' || fail "metrics: $metrics"
echo "$metrics" | grep -q '^jwt_allauth_failed_logins_total 3$' || fail "metrics failed logins"
echo "$metrics" | grep -q '^jwt_allauth_rotations_total 1$' || fail "metrics rotations"
forbidden=$(https --interface 127.0.0.3 -w ' %{http_code}' "$base/metrics/")
[ "$forbidden" = '{"detail":"Forbidden.","code":"forbidden"} 403' ] || fail "metrics from 127.0.0.3: $forbidden"
pass "metrics/ from loopback counts the pool (3 failed logins, 1 rotation); from 127.0.0.3: $forbidden"
world=$(https --interface 127.0.0.3 "$base/health/")
[ "$world" = '{"status":"ok"}' ] || fail "health/ from 127.0.0.3 tells more than its status: $world"
monitor=$(https "$base/health/")
[ "$(echo "$monitor" | json '["version"]')" = "$(jwt-allauth --version)" ] || fail "health/ from loopback: $monitor"
pass "health/: $world from 127.0.0.3, the release and schema from the metrics allow-list ($monitor)"

# fail2ban-regex (Debian's fail2ban) with the shipped filter over the lines the service wrote.
filter=/usr/share/jwt-allauth/config/fail2ban/filter.d/jwt-allauth.conf
report=$(fail2ban-regex -v "$events" "$filter" 2>&1) || fail "fail2ban-regex: $report"
echo "# fail2ban-regex -v $events $filter"; echo "$report" | sed -n "/^Results/,$ p"
echo "$report" | grep -q "Lines: 3 lines, 0 ignored, 3 matched, 0 missed" || fail "fail2ban-regex: $report"
for address in 203.0.113.9 127.0.0.3 127.0.0.1; do echo "$report" | grep -q "|      $address " || fail "fail2ban-regex did not find $address"; done
pass "fail2ban-regex matches every security event the service wrote, by client address"

# An online backup while the service runs, as the service user, where docs/operations.md keeps them.
as_service install -d -m 0700 "$data/backups"
backup=$data/backups/jwt-allauth-test.sqlite3
as_service jwt-allauth backup --config "$site/config.yaml" "$backup" | grep -q "integrity ok" || fail "backup"
pass "jwt-allauth backup while the pool runs"

# 7. Files: who owns each, its mode, who can read it --------------------------------------------
# After init, migrate, a backup and requests: PATH MODE OWNER:GROUP. Nothing is open to other users
# but the public key, the nginx files and the units (init's output for the operator, and public);
# www-data (nginx) reaches the socket and nothing else.
expected_modes="
$site 750 root:jwt-allauth
$site/config.yaml 640 root:jwt-allauth
$site/keys 750 root:jwt-allauth
$site/keys/private.pem 640 root:jwt-allauth
$site/keys/refresh.key 640 root:jwt-allauth
$site/keys/mfa.key 640 root:jwt-allauth
$site/keys/public.pem 644 root:jwt-allauth
$site/jwt-allauth.service 644 root:jwt-allauth
$data 700 jwt-allauth:jwt-allauth
$data/jwt-allauth.sqlite3 600 jwt-allauth:jwt-allauth
$data/jwt-allauth.sqlite3-wal 600 jwt-allauth:jwt-allauth
$data/jwt-allauth.sqlite3-shm 600 jwt-allauth:jwt-allauth
$data/jwt-allauth.sqlite3-writer.lock 600 jwt-allauth:jwt-allauth
$data/backups 700 jwt-allauth:jwt-allauth
$backup 600 jwt-allauth:jwt-allauth
/var/log/jwt-allauth 700 jwt-allauth:jwt-allauth
$events 600 jwt-allauth:jwt-allauth
/run/jwt-allauth 711 jwt-allauth:jwt-allauth
/run/jwt-allauth/jwt-allauth.sock 660 jwt-allauth:www-data
/run/jwt-allauth/metrics 700 jwt-allauth:jwt-allauth
/run/jwt-allauth/hashing 700 jwt-allauth:jwt-allauth"
echo "# mode owner:group path (who reads it)"
while read -r path mode owner; do
    [ -n "$path" ] || continue
    actual="$(stat -c '%a %U:%G' "$path" 2>/dev/null)" || fail "$path does not exist"
    printf '#   %-4s %-24s %s\n' "$(cut -d' ' -f1 <<< "$actual")" "$(cut -d' ' -f2 <<< "$actual")" "$path"
    [ "$actual" = "$mode $owner" ] || fail "$path is $actual, not $mode $owner"
done <<< "$expected_modes"
open_to_others=$(find "$site" "$data" /var/log/jwt-allauth /run/jwt-allauth -perm /o+r ! -path "$site/nginx*" \
    ! -name public.pem ! -name '*.service' ! -name '*.timer' ! -name .gitignore)
[ -z "$open_to_others" ] || fail "readable by every local user: $open_to_others"
for_nginx=$(find "$site" "$data" /var/log/jwt-allauth /run/jwt-allauth -group www-data)
[ "$for_nginx" = /run/jwt-allauth/jwt-allauth.sock ] || fail "www-data's group holds more than the socket: $for_nginx"
pass "every file as the table above: keys root's and 0640 to jwt-allauth, data and logs 0600/0700 jwt-allauth's; only the socket is www-data's"

# The attacker's view: another local user, nginx's user, and the service writing its own configuration.
useradd --system --no-create-home --shell /usr/sbin/nologin jwt-allauth-test-stranger 2>/dev/null || true
can() { runuser -u "$1" -- sh -c "$2" >/dev/null 2>&1; }
for who in jwt-allauth-test-stranger www-data; do
    for path in "$site/config.yaml" "$site/keys/private.pem" "$site/keys/refresh.key" "$data/jwt-allauth.sqlite3" "$backup" "$events"; do
        can "$who" "cat '$path'" && fail "$who can read $path"
    done
    can "$who" "ls /run/jwt-allauth" && fail "$who can list /run/jwt-allauth"
done
socket_reachable() { runuser -u "$1" -- /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_UNIX).connect("/run/jwt-allauth/jwt-allauth.sock")' 2>/dev/null; }
socket_reachable jwt-allauth-test-stranger && fail "another local user can connect to the socket"
socket_reachable www-data || fail "www-data (nginx) cannot connect to the socket"
pass "another local user and www-data read no key, config, database, backup or log; www-data connects to the socket, the other user cannot"
can jwt-allauth "cat '$site/keys/private.pem' '$site/config.yaml'" || fail "the service user cannot read its key and config"
for attempt in "echo x >> '$site/config.yaml'" "echo x >> '$site/keys/private.pem'" "touch '$site/keys/new.pem'" \
               "chmod 666 '$site/config.yaml'" "mv '$site/config.yaml' '$site/moved.yaml'"; do
    can jwt-allauth "$attempt" && fail "the service user could: $attempt"
done
pass "the service user reads its config and keys and cannot write, create, chmod or move them"
# Inside the sandbox, as the service runs: /etc read-only whatever the modes, no home, no one else's processes.
probe=$(sandbox exec "$unit" -- /usr/bin/python3 -c '
import ctypes, mmap, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def refused(action):
    try:
        action(); return "allowed"
    except OSError as error:
        return error.strerror
print("mdwe", libc.prctl(66, 0, 0, 0, 0))
print("etc", refused(lambda: open("/etc/jwt-allauth/refused", "w")))
print("usr", refused(lambda: open("/usr/refused", "w")))
print("data", refused(lambda: open("/var/lib/jwt-allauth/.probe", "w").close()))
print("home", refused(lambda: os.listdir("/root")))
print("others", [p for p in os.listdir("/proc") if p.isdigit() and os.stat(f"/proc/{p}").st_uid != os.getuid()])
print("netlink", refused(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)))
print("wx", refused(lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)))
print("unshare", libc.unshare(0x20000))
' 2>/dev/null)
rm -f "$data/.probe"
echo "$probe" | sed 's/^/#   in the sandbox: /'
for expected in "mdwe 1" "etc Read-only file system" "usr Read-only file system" "data allowed" "home Permission denied" \
                "others []" "netlink Operation not permitted" "wx Permission denied" "unshare -1"; do
    grep -qxF "$expected" <<< "$probe" || fail "in the sandbox, expected \"$expected\": $probe"
done
pass "in the sandbox: /etc and /usr read-only, its StateDirectory writable, no home, no other user's process in /proc, no netlink, no W+X memory, no namespaces"
# check names an exposed file and the command that closes it.
chmod 0644 "$backup"
warning=$(jwt-allauth check --config "$site/config.yaml" 2>&1 >/dev/null | grep "^warning: $backup ") || fail "check said nothing of a backup open to others"
[[ "$warning" == *"chmod 600 $backup"* ]] || fail "check's warning does not say how to fix it: $warning"
chmod 0600 "$backup"
pass "check: $warning"

# 8. A key rotation with its reload, the purge, an upgrade over itself, a stop ------------------
# rotate-key as docs/deploying.md tells the sysadmin (as root), then systemctl reload.
kid() { python3 -c 'import base64, json, sys; h = sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"])' "$1"; }
jwks_kids() { https "$base/jwks/" | python3 -c 'import json, sys; print(" ".join(sorted(k["kid"] for k in json.load(sys.stdin)["keys"])))'; }
access_token() { https -H 'Content-Type: application/json' -d "{\"email\":\"admin@$domain\",\"password\":\"Deploy-Passw0rd\"}" "$base/login/" | json '["access"]'; }
old_access=$(access_token); old_kid=$(kid "$old_access")
jwt-allauth rotate-key --config "$site/config.yaml" > "$work/rotate.txt" 2>&1 || fail "rotate-key: $(cat "$work/rotate.txt")"
grep -q '^next: systemctl reload jwt-allauth' "$work/rotate.txt" || fail "rotate-key's next step: $(cat "$work/rotate.txt")"
retired=$(ls "$site/keys/retired/")
[[ "$retired" == *".$old_kid.pem" ]] || fail "retired/ holds $retired, not kid $old_kid"
rotated=$(stat -c '%a %U:%G' "$site/keys/private.pem" "$site/keys/retired" "$site/keys/retired/$retired" | paste -sd,)
[ "$rotated" = "640 root:jwt-allauth,750 root:jwt-allauth,640 root:jwt-allauth" ] || fail "rotated key files: $rotated"
as_service jwt-allauth check --config "$site/config.yaml" >/dev/null || fail "the service user cannot load the rotated keys"
lines=$(wc -l < "$notify")
kill -HUP "${harness[0]}"   # systemctl reload: the unit's ExecReload=, as the service user
await_notification $((lines + 1)) "RELOADING=1 | MONOTONIC_USEC="
await_notification $((lines + 2)) "READY=1"
[ "$(health)" = 200 ] || fail "health/ after the reload"
pass "reload (ExecReload=): RELOADING=1 with MONOTONIC_USEC, then READY=1 once the new workers accept"
close_kept_connections   # the old workers' kept connections would still answer with the old key set
new_access=$(access_token); new_kid=$(kid "$new_access")
[ "$new_kid" != "$old_kid" ] || fail "after the reload a login still signs with $old_kid"
for token in "$old_access" "$new_access"; do
    [ "$(https -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/user/")" = 200 ] || fail "user/ after the rotation"
    [ "$(https -H "Authorization: Bearer $token" "https://$domain:$https_port/app/")" = "user=1 role=1000" ] || fail "auth_request after the rotation"
done
[ "$(jwks_kids)" = "$(printf '%s\n' "$old_kid" "$new_kid" | sort | paste -sd' ')" ] || fail "jwks/ after the rotation: $(jwks_kids)"
pass "rotate-key (root) + reload: the keys stay root's 0640 to jwt-allauth, the old key's token still passes user/ and auth_request, logins sign with the new kid ($new_kid), jwks/ lists both"

purge=$(sandbox run "$site/jwt-allauth-purge.service" --notify-log "$work/purge-notify.log" 2>&1) || fail "purge under the sandbox: $purge"
grep -q "expired row(s) deleted" <<< "$purge" || fail "purge: $purge"
pass "jwt-allauth-purge.service under the same sandbox: $(grep 'expired row(s) deleted' <<< "$purge")"

upgrade_jar=$work/upgrade-cookies.txt
login "$upgrade_jar" > /dev/null
before_upgrade=$(cookie "$upgrade_jar")
[ -n "$before_upgrade" ] || fail "login before the upgrade"
dpkg -i "$deb" > "$work/upgrade.txt" 2>&1 || fail "dpkg -i over itself: $(cat "$work/upgrade.txt")"
grep -q "No migrations to apply." "$work/upgrade.txt" || fail "the postinst did not migrate on upgrade: $(cat "$work/upgrade.txt")"
[ "$(stat -c '%a %U:%G' "$data/jwt-allauth.sqlite3")" = "600 jwt-allauth:jwt-allauth" ] || fail "the upgrade changed the database's mode"
# No systemd here: restart as its try-restart would (stop, wait, start).
close_kept_connections
kill -TERM "${harness[0]}"
wait "${harness[0]}" || fail "the pool did not stop cleanly for the restart"
start_service
[ "$(https -o /dev/null -w '%{http_code}' -b "$upgrade_jar" -c "$upgrade_jar" -X POST "$base/refresh/")" = 200 ] \
    || fail "a refresh cookie from before the upgrade no longer refreshes"
[ "$(cookie "$upgrade_jar")" != "$before_upgrade" ] || fail "the refresh after the upgrade did not rotate"
pass "package upgraded over itself while serving (postinst migrated as the service user), restarted: a session from before refreshes"

lines=$(wc -l < "$notify")
close_kept_connections
kill -TERM "${harness[0]}"   # systemctl stop: SIGTERM to the master (KillMode=mixed)
wait "${harness[0]}" || fail "the pool did not stop cleanly on SIGTERM"
await_notification $((lines + 1)) "STOPPING=1"
grep -q "processes of the service were left" "$work/service.log" && fail "the master left processes behind"
[ -e /run/jwt-allauth ] && fail "the RuntimeDirectory outlived the service"
harness=()
pass "SIGTERM stops the pool cleanly: STOPPING=1, exit 0, no process left behind"
echo "# notifications: $(awk '{ $1 = ""; print }' "$notify" | sed 's/^ //' | paste -sd ';' | sed 's/;/; /g')"
echo "# deployment test passed in $(python3 -c "import time; print(round(time.time() - $started, 1))") s (after the package build)"

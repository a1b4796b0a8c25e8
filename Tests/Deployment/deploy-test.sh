#!/usr/bin/env bash
# The deployment test (`make test-deploy`; CI runs it after `make test`, as root on a throwaway
# machine). It does what docs/deploying.md tells a sysadmin, on this machine, with
# loopback addresses only:
#   install the package (dpkg -i through apt, which brings its dependencies), `jwt-allauth init` a
#   site for auth.test.example, make a throwaway CA and server certificate with openssl, run nginx
#   with the generated site (only the listen ports and certificate paths substituted, plus the
#   protected location docs/deploying.md shows) and the service with the generated unit's command line,
#   as the unit's user;
# then, over HTTPS with that CA: login → refresh → logout with the Secure __Host- cookie, the
# HTTP → HTTPS redirect, HSTS, X-Forwarded-For honoured only from set_real_ip_from, limit_req's
# JSON 429, auth_request's 401 and X-Auth-* headers, metrics/ (200 from loopback, 403 from
# elsewhere), fail2ban-regex over the service's own security events, and an online backup.
#   usage: Tests/Deployment/deploy-test.sh PACKAGE.deb
set -euo pipefail
deb=$(readlink -f "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "deploy-test: run as root (dpkg -i, a system user, nginx binding as root)" >&2; exit 1; }
started=$(date +%s)
domain=auth.test.example
work=$(mktemp -d /tmp/jwt-allauth-deploy.XXXXXX)
chmod 0755 "$work"   # the service user reaches its directory inside it
site=$work/jwt-allauth
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    dpkg --purge jwt-allauth >/dev/null 2>&1 || true
    rm -rf "$work" /etc/nginx/jwt-allauth /run/jwt-allauth /var/log/jwt-allauth
}
trap cleanup EXIT
fail() { echo "not ok - $*" >&2; [ -f "$work/nginx/error.log" ] && tail -20 "$work/nginx/error.log" >&2; [ -f "$work/service.log" ] && tail -20 "$work/service.log" >&2; exit 1; }
pass() { echo "ok - $*"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

# 1. Install ---------------------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null || fail "apt-get install $deb"
[ "$(command -v jwt-allauth)" = /usr/bin/jwt-allauth ] || fail "jwt-allauth is not /usr/bin/jwt-allauth"
echo "# dpkg -c $(basename "$deb")"; dpkg -c "$deb"
echo "# ldd /usr/bin/jwt-allauth"; ldd /usr/bin/jwt-allauth
ldd /usr/bin/jwt-allauth | grep -qi swift && fail "the installed binary loads a Swift toolchain library"
ldd /usr/bin/jwt-allauth | grep -q "not found" && fail "a library of the installed binary is missing"
getent passwd jwt-allauth >/dev/null || fail "the maintainer scripts made no jwt-allauth user"
pass "package installed: binary without toolchain paths, jwt-allauth user, $(dpkg -s jwt-allauth | grep ^Depends:)"

# 2. init, then the next steps it prints --------------------------------------------------------
jwt-allauth init "$site" --domain "$domain" --algorithm ES256 --trusted-proxy 127.0.0.2 > "$work/init.txt"
grep -q "ExecStart=/usr/bin/jwt-allauth serve --config $site/config.yaml" "$site/jwt-allauth.service" \
    || fail "the unit does not run the installed binary"
grep -rq "\.build" "$site" && fail "init wrote a build directory path"
pass "init wrote the installed binary's path into the unit, no build directory anywhere"
chown -R jwt-allauth: "$site"
as_service() { runuser -u jwt-allauth -- "$@"; }
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
sed -e "s|^\(\s*\)listen 80;|\1listen 127.0.0.1:$http_port;|" \
    -e "s|^\(\s*\)listen 443 ssl http2;|\1listen 127.0.0.1:$https_port ssl http2;|" \
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

# 5. The service with the unit's command line, user, group and umask; systemd would also make
#    its RuntimeDirectory and LogsDirectory.
unit=$site/jwt-allauth.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit"); group=$(sed -n 's/^Group=//p' "$unit")
install -d -o "$user" -g "$group" -m 0750 /run/jwt-allauth /var/log/jwt-allauth
(umask 0027; exec setpriv --reuid="$user" --regid="$group" --init-groups -- $exec_start) > "$work/service.log" 2>&1 &
pids+=($!)
service_pid=$!
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)

base=https://$domain:$https_port/jwt-allauth
https() { curl -s --max-time 10 --cacert "$work/tls/ca.pem" --resolve "$domain:$https_port:127.0.0.1" "$@"; }
for _ in $(seq 150); do
    [ "$(https -o /dev/null -w '%{http_code}' "$base/health/")" = 200 ] && break
    sleep 0.2
done
[ "$(https -o /dev/null -w '%{http_code}' "$base/health/")" = 200 ] || fail "health over HTTPS"
pass "health/ answers over HTTPS with the throwaway CA"

# 6. Over HTTPS ---------------------------------------------------------------------------------
read -r code location < <(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}\n' -H "Host: $domain" "http://127.0.0.1:$http_port/jwt-allauth/health/")
[ "$code" = 301 ] && [ "$location" = "https://$domain/jwt-allauth/health/" ] || fail "HTTP → HTTPS redirect ($code $location)"
pass "plain HTTP answers 301 to https://$domain/…"
https -D - -o /dev/null "$base/health/" | grep -qi '^strict-transport-security: max-age=31536000' || fail "HSTS"
pass "HSTS on HTTPS answers"

jar=$work/cookies.txt
login=$(https -D "$work/login.headers" -c "$jar" -H 'Content-Type: application/json' \
    -d "{\"email\":\"admin@$domain\",\"password\":\"Deploy-Passw0rd\"}" "$base/login/")
access=$(echo "$login" | json '["access"]')
grep -i '^set-cookie: __Host-refresh_token=' "$work/login.headers" | grep -i 'secure' | grep -i 'httponly' | grep -qi 'path=/' \
    || fail "login's cookie is not a Secure HttpOnly __Host- cookie: $(grep -i set-cookie "$work/login.headers")"
first=$(awk '$6 == "__Host-refresh_token" { print $7 }' "$jar")
[ -n "$first" ] || fail "curl did not keep the Secure cookie"
[ "$(https -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" -X POST "$base/refresh/")" = 200 ] || fail "refresh with the cookie"
second=$(awk '$6 == "__Host-refresh_token" { print $7 }' "$jar")
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

# fail2ban-regex (Debian's fail2ban) with the shipped filter over the lines the service wrote.
filter=/usr/share/jwt-allauth/config/fail2ban/filter.d/jwt-allauth.conf
report=$(fail2ban-regex -v "$events" "$filter" 2>&1) || fail "fail2ban-regex: $report"
echo "# fail2ban-regex -v $events $filter"; echo "$report" | sed -n "/^Results/,$ p"
echo "$report" | grep -q "Lines: 3 lines, 0 ignored, 3 matched, 0 missed" || fail "fail2ban-regex: $report"
for address in 203.0.113.9 127.0.0.3 127.0.0.1; do echo "$report" | grep -q "|      $address " || fail "fail2ban-regex did not find $address"; done
pass "fail2ban-regex matches every security event the service wrote, by client address"

# An online backup while the service runs, as the service user.
as_service jwt-allauth backup --config "$site/config.yaml" "$site/backup.sqlite3" | grep -q "integrity ok" || fail "backup"
pass "jwt-allauth backup while the pool runs"

# A graceful stop: SIGTERM to the master, exit 0.
kill -TERM "$service_pid"
wait "$service_pid" || fail "the pool did not stop cleanly on SIGTERM"
pass "SIGTERM stops the pool cleanly"
echo "# deployment test passed in $(( $(date +%s) - started )) s (after the package build)"

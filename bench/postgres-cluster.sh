# A throwaway PostgreSQL cluster for the benchmark scripts, sourced by them (they set PGROOT, an
# empty directory, and PGBIN, the server's bin directory): Debian's postgresql package, initdb as
# the `postgres` user when run as root (it refuses root), loopback TCP on a free port plus a unix
# socket in PGROOT. SYNCHRONOUS_COMMIT (default on) and MAX_CONNECTIONS (default 100) set it up.

# initdb and postgres refuse to run as root: run them as Debian's `postgres` user then.
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start_postgres() {
    PGPORT=$(free_port)
    [ "$(id -u)" = 0 ] && chown postgres: "$PGROOT"
    cd "$PGROOT"
    as_postgres "$PGBIN/initdb" -D "$PGROOT/data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-instructions >/dev/null
    # 100 by default: two pools of 2 workers x 16 threads, their mail processes and the set-up commands.
    cat >"$PGROOT/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGROOT'
max_connections = ${MAX_CONNECTIONS:-100}
synchronous_commit = ${SYNCHRONOUS_COMMIT:-on}
CONF
    as_postgres "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/postgres.log" -w -t 60 start >/dev/null
    cd - >/dev/null
}

stop_postgres() {
    [ -f "$PGROOT/data/postmaster.pid" ] && (cd "$PGROOT" && as_postgres "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate -w stop >/dev/null 2>&1)
    rm -rf "$PGROOT"
}

psql_admin() { "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PGROOT" -p "$PGPORT" -U postgres -d postgres -c "$1"; }

#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for CI and local integration tests.
#
#   bash scripts/ci_postgres.sh start DIR   # initdb + start a server under DIR (an empty dir, e.g.
#                                           # from `mktemp -d`: as root the server's OS user must be
#                                           # able to reach it); writes DIR/env with
#                                           #   export GROUNDSWELL_TEST_POSTGRES_URL=...
#   bash scripts/ci_postgres.sh stop DIR    # stop the server started under DIR (safe to call twice,
#                                           # or when start failed half-way)
#
# What "start" does:
#   1. finds initdb + pg_ctl + postgres: on PATH, else in /usr/lib/postgresql/*/bin (newest
#      version first); if none, installs Debian's `postgresql` package (needs root or sudo) and
#      looks again. Services are kept from starting during that install, so no stray cluster
#      on port 5432 is left running.
#   2. PostgreSQL refuses to run as root: as root it runs the server as the `postgres` OS user
#      if that exists, else creates an unprivileged system user `gs-pgci`; as non-root it runs
#      as yourself.
#   3. initdb DIR/data (superuser `postgres`, trust auth: a local throwaway cluster only),
#      listening on 127.0.0.1 only, on a free TCP port (from 54329 up), unix socket in DIR,
#      fsync off (nothing here is worth keeping).
#   4. creates the database groundswell_test and writes DIR/env.
set -euo pipefail

DB_NAME=groundswell_test
DB_SUPERUSER=postgres
FIRST_PORT=${GROUNDSWELL_CI_PG_PORT:-54329}

log() { echo "[ci_postgres] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Prints the directory holding initdb, pg_ctl and postgres, or returns 1.
find_pg_bindir() {
    local p d
    if p=$(command -v pg_ctl 2>/dev/null) && command -v initdb >/dev/null 2>&1; then
        d=$(dirname "$(readlink -f "$p")")
        if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    fi
    # Debian/Ubuntu keep the server binaries off PATH, one directory per major version.
    for d in $(printf "%s\n" /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

install_postgres() {
    local sudo=""
    if ! is_root; then
        command -v sudo >/dev/null 2>&1 || die "no PostgreSQL server binaries found and not root (no sudo): install the 'postgresql' package"
        sudo="sudo"
    fi
    command -v apt-get >/dev/null 2>&1 || die "no PostgreSQL server binaries found and no apt-get: install PostgreSQL (initdb, pg_ctl) yourself"
    log "no initdb/pg_ctl found: installing Debian package 'postgresql' (apt-get)"
    # Keep the package's own cluster from being started during the install (the usual
    # policy-rc.d trick); only if no policy file is there already, and removed afterwards.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    {
        $sudo apt-get update -q || log "apt-get update failed; trying the install with the lists we have"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
    } >&2 || rc=$?
    if [ "$made_policy" -eq 1 ]; then $sudo rm -f "$policy"; fi
    [ "$rc" -eq 0 ] || die "apt-get install postgresql failed (exit $rc)"
}

# Picks the OS user that runs the server (prints its name).
pick_os_user() {
    if ! is_root; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        if ! id gs-pgci >/dev/null 2>&1; then
            log "creating unprivileged system user gs-pgci"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /bin/sh gs-pgci >&2
        fi
        echo gs-pgci
    fi
}

# Runs a command as $OS_USER, from a directory that user can enter.
as_pg() {
    if ! is_root; then
        (cd "$PG_DIR" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$PG_DIR" && runuser -u "$OS_USER" -- "$@")
    else
        local cmd
        cmd=$(printf '%q ' "$@")
        (cd "$PG_DIR" && su -s /bin/sh "$OS_USER" -c "$cmd")
    fi
}

free_port() {
    python3 - "$FIRST_PORT" <<'PY'
import socket, sys
first = int(sys.argv[1])
for port in range(first, first + 200):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        sys.exit(0)
sys.exit("no free TCP port in %d..%d" % (first, first + 199))
PY
}

cmd_start() {
    PG_DIR=$1
    mkdir -p "$PG_DIR"
    PG_DIR=$(cd "$PG_DIR" && pwd)
    [ -z "$(ls -A "$PG_DIR")" ] || die "$PG_DIR is not empty"

    local bindir
    if ! bindir=$(find_pg_bindir); then
        install_postgres
        bindir=$(find_pg_bindir) || die "still no initdb/pg_ctl after installing postgresql"
    fi
    log "using PostgreSQL binaries in $bindir ($("$bindir/postgres" --version))"

    OS_USER=$(pick_os_user)
    if is_root; then
        chown "$OS_USER" "$PG_DIR"
        chmod 700 "$PG_DIR"
    fi
    # The server's user must be able to reach DIR (mktemp -d parents are 0700 root).
    if is_root && ! as_pg test -x "$PG_DIR" 2>/dev/null; then
        die "$OS_USER cannot enter $PG_DIR: put it under a world-traversable directory such as /tmp"
    fi

    local port
    port=$(free_port)
    log "initdb $PG_DIR/data as OS user $OS_USER (superuser $DB_SUPERUSER, trust auth on localhost)"
    if ! as_pg "$bindir/initdb" -D "$PG_DIR/data" -U "$DB_SUPERUSER" --auth=trust \
            --encoding=UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        die "initdb failed"
    fi
    cat >>"$PG_DIR/data/postgresql.conf" <<CONF

# --- scripts/ci_postgres.sh: throwaway test cluster ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
CONF

    log "starting postgres on 127.0.0.1:$port (log: $PG_DIR/postgres.log)"
    if ! as_pg "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start >&2; then
        cat "$PG_DIR/postgres.log" >&2 || true
        die "pg_ctl start failed"
    fi
    # Remember how to stop it, for `stop`.
    echo "$bindir" >"$PG_DIR/bindir"
    echo "$OS_USER" >"$PG_DIR/os_user"

    log "creating database $DB_NAME"
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$DB_SUPERUSER" "$DB_NAME" >&2

    local url="postgresql+psycopg://$DB_SUPERUSER@127.0.0.1:$port/$DB_NAME"
    printf 'export GROUNDSWELL_TEST_POSTGRES_URL=%q\n' "$url" >"$PG_DIR/env"
    log "ready: GROUNDSWELL_TEST_POSTGRES_URL=$url (written to $PG_DIR/env)"
}

cmd_stop() {
    PG_DIR=$1
    [ -d "$PG_DIR" ] || return 0
    PG_DIR=$(cd "$PG_DIR" && pwd)
    if [ ! -f "$PG_DIR/data/postmaster.pid" ]; then
        return 0
    fi
    local bindir
    if [ -f "$PG_DIR/bindir" ]; then bindir=$(cat "$PG_DIR/bindir"); else bindir=$(find_pg_bindir); fi
    if [ -f "$PG_DIR/os_user" ]; then OS_USER=$(cat "$PG_DIR/os_user"); else OS_USER=$(stat -c %U "$PG_DIR/data"); fi
    log "stopping postgres in $PG_DIR/data"
    as_pg "$bindir/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >&2 \
        || as_pg "$bindir/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >&2 \
        || log "WARNING: could not stop postgres in $PG_DIR/data"
}

case "${1:-}" in
    start) [ $# -eq 2 ] || die "usage: $0 start DIR"; cmd_start "$2" ;;
    stop)  [ $# -eq 2 ] || die "usage: $0 stop DIR"; cmd_stop "$2" ;;
    *) die "usage: $0 start DIR | stop DIR" ;;
esac

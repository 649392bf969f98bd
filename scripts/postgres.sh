#!/usr/bin/env bash
# Start (or reuse) the PostgreSQL server tenantlake's tests and local runs use.
#
#   scripts/postgres.sh          # start if nothing answers on 127.0.0.1:$PGPORT, print the URL
#   scripts/postgres.sh start    # same
#   scripts/postgres.sh url      # print the URL only (does not start anything)
#   scripts/postgres.sh status   # exit 0 if a server answers on 127.0.0.1:$PGPORT
#   scripts/postgres.sh stop     # stop the server this script started (its data dir)
#
# Idempotent and safe to run concurrently (pytest-xdist workers each call it): a lock file
# serialises initdb/start. The last line on stdout is the SQLAlchemy URL
# (postgresql+psycopg://...); progress goes to stderr.
#
# Environment:
#   PGPORT               port to listen on / probe (default 55432)
#   TENANTLAKE_PG_DIR    cluster folder (default /tmp/tenantlake-pg-$PGPORT)
#   TENANTLAKE_PG_DB     database to create (default tenantlake_test)
#
# The cluster listens on 127.0.0.1 only and trusts local TCP connections as user `postgres`:
# it is a throwaway test server, never a production database.
set -euo pipefail

PGPORT="${PGPORT:-55432}"
PGHOST_ADDR="127.0.0.1"
PGDB="${TENANTLAKE_PG_DB:-tenantlake_test}"
PGUSER_NAME="postgres"
DATA_ROOT="${TENANTLAKE_PG_DIR:-/tmp/tenantlake-pg-${PGPORT}}"
DATA_DIR="${DATA_ROOT}/data"
LOG_FILE="${DATA_ROOT}/postgres.log"
LOCK_FILE="/tmp/tenantlake-pg-${PGPORT}.lock"
URL="postgresql+psycopg://${PGUSER_NAME}@${PGHOST_ADDR}:${PGPORT}/${PGDB}"

log() { echo "postgres.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Where the server binaries live: PATH first, then Debian/Ubuntu's versioned folders.
find_bindir() {
    local d
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/pg_ctl" && -x "$d/initdb" && -x "$d/postgres" ]]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# Is anything answering on 127.0.0.1:$PGPORT? pg_isready speaks the protocol; fall back to a
# bare TCP connect when it is not installed.
answering() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT" -t 2
    else
        (exec 3<>"/dev/tcp/${PGHOST_ADDR}/${PGPORT}") 2>/dev/null
    fi
}

# Run a command as the non-root cluster owner (postgres refuses to run as root).
as_owner() {
    if [[ "$(id -u)" == "0" ]]; then
        runuser -u "$PGUSER_NAME" -- "$@"
    else
        "$@"
    fi
}

install_server() {
    [[ "$(id -u)" == "0" ]] || die "no PostgreSQL server binaries found (looked for pg_ctl/initdb \
on PATH and in /usr/lib/postgresql/*/bin); install PostgreSQL (e.g. apt-get install postgresql) \
or run this script as root so it can"
    command -v apt-get >/dev/null 2>&1 || die "no PostgreSQL binaries and no apt-get to install them"
    log "installing PostgreSQL with apt-get (no server binaries found)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2 \
        || die "apt-get install postgresql failed"
}

ensure_owner_user() {
    [[ "$(id -u)" == "0" ]] || return 0
    if ! id -u "$PGUSER_NAME" >/dev/null 2>&1; then
        log "creating system user $PGUSER_NAME (postgres refuses to run as root)"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PGUSER_NAME" \
            || die "could not create the $PGUSER_NAME system user"
    fi
}

# psql against the running server; the maintenance database always exists.
run_psql() {
    local psql="$BINDIR/psql"
    [[ -x "$psql" ]] || psql="$(command -v psql)" || die "psql not found (needed to create ${PGDB})"
    "$psql" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST_ADDR" -p "$PGPORT" -U "$PGUSER_NAME" \
        -d postgres "$@"
}

ensure_database() {
    local exists
    exists="$(run_psql -tA -c "SELECT 1 FROM pg_database WHERE datname = '${PGDB}'")" \
        || die "cannot query the server on ${PGHOST_ADDR}:${PGPORT} (see ${LOG_FILE})"
    if [[ "$exists" != "1" ]]; then
        log "creating database ${PGDB}"
        run_psql -c "CREATE DATABASE \"${PGDB}\"" >&2 || die "could not create database ${PGDB}"
    fi
}

start() {
    if answering; then
        log "a PostgreSQL server already answers on ${PGHOST_ADDR}:${PGPORT}; reusing it"
        # Best effort: a server someone else started may not have our database yet.
        BINDIR="$(find_bindir)" && ensure_database 2>/dev/null || true
        echo "$URL"
        return 0
    fi
    BINDIR="$(find_bindir)" || { install_server; BINDIR="$(find_bindir)" \
        || die "PostgreSQL installed but pg_ctl/initdb still not found"; }
    ensure_owner_user
    mkdir -p "$DATA_ROOT"
    [[ "$(id -u)" == "0" ]] && chown "$PGUSER_NAME" "$DATA_ROOT"
    if [[ ! -s "$DATA_DIR/PG_VERSION" ]]; then
        rm -rf "$DATA_DIR"
        log "initdb ${DATA_DIR}"
        as_owner "$BINDIR/initdb" -D "$DATA_DIR" -U "$PGUSER_NAME" -A trust -E UTF8 \
            --locale=C.UTF-8 --no-sync >"${DATA_ROOT}/initdb.log" 2>&1 \
            || as_owner "$BINDIR/initdb" -D "$DATA_DIR" -U "$PGUSER_NAME" -A trust -E UTF8 \
                --no-sync >"${DATA_ROOT}/initdb.log" 2>&1 \
            || { cat "${DATA_ROOT}/initdb.log" >&2; die "initdb failed"; }
    fi
    # A stale pid file from a killed server blocks pg_ctl start; remove it only when that
    # process is gone.
    if [[ -f "$DATA_DIR/postmaster.pid" ]]; then
        local pid
        pid="$(head -1 "$DATA_DIR/postmaster.pid")"
        if ! kill -0 "$pid" 2>/dev/null; then
            log "removing stale postmaster.pid (pid $pid is gone)"
            rm -f "$DATA_DIR/postmaster.pid"
        fi
    fi
    log "starting PostgreSQL on ${PGHOST_ADDR}:${PGPORT} (log: ${LOG_FILE})"
    as_owner "$BINDIR/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 \
        -o "-c listen_addresses=${PGHOST_ADDR} -p ${PGPORT} -c unix_socket_directories=${DATA_ROOT} -c fsync=off -c max_connections=200" \
        start >&2 9>&- || { tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true; die "pg_ctl start failed"; }
    local i
    for i in $(seq 1 60); do
        answering && break
        sleep 0.5
    done
    answering || { tail -n 40 "$LOG_FILE" >&2; die "server started but does not answer on ${PGHOST_ADDR}:${PGPORT}"; }
    ensure_database
    echo "$URL"
}

stop() {
    if [[ ! -f "$DATA_DIR/postmaster.pid" ]]; then
        log "no server running from ${DATA_DIR}; nothing to stop"
        return 0
    fi
    BINDIR="$(find_bindir)" || die "pg_ctl not found"
    as_owner "$BINDIR/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >&2
}

main() {
    local cmd="${1:-start}"
    case "$cmd" in
        start|stop)
            # Fast path without the lock: a running server is all a caller needs.
            if [[ "$cmd" == "start" ]] && answering; then start; return 0; fi
            exec 9>"$LOCK_FILE"
            flock -w 120 9 || die "timed out waiting for ${LOCK_FILE}"
            "$cmd"
            ;;
        url) echo "$URL" ;;
        status)
            if answering; then log "answering on ${PGHOST_ADDR}:${PGPORT}"; else
                log "nothing answers on ${PGHOST_ADDR}:${PGPORT}"; exit 1; fi
            ;;
        -h|--help|help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' ;;
        *) die "unknown command '$cmd' (use: start, stop, status, url)" ;;
    esac
}

main "$@"

# Sourced by .ci/run: start a throwaway PostgreSQL server (installing the Debian package if
# it is missing) and export STUDYTOOL_TEST_POSTGRES, so the store and study-session tests run
# on PostgreSQL as well as SQLite. The server and its files go away when the shell exits.

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(pg_bin)" ]; then
    echo "ci: installing PostgreSQL (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN="$(pg_bin)"
PG_DIR="$(mktemp -d /tmp/studytool-ci-pg.XXXXXX)"
PG_PORT="${STUDYTOOL_CI_PG_PORT:-54329}"

# initdb refuses to run as root: use the postgres account the package creates.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U studytool >/dev/null
# fsync off: a test server's data is thrown away, and it makes each CREATE DATABASE quick.
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w start \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=localhost -c fsync=off" >/dev/null

stop_postgres() {
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
trap stop_postgres EXIT

export STUDYTOOL_TEST_POSTGRES="postgresql+psycopg://studytool@localhost:$PG_PORT/postgres"
echo "ci: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PG_PORT"

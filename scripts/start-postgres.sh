#!/usr/bin/env bash
# Starts a throw-away PostgreSQL 15 server on loopback for the storage and API suites, and
# prints its URL. PostgreSQL refuses to run as root, so the cluster belongs to a user of its own.
# commit_delay lets one WAL flush serve several commits: every audited read commits an audit
# record, and under concurrency group commit is what keeps that flush from serializing them.
# PG_SERVER_OPTIONS adds server settings, e.g. "-c shared_preload_libraries=pg_stat_statements"
# for the benches' --breakdown.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
PGPORT=${PGPORT:-55432}
PGDATA=${PGDATA:-/tmp/densaulyq-pg}
PGUSER_OS=${PGUSER_OS:-densaulyq}

id -u "$PGUSER_OS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PGUSER_OS"
[ -f "$PGDATA/postmaster.pid" ] && su -s /bin/sh "$PGUSER_OS" -c "$PGBIN/pg_ctl -D $PGDATA -m fast stop" >/dev/null 2>&1 || true
rm -rf "$PGDATA" && mkdir -p "$PGDATA" && chown "$PGUSER_OS" "$PGDATA"
as_pg() { su -s /bin/sh "$PGUSER_OS" -c "$*"; }
as_pg "$PGBIN/initdb -D $PGDATA -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null"
as_pg "$PGBIN/pg_ctl -D $PGDATA -l $PGDATA/server.log -w -o \"-h 127.0.0.1 -p $PGPORT -k $PGDATA -c max_connections=300 -c shared_buffers=512MB -c max_wal_size=2GB -c commit_delay=100 -c commit_siblings=3 ${PG_SERVER_OPTIONS:-}\" start >/dev/null"
echo "postgres://postgres@127.0.0.1:$PGPORT/postgres"

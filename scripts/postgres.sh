#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (the SQL source's tests, Airflow 2.11's metadata database).
# Uses the machine's PostgreSQL (initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin); when there is none and
# this runs as root, installs Debian's `postgresql` first. As root, the cluster belongs to the `postgres` user
# (initdb refuses root). Listens on 127.0.0.1 only, trust authentication, no password.
# Usage:
#   scripts/postgres.sh start DIR [PORT]   start a cluster in DIR (created on first use; default port 54329) and
#                                          print its URI: postgresql://postgres@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop DIR           stop it (nothing when it is not running)
#   scripts/postgres.sh createdb DIR NAME  create database NAME (nothing when it exists)
set -euo pipefail

find_bin() {
    local dir
    if command -v pg_ctl > /dev/null 2>&1 && command -v initdb > /dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return
    fi
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
    done
    return 1
}

BIN="$(find_bin)" || {
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
        echo "==> installing Debian's postgresql" >&2
        apt-get update -qq > /dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null
        BIN="$(find_bin)" || { echo "postgresql installed, but no pg_ctl found" >&2; exit 1; }
    else
        echo "no PostgreSQL server on this machine (initdb/pg_ctl): install Debian's postgresql" >&2
        exit 1
    fi
}

PSQL="$BIN/psql"
[ -x "$PSQL" ] || PSQL="$(command -v psql)"

# as_owner CMD...: run CMD as the cluster's owner (postgres when we are root, ourselves otherwise).
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,12p' "$0" >&2; exit 2; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
data="$dir/data"

case "$cmd" in
    start)
        port="${3:-54329}"
        if [ ! -f "$data/PG_VERSION" ]; then
            [ "$(id -u)" = 0 ] && chown postgres "$dir"
            as_owner "$BIN/initdb" --auth=trust --username=postgres --encoding=UTF8 -D "$data" > "$dir/initdb.log"
        fi
        if ! as_owner "$BIN/pg_ctl" -D "$data" status > /dev/null 2>&1; then
            # fsync off: a test database need not survive a power cut, and it is much faster on a shared disk.
            as_owner "$BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
                -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=200" start > /dev/null \
                || { tail -20 "$dir/server.log" >&2; exit 1; }
        fi
        port="$(sed -n 4p "$data/postmaster.pid")"
        echo "postgresql://postgres@127.0.0.1:$port/postgres"
        ;;
    stop)
        if [ -f "$data/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$data" status > /dev/null 2>&1; then
            as_owner "$BIN/pg_ctl" -D "$data" -m fast -w stop > /dev/null
        fi
        ;;
    createdb)
        name="${3:?createdb needs a database name}"
        port="$(sed -n 4p "$data/postmaster.pid")"
        exists="$(as_owner "$PSQL" -h 127.0.0.1 -p "$port" -U postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = '$name'" postgres)"
        [ "$exists" = 1 ] || as_owner "$PSQL" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE \"$name\"" postgres
        ;;
    *)
        sed -n '2,12p' "$0" >&2
        exit 2
        ;;
esac

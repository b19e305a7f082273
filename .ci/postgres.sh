#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on loopback for tests/test_sweep_postgres.py and tests/test_ablate_shared.py.
# Usage: eval "$(.ci/postgres.sh)"   (prints `export SAILFISH_TEST_POSTGRES_URL=...` on stdout;
# everything else goes to stderr). Needs root for apt-get, or postgresql already installed.
# Stop it with: pg_ctl -D "$SAILFISH_TEST_POSTGRES_DIR/data" stop (or let the machine go).
set -euo pipefail
PORT="${SAILFISH_TEST_POSTGRES_PORT:-54329}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi
BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
DIR="$(mktemp -d /tmp/sailfish-pg.XXXXXX)"
# initdb refuses to run as root: the cluster belongs to the unprivileged `postgres` user when we are root.
RUN=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$DIR"
    RUN=(su postgres -s /bin/sh -c)
else
    RUN=(sh -c)
fi
"${RUN[@]}" "'$BIN/initdb' -D '$DIR/data' -U sailfish --auth=trust -E UTF8 >/dev/null" >&2
"${RUN[@]}" "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/log' -w -o \"-c listen_addresses=127.0.0.1 -p $PORT -k '$DIR'\" start" >&2
"$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U sailfish sailfish_test >&2
echo "export SAILFISH_TEST_POSTGRES_URL=postgresql+psycopg2://sailfish@127.0.0.1:$PORT/sailfish_test"
echo "export SAILFISH_TEST_POSTGRES_DIR=$DIR"
echo "export SAILFISH_TEST_POSTGRES_BIN=$BIN"

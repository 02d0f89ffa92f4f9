#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL cluster (127.0.0.1:5432) on another port of this machine, for the
# read-replica tests and for trying DATABASE_REPLICA_URL (docs/scaling.md).
#
#   scripts/replica.sh start [PORT]    copy the primary with pg_basebackup (first time) and start it as a hot
#                                      standby streaming from the primary; PORT defaults to 5433
#   scripts/replica.sh stop [PORT]     stop it (the copy stays; start again catches up)
#   scripts/replica.sh remove [PORT]   stop it and delete the copy
#
# The standby has the primary's roles and databases, so DATABASE_REPLICA_URL is DATABASE_URL with the port
# changed. The primary must accept replication connections from 127.0.0.1: a trust line for them is added to its
# pg_hba.conf (as for its other local connections) when none is there.
set -euo pipefail

action=${1:-start}
port=${2:-5433}
primary_port=${PRIMARY_PORT:-5432}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=/var/lib/postgresql/gridmgmt-replica-$port

say() { printf '==> %s\n' "$*"; }
as_postgres() { if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi; }
primary_sql() { as_postgres psql -X -q -At -h 127.0.0.1 -p "$primary_port" -d postgres -c "$1"; }
running() { as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; }

allow_replication() {
  if [[ $(primary_sql "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND error IS NULL") == 0 ]]; then
    hba=$(primary_sql "SHOW hba_file")
    say "Allowing replication connections from 127.0.0.1 in $hba"
    printf '\n# streaming replicas on this machine (scripts/replica.sh)\nhost replication all 127.0.0.1/32 trust\n' >>"$hba"
    primary_sql "SELECT pg_reload_conf()" >/dev/null
  fi
}

copy_primary() {
  say "Copying the primary (127.0.0.1:$primary_port) into $dir"
  mkdir -p "$dir" && chown postgres:postgres "$dir" && chmod 700 "$dir"
  as_postgres pg_basebackup -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir" -X stream -R -c fast
  # Debian keeps a cluster's configuration outside its data directory: the copy gets its own.
  as_postgres tee "$dir/postgresql.conf" >/dev/null <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
hot_standby = on
max_connections = 100
shared_buffers = 128MB
CONF
  as_postgres tee "$dir/pg_hba.conf" >/dev/null <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
  as_postgres touch "$dir/pg_ident.conf"
}

case $action in
  start)
    if running; then say "Replica on port $port is running"; exit 0; fi
    allow_replication
    [[ -f $dir/standby.signal ]] || { rm -rf "$dir"; copy_primary; }
    say "Starting the replica on 127.0.0.1:$port"
    as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
    for _ in $(seq 1 60); do
      [[ $(as_postgres psql -X -At -h 127.0.0.1 -p "$port" -d postgres -c "SELECT pg_is_in_recovery()" 2>/dev/null) == t ]] && exit 0
      sleep 0.5
    done
    echo "the replica on port $port did not come up as a standby; see $dir/server.log" >&2
    exit 1
    ;;
  stop)
    if running; then as_postgres "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null; fi
    ;;
  remove)
    if running; then as_postgres "$bin/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null; fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: scripts/replica.sh start|stop|remove [PORT]" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# PostgreSQL: the machine runs it; this script checks it, starts a stopped local cluster, and
# ends application connections for fault tests.
# Usage: postgres.sh ensure|status
#        postgres.sh terminate <application_name>   prints how many backends it ended
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name=postgres
addr="$(host_port "$EDA_POSTGRES_URL")"

answers() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -d "$EDA_POSTGRES_URL" -t 2
  else
    port_open "$addr"
  fi
}

ensure() {
  if answers; then
    say "$name: up at $EDA_POSTGRES_URL"
    return 0
  fi
  [[ "$EDA_POSTGRES_URL" == "$DEFAULT_POSTGRES_URL" ]] ||
    die "$name: EDA_POSTGRES_URL=$EDA_POSTGRES_URL does not answer (only the local default is started here)"
  command -v pg_ctlcluster >/dev/null ||
    die "$name: not running and not installed: apt-get install postgresql (15), then allow trust auth for 127.0.0.1 and create the database test"
  say "$name: not answering, starting the local cluster"
  local version
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for "$name" 60 answers || exit 1
  say "$name: up at $EDA_POSTGRES_URL"
}

status() {
  if answers; then say "$name: up    $EDA_POSTGRES_URL"; else say "$name: down  $EDA_POSTGRES_URL"; return 3; fi
}

# Ends the connections of one application (by application_name), never this session's own.
terminate() {
  local app="${1:?usage: postgres.sh terminate <application_name>}"
  command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client)"
  psql "$EDA_POSTGRES_URL" -X -q -At -v ON_ERROR_STOP=1 -v app="$app" <<'SQL'
select count(pg_terminate_backend(pid)) from pg_stat_activity
where application_name = :'app' and pid <> pg_backend_pid();
SQL
}

case "${1:-}" in
  ensure) ensure ;;
  status) status ;;
  terminate) terminate "${2:-}" ;;
  *) die "usage: postgres.sh ensure|status|terminate <application_name>" ;;
esac

#!/usr/bin/env bash
# The processes of gridmgmt (README, "Processes"): the web server, the task queue's worker and its scheduler.
#
#   scripts/run.sh            all three on this machine: worker and scheduler in the background, the web server
#                             in the foreground; stopping it (Ctrl-C) stops them all
#   scripts/run.sh web|worker|beat      one of them in the foreground, e.g. each on its own machine
#   scripts/run.sh restart worker|beat  restart one started by `scripts/run.sh`, leaving the others running
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
WORKERS=${WORKERS:-3}
WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-2}
state=.make/run
mkdir -p "$state"

web() {
  exec .venv/bin/gunicorn gridmgmt.wsgi --config gridmgmt/gunicorn_conf.py --bind "$HOST:$PORT" \
    --workers "$WORKERS" --threads 4 --timeout 120 --access-logfile - --error-logfile -
}
worker() { exec .venv/bin/celery -A gridmgmt worker --loglevel INFO --concurrency "$WORKER_CONCURRENCY" --without-gossip --without-mingle; }
beat() { exec .venv/bin/celery -A gridmgmt beat --loglevel INFO --schedule "$state/beat-schedule"; }

start_background() {  # name: its output prefixed with [name]; its pid (run.sh execs into celery) kept
  ( echo "$BASHPID" >"$state/$1.pid"; exec "$0" "$1" ) > >(sed -u "s/^/[$1] /") 2>&1 &
}

stop() {  # name
  local pid
  pid=$(cat "$state/$1.pid" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"  # Celery's warm shutdown: the running task finishes or goes back to the queue
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$state/$1.pid"
}

case ${1:-all} in
  web) web ;;
  worker) worker ;;
  beat) beat ;;
  restart)
    [[ ${2:-} == worker || ${2:-} == beat ]] || { echo "usage: scripts/run.sh restart worker|beat" >&2; exit 2; }
    stop "$2"
    start_background "$2"
    echo "restarted $2 (pid $(cat "$state/$2.pid"))"
    ;;
  all)
    start_background worker
    start_background beat
    trap 'stop worker; stop beat' EXIT
    trap 'exit 0' INT TERM
    .venv/bin/gunicorn gridmgmt.wsgi --config gridmgmt/gunicorn_conf.py --bind "$HOST:$PORT" \
      --workers "$WORKERS" --threads 4 --timeout 120 --access-logfile - --error-logfile - &
    wait $!
    ;;
  *)
    echo "usage: scripts/run.sh [web|worker|beat|restart worker|beat]" >&2
    exit 2
    ;;
esac

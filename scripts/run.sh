#!/usr/bin/env bash
# Run the whole newsroom on this machine: Daphne, a Celery worker, Celery beat and the stream follower under one
# supervisor, in the foreground. Ctrl-C stops them all. Safe to run again.
set -euo pipefail

is_loopback() {
  case "$1" in
    localhost | ::1 | "[::1]" | 127.*) return 0 ;;
    *) return 1 ;;
  esac
}

# DEBUG shows tracebacks and settings to whoever can reach the server: on by default only when
# nobody but this machine can, and refused outright on any other address.
debug_for_host() {
  local host="$1" debug="${2:-}"
  if is_loopback "$host"; then
    echo "${debug:-true}"
  elif [[ "${debug,,}" =~ ^(1|true|yes|on)$ ]]; then
    echo "DEBUG=$debug is only allowed on a loopback address, not LIVEBLOG_HOST=$host" >&2
    return 1
  else
    echo "${debug:-false}"
  fi
}

main() {
  cd "$(dirname "$0")/.."
  source scripts/venv.sh requirements.txt

  export LIVEBLOG_PORT="${LIVEBLOG_PORT:-8000}"
  export LIVEBLOG_HOST="${LIVEBLOG_HOST:-127.0.0.1}"
  DEBUG="$(debug_for_host "$LIVEBLOG_HOST" "${DEBUG:-}")"
  export DEBUG
  # Daphne trusts X-Forwarded-For only when a proxy of ours sets it; otherwise any client could
  # pick its own address (and dodge the login lockout).
  if [[ "${BEHIND_PROXY:-false}" =~ ^(1|true|yes|on)$ ]]; then
    export LIVEBLOG_DAPHNE_PROXY_HEADERS="--proxy-headers"
  else
    export LIVEBLOG_DAPHNE_PROXY_HEADERS=""
  fi
  export LIVEBLOG_RUN_DIR="${LIVEBLOG_RUN_DIR:-$PWD/var/run}"
  mkdir -p "$LIVEBLOG_RUN_DIR"

  python -m liveblog_site.datadir
  python manage.py migrate --noinput
  python manage.py bootstrap_demo
  echo "Open http://${LIVEBLOG_HOST}:${LIVEBLOG_PORT}/  (Ctrl-C stops everything)"
  exec python -m supervisor.supervisord -n -c liveblog_site/supervisord.conf
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi

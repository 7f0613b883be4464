#!/usr/bin/env bash
# Run the whole newsroom on this machine: Daphne, a Celery worker and Celery beat under one
# supervisor, in the foreground. Ctrl-C stops them all. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh requirements.txt

export DEBUG="${DEBUG:-true}"
export LIVEBLOG_PORT="${LIVEBLOG_PORT:-8000}"
export LIVEBLOG_HOST="${LIVEBLOG_HOST:-127.0.0.1}"
export LIVEBLOG_RUN_DIR="${LIVEBLOG_RUN_DIR:-$PWD/var/run}"
mkdir -p "$LIVEBLOG_RUN_DIR"

python manage.py migrate --noinput
python manage.py bootstrap_demo
echo "Open http://${LIVEBLOG_HOST}:${LIVEBLOG_PORT}/  (Ctrl-C stops everything)"
exec python -m supervisor.supervisord -n -c liveblog_site/supervisord.conf

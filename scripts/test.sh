#!/usr/bin/env bash
# Install what the tests need, start what is missing, and run the whole suite:
# first on the embedded default (SQLite, no servers), then the scale-out tests on Redis + PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v sox >/dev/null || need_apt+=(sox)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v flac >/dev/null || need_apt+=(flac)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v pg_ctlcluster >/dev/null || need_apt+=(postgresql)
command -v msgfmt >/dev/null || need_apt+=(gettext)  # makemessages and the catalogs' check (tests/i18n)
command -v npm >/dev/null || need_apt+=(npm)  # axe-core for the accessibility audit (package.json)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "Installing system packages: ${need_apt[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

source scripts/venv.sh requirements-dev.txt
source scripts/services.sh
# axe-core (package.json, pinned by package-lock.json): the browser tests' accessibility audit loads it into pages.
[ -f node_modules/axe-core/axe.min.js ] || npm ci --no-audit --no-fund

export LIVEBLOG_DATA_DIR="$PWD/var/test"
export HTTPS=false
unset DATABASE_URL REDIS_URL DEEPGRAM_API_KEY MAVERA_API_KEY SPEECH_BACKEND DRAFTER DEBUG
python -m liveblog_site.datadir

echo "== lint"
ruff check .
ruff format --check .
echo "== layers (.importlinter)"
lint-imports
echo "== migrations"
python manage.py makemigrations --check --dry-run

run_pytest() {
  set +e
  python -m pytest "$@"
  local status=$?
  set -e
  if [ $status -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; return 1; fi
  return $status
}

echo "== embedded default (SQLite, no servers)"
run_pytest -m "not scaleout" "$@"

echo "== scale-out (Redis + PostgreSQL)"
DATABASE_URL="postgres://postgres@127.0.0.1:5432/liveblog" REDIS_URL="redis://127.0.0.1:6379/0" \
  run_pytest -m "scaleout or portable" "$@"

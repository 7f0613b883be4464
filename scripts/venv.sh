# Sourced: make .venv with Python 3.11+ and install the given requirements file when it changed.
requirements="$1"
python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Python 3.11 or newer is needed (found $("$python_bin" --version))" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv || { echo "python3-venv is missing: apt-get install python3-venv" >&2; exit 1; }
fi
# shellcheck disable=SC1091
source .venv/bin/activate
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$requirements")"
if [ ! -f "$stamp" ]; then
  python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  touch "$stamp"
fi

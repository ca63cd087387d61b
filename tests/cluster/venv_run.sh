#!/bin/sh
# Runs a Python suite in a virtual environment with the packages of a requirements file, from PyPI
# through pip (the environment is made once and reused while the requirements are unchanged):
#   venv_run.sh VENV_DIR REQUIREMENTS SCRIPT [ARGS...]
set -eu
venv=$1 requirements=$2 script=$3
shift 3
stamp="$venv/.requirements"
mkdir -p "$(dirname "$venv")"
# Suites that share an environment may start together (ctest -j): one builds it, the others wait.
exec 9>"$venv.lock"
flock 9
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
flock -u 9
exec 9>&-
exec "$venv/bin/python" "$script" "$@"

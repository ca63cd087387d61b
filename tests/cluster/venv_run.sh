#!/bin/sh
# Runs a Python suite in a virtual environment with the packages of a requirements file, from PyPI
# through pip (the environment is made once and reused while the requirements are unchanged):
#   venv_run.sh VENV_DIR REQUIREMENTS SCRIPT [ARGS...]
set -eu
venv=$1 requirements=$2 script=$3
shift 3
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
exec "$venv/bin/python" "$script" "$@"

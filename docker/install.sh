#!/bin/sh
# Install BTS-bot into a new virtual environment the way the container image does (Dockerfile, build
# stage) and the container test does (tests/ops/test_container.py): the locked dependencies exactly,
# never resolved again (--no-deps), checked for consistency, then the project itself (not editable).
#
# usage: docker/install.sh VENV_DIR SOURCE_DIR      (PYTHON picks the interpreter, default python3)
set -eu
venv="$1"
src="$2"
"${PYTHON:-python3}" -m venv "$venv"
pip="$venv/bin/python -m pip --disable-pip-version-check --no-input"
# requirements.lock has no hashes (pip freeze); --no-deps keeps pip from adding anything unlocked.
$pip install --no-cache-dir --no-deps -r "$src/requirements.lock"
$pip check  # the lock is complete: every dependency of every locked package is in it
$pip install --no-cache-dir --no-deps "$src"

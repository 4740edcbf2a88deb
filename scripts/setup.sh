#!/usr/bin/env bash
# Create .venv (once) and install facecolab with its dev tools into it. Idempotent.
# Source it (". scripts/setup.sh") to stay in the environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -r requirements-dev.txt
python -m pip install -q --no-deps -e .

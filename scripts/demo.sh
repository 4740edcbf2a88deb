#!/usr/bin/env bash
# The main job on a fresh machine (README, first command): set up .venv, train briefly on the
# bundled sample, then parse a real photo with the shipped LFW Part Labels model.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
python -m facecolab demo --out outputs/demo "$@"

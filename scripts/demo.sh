#!/usr/bin/env bash
# The main job on a fresh machine (README, first command): set up .venv, train briefly on the
# bundled sample (a smoke test), then run every shipped model on real photos; it ends with
# one page to open, outputs/demo/index.html (with --out DIR: DIR/index.html).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
python -m facecolab demo --out outputs/demo "$@"

#!/usr/bin/env bash
# The test command (README, "Run the tests"): set up .venv, then the whole suite with temp
# dirs for Keras/matplotlib/Jupyter state. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
tmp=$(mktemp -d)
export KERAS_HOME="$tmp/keras" MPLCONFIGDIR="$tmp/mpl" JUPYTER_CONFIG_DIR="$tmp/jupyter" \
  JUPYTER_DATA_DIR="$tmp/jupyter-data" JUPYTER_RUNTIME_DIR="$tmp/jupyter-run" \
  IPYTHONDIR="$tmp/ipython" TF_CPP_MIN_LOG_LEVEL=2 MPLBACKEND=Agg
python -m pytest -q "$@"

#!/usr/bin/env bash
# The shipped weights on the oldest TensorFlow/Keras pair that requirements.txt admits (its
# ">=" floors, e.g. tensorflow 2.16.1 + keras 3.3.3): a separate .venv-oldest holding exactly
# that pair and the rest of requirements.txt, facecolab installed without touching them, then
# the tests that load every shipped model and check its predictions (tests/test_weights_compat.py),
# the portable format itself (tests/test_portable.py) and one tiny training run (the shared
# confusion-matrix metrics, wall-time checkpoints, resume). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
floor() { sed -n "s/^$1>=\([0-9][0-9.]*\).*/\1/p" requirements.txt; }
tf=$(floor tensorflow)
keras=$(floor keras)
if [ -z "$tf" ] || [ -z "$keras" ]; then
  echo "requirements.txt: no tensorflow>=X / keras>=Y floor to test" >&2
  exit 1
fi
venv=.venv-oldest
export KERAS_HOME="$(mktemp -d)/keras" TF_CPP_MIN_LOG_LEVEL=2
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q -r requirements.txt "tensorflow==$tf" "keras==$keras" \
  "pytest>=8,<10"
"$venv/bin/python" -m pip install -q --no-deps -e .
"$venv/bin/python" - "$tf" "$keras" <<'EOF'
import sys

import keras
import tensorflow as tf

found = (tf.__version__, keras.__version__)
if found != tuple(sys.argv[1:]):
    sys.exit(f"expected tensorflow/keras {sys.argv[1:]}, found {found}")
print(f"oldest admitted pair: tensorflow {found[0]}, keras {found[1]}")
EOF
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_weights_compat.py \
  tests/test_portable.py tests/test_train.py::test_tiny_run_writes_every_artefact "$@"

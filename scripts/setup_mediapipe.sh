#!/usr/bin/env bash
# MediaPipe in its own virtual environment, .cache/mediapipe-venv (mediapipe pins its protobuf
# and numpy, so it never shares TensorFlow's): the client tests/test_deploy.py runs our .tflite
# exports through (ImageSegmenter), and the peer benchmarks/bench_inference.py times. The wheel
# is fetched once with pip download --no-deps into .cache/mediapipe (where the benchmark looks
# for it too); idempotent: an existing venv that imports mediapipe is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.10.21
venv=.cache/mediapipe-venv
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import mediapipe" 2>/dev/null; then
  echo "scripts/setup_mediapipe.sh: $venv is ready"
  exit 0
fi
mkdir -p .cache/mediapipe
if ! ls .cache/mediapipe/mediapipe-$version-*.whl >/dev/null 2>&1; then
  python3 -m pip download -q --no-deps -d .cache/mediapipe "mediapipe==$version"
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q .cache/mediapipe/mediapipe-$version-*.whl
"$venv/bin/python" -c "import mediapipe; print('scripts/setup_mediapipe.sh: mediapipe', mediapipe.__version__)"

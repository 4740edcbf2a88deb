#!/usr/bin/env bash
# Train the shipped models of projects 1-5 side by side on one lent GPU machine (an H200
# with JAX but no TensorFlow: Keras runs on its JAX backend), within one 10-minute command.
# Expects, carried beside the repository: .whl/ (keras, namex, optree wheels), .devdata/ (the
# bundle of scripts/gpu/bundle.py pack, plus imagenet/ with the MobileNetV2 notop files).
# Writes to $OUT: one float16 .npz of weights per run and records.tgz (8 files).
# Every run is the plain documented command, python -m facecolab train --config C --run-dir R,
# plus a time limit that only matters if the machine is slower than planned.
# EXTRA: more overrides for every run (a dry run uses "epochs=1 steps_per_epoch=2").
set -uo pipefail
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
CONFIGS=${CONFIGS:-"p2_unet_celebamask_mini p4_unet_celebamask_helen p3_deeplab_celebamask_face8
  p3_pspnet_celebamask_face8 p5_portrait_shen_mobilenetv2 p5_portrait_shen_fast
  p1_segnet_celebamask_face"}
LIMIT_MIN=${LIMIT_MIN:-6.5}   # training time of each run
DEADLINE=${DEADLINE:-530}     # seconds after start: stragglers are stopped, results harvested
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"

if [ -d .whl ]; then python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1; fi
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false \
  TF_CPP_MIN_LOG_LEVEL=2 MPLBACKEND=Agg KERAS_HOME=/tmp/keras MPLCONFIGDIR=/tmp/mpl
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" || exit 1
python3 scripts/gpu/bundle.py unpack .devdata data || exit 1
mkdir -p ../shared/weights/imagenet && cp .devdata/imagenet/*.h5 ../shared/weights/imagenet/
echo "data ready at $(elapsed) s"

mkdir -p runs
for name in $CONFIGS; do
  mkdir -p "runs/$name"
  (
    began=$(date +%s)
    python3 -m facecolab train --config "configs/$name.json" --run-dir "runs/$name" \
      "callbacks.time_limit_minutes=$LIMIT_MIN" ${EXTRA:-} > "runs/$name/train.log" 2>&1
    echo "exit $? after $(( $(date +%s) - began )) s" > "runs/$name/wall_time.txt"
  ) &
done
while [ -n "$(jobs -r)" ] && [ "$(elapsed)" -lt "$DEADLINE" ]; do
  sleep 5
  if [ $(( $(elapsed) % 60 )) -lt 5 ]; then
    echo "$(elapsed) s: $(jobs -r | wc -l) running, load $(cut -d' ' -f1 /proc/loadavg)," \
      "GPU $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)"
  fi
done
if [ -n "$(jobs -r)" ]; then echo "deadline: stopping"; pkill -TERM -f "facecolab train"; fi
wait
echo "training done at $(elapsed) s"
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader

for name in $CONFIGS; do
  printf '%s: ' "$name"; tail -c 400 "runs/$name/train.log" | tr '\r' '\n' | tail -n 2 | head -c 300; echo
  cat "runs/$name/wall_time.txt" 2>/dev/null; grep -c "" "runs/$name/history.csv" 2>/dev/null
done
python3 scripts/gpu/bundle.py harvest runs "$OUT"
echo "all done at $(elapsed) s"

#!/usr/bin/env bash
# Re-measure every figure of the README's results table: each shipped model on its validation
# split at the original resolution (probabilities resized back), without and with flip TTA
# (and Monte-Carlo averaging for the Bayesian SegNet), plus project 4's f1_score.py on saved
# PNG predictions. Needs the real data in ../shared/data (research use, not in this repo).
# Writes outputs/evaluate/<model>-val[-tta|-mc50]/metrics.json; prints each table.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
run() { echo; echo "\$ $*"; "$@" --no-progress; }
evaluate() { # name data extra-args...
  local name=$1 data=$2; shift 2
  run python -m facecolab evaluate --model "$name" --data "$data" --split val "$@"
}
for name in p1_segnet_celebamask_face p2_unet_celebamask_mini p3_pspnet_celebamask_face8 \
  p4_unet_celebamask_helen; do
  evaluate "$name" "$DATA/celebamask_mini" --out "outputs/evaluate/$name-val"
  evaluate "$name" "$DATA/celebamask_mini" --tta flip --out "outputs/evaluate/$name-val-tta"
done
evaluate p1_segnet_celebamask_face "$DATA/celebamask_mini" --mc-samples 50 \
  --out outputs/evaluate/p1_segnet_celebamask_face-val-mc50
evaluate p1_segnet_celebamask_face "$DATA/celebamask_mini" --mc-samples 50 --tta flip \
  --out outputs/evaluate/p1_segnet_celebamask_face-val-mc50-tta
# Project 4 as the seed scored it: PNG predictions, then f1_score.py against the labels.
python data_prep/load_data.py --dataset celebamask_hq --root "$DATA/celebamask_mini" \
  --relabel helen --size 512 --out data/celebamask_hq_512_helen --no-progress
run python -m facecolab predict --model p4_unet_celebamask_helen --tta flip \
  --input data/celebamask_hq_512_helen --split val --out outputs/predict/p4_val
python f1_score.py --pred outputs/predict/p4_val --gt data/celebamask_hq_512_helen --split val
for name in p5_portrait_shen_mobilenetv2 p5_portrait_shen_a035 p5_portrait_shen_fast \
  p5_portrait_people_fast p5_portrait_people_mobilenetv2; do
  if python -c "import sys, json; sys.exit('$name' not in json.load(open('weights/manifest.json')))"; then
    evaluate "$name" "$DATA/portrait_shen" --dataset eg1800 --out "outputs/evaluate/$name-val"
    evaluate "$name" "$DATA/portrait_shen" --dataset eg1800 --tta flip \
      --out "outputs/evaluate/$name-val-tta"
  fi
done
# The portrait models' full-body (CCP) and everyday-framing figures (MediaPipe beside them:
# the same script without --no-mediapipe, after bash scripts/setup_mediapipe.sh).
echo; echo "\$ python benchmarks/eval_portrait_framing.py --data $DATA --no-mediapipe"
python benchmarks/eval_portrait_framing.py --data "$DATA" --no-mediapipe \
  --models p5_portrait_people_fast p5_portrait_people_mobilenetv2

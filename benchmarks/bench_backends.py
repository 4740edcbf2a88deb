"""The fastest Keras backend for a model's train step: JAX fp32, JAX bf16, PyTorch.

Each variant runs in its own process (the Keras backend is fixed at import): the config's
model built as training builds it (``workflows.train.build_training_model``, random encoder
weights), then the median of ``--steps`` ``train_on_batch`` calls on one batch already on the
device after ``--warmup`` untimed ones. PyTorch runs channels-last where it is installed
(``torch.backends.cudnn`` picks NHWC kernels for Keras' channels-last tensors); a backend
that is not installed is recorded as unavailable. Record the winner in the config's
``backend_hint``; weights stay portable (``.weights.npz``)::

    python benchmarks/bench_backends.py --json benchmarks/results/backends_cpu.json
    python benchmarks/bench_backends.py --config p5_portrait_shen_mobilenetv2 --size 256
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {"jax-fp32": ("jax", False), "jax-bf16": ("jax", True), "torch": ("torch", False)}

CHILD = """
import json, statistics, sys, time
import keras, numpy as np
from facecolab.config import TrainingConfig, load_config
from facecolab.workflows.train import build_training_model, on_accelerator

name, size, batch, steps, warmup, mixed = sys.argv[1:7]
size, batch, steps, warmup = int(size), int(batch), int(steps), int(warmup)
config = load_config(name, [f"data.image_size=[{size}, {size}]", f"batch_size={batch}"])
if "encoder_weights" in config["model"]["options"]:
    config["model"]["options"]["encoder_weights"] = None
if mixed == "1":
    keras.config.set_dtype_policy("mixed_bfloat16")
settings = TrainingConfig.from_dict(config)
model = build_training_model(settings, 2)
rng = np.random.default_rng(0)
x = keras.ops.convert_to_tensor(rng.random((batch, size, size, 3), np.float32))
y = keras.ops.convert_to_tensor(rng.integers(0, 2, (batch, size, size)).astype("int32"))
times = []
for step in range(warmup + steps):
    start = time.perf_counter()
    model.train_on_batch(x, y)  # returns host numbers: the step has finished
    if step >= warmup:
        times.append(time.perf_counter() - start)
print(json.dumps({"seconds_per_step": statistics.median(times),
                  "device": "accelerator" if on_accelerator() else "cpu"}))
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="p5_portrait_shen_mobilenetv2", help="shipped config")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the records to this file")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    records = []
    for variant, (backend, mixed) in VARIANTS.items():
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-c", CHILD, f"{args.config}.json", str(args.size)]
        command += [str(args.batch), str(args.steps), str(args.warmup), "1" if mixed else "0"]
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        record = {"variant": variant, "backend": backend, "config": args.config}
        record |= {"image_size": args.size, "batch_size": args.batch}
        if result.returncode == 0:
            record |= json.loads(result.stdout.strip().splitlines()[-1])
            record["images_per_second"] = args.batch / record["seconds_per_step"]
        else:
            tail = (result.stderr.strip().splitlines() or ["failed"])[-1]
            record["unavailable"] = tail[:200]
        records.append(record)
        print(json.dumps(record))
    if args.json:
        args.json.write_text(json.dumps(records, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

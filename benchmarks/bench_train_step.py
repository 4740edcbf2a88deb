"""Training-step time on this machine for every project config's model and loss.

Each config in ``configs/`` (the legacy ``config_train_ADAM.json`` duplicates project 1 and is
left out unless named) is built exactly as training builds it,
``facecolab.workflows.train.build_training_model`` (optimizer, loss, metrics, ``jit_compile`` off on
CPU), at one size and batch for all (default 256², batch 8), with random encoder weights
(the step costs the same) and random images and labels. The step time is the median of a
few ``train_on_batch`` calls after warm-up::

    python benchmarks/bench_train_step.py --out bench_train_step.json
    python benchmarks/bench_train_step.py --configs configs/p4_unet_helen.json --steps 5

Prints a markdown table with the load average (other work on the machine slows every step)
and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _report import load_average, markdown_table, report_run, time_train_steps  # noqa: E402

from facecolab.config import load_config  # noqa: E402

LEGACY_DUPLICATES = {"config_train_ADAM.json"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        nargs="*",
        type=Path,
        help="config files (default: every configs/*.json but the legacy one)",
    )
    parser.add_argument("--size", type=int, default=256, help="image side for every model")
    parser.add_argument("--batch", type=int, default=8, help="batch size for every model")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (tracing)")
    parser.add_argument("--out", help="write the results as JSON to this file")
    return parser


def default_configs() -> list[Path]:
    return [
        path
        for path in sorted((REPO / "configs").glob("*.json"))
        if path.name not in LEGACY_DUPLICATES
    ]


def time_config(path: Path, size: int, batch: int, steps: int, warmup: int) -> dict:
    """Build the config's training model at ``size``² and time its step on random data."""
    import keras

    from facecolab.data.specs import get_spec
    from facecolab.measures.losses import build_loss
    from facecolab.workflows.train import build_training_model

    config = load_config(path, [f"data.image_size=[{size}, {size}]", f"batch_size={batch}"])
    if "encoder_weights" in config["model"]["options"]:
        config["model"]["options"]["encoder_weights"] = None  # no download; same step cost
    num_classes = get_spec(config["data"]["dataset"]).num_classes
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    build_start = time.perf_counter()
    model = build_training_model(config, num_classes)
    build_seconds = time.perf_counter() - build_start
    warmup_seconds, times = time_train_steps(model, batch, size, num_classes, warmup, steps)
    step = statistics.median(times)
    return {
        "config": path.name,
        "model": config["model"]["name"],
        "loss": "+".join(build_loss(config["loss"]).terms),
        "classes": num_classes,
        "params_m": round(model.count_params() / 1e6, 2),
        "build_s": round(build_seconds, 1),
        "first_steps_s": round(warmup_seconds, 1),
        "step_s": round(step, 3),
        "step_times_s": [round(t, 3) for t in times],
        "images_per_s": round(batch / step, 2),
    }


def markdown(rows: list[dict]) -> str:
    return markdown_table(
        ["config", "model", "loss", "classes", "params (M)", "step (s)", "images/s"],
        "{config} | {model} | {loss} | {classes} | {params_m:.2f} | {step_s:.2f} "
        "| {images_per_s:.1f}",
        rows,
        text_columns=3,
    )


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    paths = args.configs or default_configs()
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: config file not found")
    load_before = load_average()
    rows = []
    for path in paths:
        rows.append(time_config(path, args.size, args.batch, args.steps, args.warmup))
        print(
            f"{path.name}: {rows[-1]['step_s']:.2f} s/step (load {load_average():.1f})",
            file=sys.stderr,
            flush=True,
        )
    settings = {
        "benchmark": "training step per project config",
        "image_size": args.size,
        "batch": args.batch,
        "steps": args.steps,
        "warmup": args.warmup,
    }
    headline = (
        f"training step at {args.size}², batch {args.batch}, median of {args.steps} steps "
        f"after {args.warmup} warm-up"
    )
    report_run(settings, rows, markdown(rows), headline, args.out, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())

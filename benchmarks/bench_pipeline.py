"""Input-pipeline throughput (images/s) beside the training step it has to feed.

Writes a procedurally drawn CelebAMask-HQ sample, prepares it at 256² (and at 320² for the
resize row), then in one run measures:

* ``facecolab.data.tf_pipeline.make_dataset`` throughput without caching (every image decoded
again),
  with no augmentation, with project 2's augmentations, with all of them, and with a resize
  on top;
* the training step of project 2's model (``configs/p2_unet_celebamask_hq.json``: U-Net base
  16 with batch norm, 19 classes) at the same size and batch, as images/s = batch / step time.

The pipeline keeps up when its images/s exceed the step's::

    python benchmarks/bench_pipeline.py --out bench_pipeline.json

Prints a markdown table (with the load average, since other work on the machine slows both)
and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _report import load_average, markdown_table, report_run, time_train_steps  # noqa: E402

from facecolab.config import load_config  # noqa: E402
from facecolab.data.prepare import PrepareOptions, prepare  # noqa: E402
from facecolab.data.sample import write_sample  # noqa: E402

TRAIN_CONFIG = REPO / "configs" / "p2_unet_celebamask_hq.json"
EVERY_AUGMENTATION = {
    "hflip": True,
    "scale": [0.8, 1.25],
    "rotate": 15,
    "brightness": 0.2,
    "jpeg_quality": [30, 95],
    "jpeg_prob": 0.5,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=64, help="images in the sample")
    parser.add_argument("--size", type=int, default=256, help="training size (square)")
    parser.add_argument("--batch", type=int, default=8, help="batch size of both sides")
    parser.add_argument("--passes", type=int, default=3, help="passes over the sample per row")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed training steps first")
    parser.add_argument("--out", help="write the results as JSON to this file")
    return parser


def pipeline_rows(
    prepared: Path, resize_source: Path, size: int, batch: int, passes: int, project_augment: dict
) -> list[dict]:
    """Time a pass-through of each pipeline variant (the first batch, which includes
    tracing, is left out)."""
    from facecolab.data.augment import AugmentConfig
    from facecolab.data.prepare import split_files
    from facecolab.data.tf_pipeline import make_dataset

    variants = [
        ("decode", prepared, {}),
        ("decode + project 2 augmentations", prepared, project_augment),
        ("decode + every augmentation", prepared, EVERY_AUGMENTATION),
        (f"decode + resize 320²→{size}² + every augmentation", resize_source, EVERY_AUGMENTATION),
    ]
    rows = []
    for label, folder, augment in variants:
        dataset = make_dataset(
            folder,
            "train",
            batch_size=batch,
            image_size=(size, size),
            augment_config=AugmentConfig.from_dict(augment),
            cache=False,
            repeat=True,
        )
        batches = max(1, passes * len(split_files(folder, "train")[0]) // batch)
        iterator = iter(dataset)
        next(iterator)
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "what": f"pipeline: {label}",
                "images": batches * batch,
                "seconds": round(seconds, 3),
                "images_per_s": round(batches * batch / seconds, 1),
            }
        )
    return rows


def train_step_row(config: dict, size: int, batch: int, steps: int, warmup: int) -> dict:
    """Median time of ``train_on_batch`` for the config's compiled model on random data."""
    import keras

    from facecolab.data.specs import get_spec
    from facecolab.workflows.train import build_training_model

    num_classes = get_spec(config["data"]["dataset"]).num_classes
    keras.utils.set_random_seed(0)
    model = build_training_model(config, num_classes)
    _, times = time_train_steps(model, batch, size, num_classes, warmup, steps)
    step = statistics.median(times)
    return {
        "what": f"train step: {config['model']['name']} "
        f"{json.dumps(config['model']['options'])}, batch {batch}",
        "images": batch * steps,
        "seconds": round(sum(times), 3),
        "step_s": round(step, 3),
        "images_per_s": round(batch / step, 1),
    }


def markdown(rows: list[dict]) -> str:
    step = rows[-1]["images_per_s"]
    return markdown_table(
        ["what", "images/s", "× training step"],
        "{what} | {images_per_s:.1f} | {per_step:.1f}",
        [{**r, "per_step": r["images_per_s"] / step} for r in rows],
        text_columns=1,
    )


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    config = load_config(TRAIN_CONFIG, [f"data.image_size=[{args.size}, {args.size}]"])
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        tmp = Path(tmp)
        write_sample("celebamask_hq", tmp / "raw", count=args.count, size=2 * args.size)
        for side in (args.size, 320):
            prepare(
                "celebamask_hq",
                tmp / "raw",
                tmp / f"prepared{side}",
                PrepareOptions(size=(side, side)),
                progress=False,
            )
        rows = pipeline_rows(
            tmp / f"prepared{args.size}",
            tmp / "prepared320",
            args.size,
            args.batch,
            args.passes,
            config["augment"],
        )
    rows.append(train_step_row(config, args.size, args.batch, args.steps, args.warmup))
    settings = {
        "benchmark": "pipeline vs training step",
        "image_size": args.size,
        "batch": args.batch,
        "train_config": str(TRAIN_CONFIG.relative_to(REPO)),
    }
    headline = f"pipeline vs training step at {args.size}², batch {args.batch}"
    report_run(settings, rows, markdown(rows), headline, args.out, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())

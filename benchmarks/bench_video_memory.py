"""Memory of the webcam/video loop over a long stream: resident memory sampled while
``facecolab.apps.inference.run`` segments and composites ``--frames`` generated frames.

The frames are small (``--height`` × ``--width``, a bright square moving over a dark
background, generated one at a time so the source itself holds nothing); the model is the
proposed fast portrait variant of ``bench_inference.py`` (untrained: memory does not depend
on the weights) at ``--input``², run by each of ``--backends`` through
``facecolab.modelfiles.runner``
with temporal smoothing on. RSS is sampled every ``--every`` frames; the table shows the
samples, and the JSON the growth after the warm-up sample (the first one after frame
``--every``) and the least-squares slope in MB per 1000 frames::

    python benchmarks/bench_video_memory.py --out benchmarks/results/video_memory.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _report import load_average, markdown_table, report_run, rss_mb  # noqa: E402
from bench_inference import PORTRAIT_STEPS  # noqa: E402

PROPOSED = list(PORTRAIT_STEPS.values())[-1]


def moving_square(count: int, height: int, width: int, samples: dict, every: int):
    """Yield ``count`` RGB frames; record the RSS (MB) in ``samples`` every ``every`` frames."""
    side = height // 2
    for index in range(count):
        if index % every == 0:
            samples[index] = rss_mb()
        frame = np.full((height, width, 3), 30, np.uint8)
        left = index % (width - side)
        frame[height // 4 : height // 4 + side, left : left + side] = 220
        yield frame
    samples[count] = rss_mb()


def runner_for(backend: str, size: int, folder: Path):
    """The proposed fast portrait model at ``size``² as a Keras or float TFLite runner."""
    from facecolab.modelfiles.export import export_tflite
    from facecolab.modelfiles.runner import keras_runner, load_runner
    from facecolab.models import build_model

    model = build_model("mobilenetv2_unet", (size, size, 3), 2, **PROPOSED)
    if backend == "keras":
        return keras_runner(model)
    return load_runner(export_tflite(model, folder / "fast.tflite"))


def stream(backend: str, args, folder: Path) -> dict:
    from facecolab.apps.inference import run

    runner = runner_for(backend, args.input, folder)
    samples: dict[int, float] = {}
    frames = moving_square(args.frames, args.height, args.width, samples, args.every)
    summary = run(runner, frames, mode="blur", smoothing=0.5)
    counts = np.array(sorted(samples))
    rss = np.array([samples[c] for c in counts])
    warm = counts >= args.every
    slope = np.polyfit(counts[warm], rss[warm], 1)[0] * 1000
    return {
        "backend": backend,
        "frames": summary.frames,
        "fps": summary.fps,
        "rss_mb": {int(c): round(float(m), 1) for c, m in zip(counts, rss, strict=True)},
        "growth_after_warmup_mb": float(rss[-1] - rss[warm][0]),
        "slope_mb_per_1000_frames": float(slope),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1000, help="RSS sample interval (frames)")
    parser.add_argument("--height", type=int, default=96)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--input", type=int, default=128, help="model input side")
    parser.add_argument("--backends", nargs="+", default=["tflite", "keras"])
    parser.add_argument("--out", help="write the results as JSON here")
    return parser


def main(argv=None) -> list[dict]:
    args = build_parser().parse_args(argv)
    load_before = load_average()
    with tempfile.TemporaryDirectory() as folder:
        rows = [stream(backend, args, Path(folder)) for backend in args.backends]
    samples = sorted(rows[0]["rss_mb"])
    table = markdown_table(
        ["frame", *(f"RSS {row['backend']} (MB)" for row in rows)],
        " | ".join(["{frame}", *(f"{{{row['backend']}}}" for row in rows)]),
        [{"frame": c} | {row["backend"]: row["rss_mb"][c] for row in rows} for c in samples],
        text_columns=0,
    )
    settings = {
        "benchmark": "webcam loop resident memory over a long stream",
        "frames": args.frames,
        "frame_size": [args.height, args.width],
        "model": {"mobilenetv2_unet": PROPOSED, "input": args.input},
        "mode": "blur, smoothing 0.5",
    }
    growth = ", ".join(
        f"{row['backend']}: {row['growth_after_warmup_mb']:+.1f} MB after frame {args.every}, "
        f"{row['slope_mb_per_1000_frames']:+.2f} MB/1000 frames, {row['fps']:.0f} FPS"
        for row in rows
    )
    report_run(settings, rows, table, f"{args.frames} frames; {growth}", args.out, load_before)
    return rows


if __name__ == "__main__":
    main()

"""Batch-1 CPU inference speed of every registry model, as Keras, as TFLite (float32,
float16, dynamic-range int8, full int8) and as ONNX (ONNX Runtime, float32), against
MediaPipe's selfie segmenter in the same run.

Rows, in this order (MediaPipe is timed first and last, and compared with the faster of the
two, so load changes during the run count against our models, not against the peer):

1. MediaPipe's selfie segmenter: ``selfie_segmentation.tflite`` from inside the
   ``mediapipe==0.10.21`` wheel (``pip download --no-deps`` into ``.cache/mediapipe``, model
   checked against ``MEDIAPIPE_MODEL_SHA256``), run by ``mediapipe_selfie.py`` in its own
   virtual environment ``.cache/mediapipe-venv`` (created on first use; mediapipe pins its
   protobuf, so it never shares TensorFlow's environment).
2. Project 5's portrait model, from issue 7's "fast portrait" point (``mobilenetv2_unet``,
   alpha 0.35, decoder 32/24/16/16, final 8) through one builder speed option at a time
   (``PORTRAIT_STEPS``; untrained weights time the same), then every portrait model of
   ``weights/manifest.json`` (classes background, person) whose file is present.
3. Every ``facecolab.models`` registry model at ``--size`` (2 classes, random weights).

Each model runs through ``facecolab.modelfiles.runner`` as the apps run it: Keras
``predict_on_batch``;
TFLite from ``facecolab.modelfiles.export`` on the interpreter with ``--threads`` threads (portrait
rows also at each of ``--portrait-threads``); ONNX from ``facecolab.modelfiles.onnx_export``
(opset 13) on ONNX Runtime's CPU provider with ``--threads`` intra-op threads (skipped, with a
row saying why, without the extra ``facecolab[onnx]``). "model" times the forward pass on a ready
``float32 (1, h, w, 3)`` input. Portrait rows also time "end to end": P(person) of a
``uint8 (size, size, 3)`` image as the portrait apps compute it (``Runner.probabilities``
letterboxed, the person channel alone back at the image size:
``apps.inference.portrait_probability``), the same work as MediaPipe's
``segment`` (its confidence mask) on its 256² image; FPS and the ratio to MediaPipe use that
time (registry rows: the model time). Median
of ``--repeats`` calls after ``--warmup``; a row slower than ``--max-seconds`` in all stops
early once it has 30 runs, and the "runs" column says so. Every model runs in its own
process, so "memory" is that process's peak RSS above its RSS after importing TensorFlow
(MediaPipe: after importing mediapipe), and "cores busy" is its CPU seconds per wall second
while timed.

    python benchmarks/bench_inference.py --out benchmarks/results/inference.json
    python benchmarks/bench_inference.py --models mobilenetv2_unet --repeats 50   # quick look
    python benchmarks/bench_inference.py --quick   # one portrait step, one registry model
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from _report import (  # noqa: E402
    load_average,
    markdown_table,
    measure_latency,
    peak_rss_mb,
    report_run,
    rss_mb,
)

MEDIAPIPE = "mediapipe==0.10.21"
MEDIAPIPE_MODEL = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
MEDIAPIPE_MODEL_SHA256 = "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"
CACHE = REPO / ".cache"
MEDIAPIPE_VENV = CACHE / "mediapipe-venv"
QUANTIZE = ("none", "float16", "dynamic", "int8")
CALIBRATION_IMAGES = 16
PORTRAIT_CLASSES = ["background", "person"]

FAST = {"alpha": 0.35, "decoder_filters": [32, 24, 16, 16], "final_filters": 8}
# Issue 7's fast portrait point, then one speed option of mobilenetv2_unet at a time; the
# last step is the proposed fast variant.
PORTRAIT_STEPS = {
    "fast (issue 7)": FAST,
    "+ no full-res stage": FAST | {"final_filters": 0},
    "+ decoder ends at stride 4": FAST | {"final_filters": 0, "decoder_filters": [32, 24, 16]},
    "+ one conv per stage": FAST
    | {"final_filters": 0, "decoder_filters": [32, 24, 16], "decoder_convs": 1},
    "+ separable convs": FAST
    | {
        "final_filters": 0,
        "decoder_filters": [32, 24, 16],
        "decoder_convs": 1,
        "separable": True,
    },
    "+ bilinear upsampling (proposed fast)": FAST
    | {
        "final_filters": 0,
        "decoder_filters": [32, 24, 16],
        "decoder_convs": 1,
        "separable": True,
        "upsampling": "bilinear",
    },
}


# --- MediaPipe ----------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mediapipe_model() -> tuple[Path, Path]:
    """``(wheel, model)``: the wheel fetched with ``pip download --no-deps`` (once) and the
    selfie model extracted from it, checked against ``MEDIAPIPE_MODEL_SHA256``."""
    folder = CACHE / "mediapipe"
    wheels = sorted(folder.glob("mediapipe-0.10.21-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", folder, MEDIAPIPE],
            check=True,
        )
        wheels = sorted(folder.glob("mediapipe-0.10.21-*.whl"))
    model = folder / Path(MEDIAPIPE_MODEL).name
    if not model.exists():
        with zipfile.ZipFile(wheels[0]) as wheel:
            model.write_bytes(wheel.read(MEDIAPIPE_MODEL))
    if sha256(model) != MEDIAPIPE_MODEL_SHA256:
        raise SystemExit(f"{model}: sha256 {sha256(model)}, expected {MEDIAPIPE_MODEL_SHA256}")
    return wheels[0], model


def mediapipe_python(wheel: Path) -> Path:
    """The Python of MediaPipe's own virtual environment, created with the fetched wheel on
    first use."""
    python = MEDIAPIPE_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", MEDIAPIPE_VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", wheel], check=True)
    return python


def time_mediapipe(python: Path, model: Path, args) -> dict:
    result = run_json(
        [python, HERE / "mediapipe_selfie.py", "--model", model, "--size", args.size]
        + ["--warmup", args.warmup, "--repeats", args.repeats]
    )
    return {
        "model": f"MediaPipe selfie segmenter ({result['mediapipe']})",
        "variant": "selfie_segmentation.tflite",
        "input": f"{args.size}×{args.size}",
        "backend": "mediapipe",
        "threads": "default",
        "model_ms": None,
        "end_to_end_ms": result["median_ms"],
        "end_to_end_p90_ms": result["p90_ms"],
        "runs": result["runs"],
        "cpu_cores_busy": result["cpu_cores_busy"],
        "memory_mb": result["rss_over_import_mb"],
        "file_mb": model.stat().st_size / 1e6,
    }


# --- our models (each in a worker process) ------------------------------------------------


def run_json(command) -> dict:
    """Run ``command`` and parse the JSON object on its last stdout line."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(args) -> dict:
    """``--worker keras``: build or load the entry, time it in Keras, write its TFLite and
    ONNX conversions; ``--worker tflite`` / ``--worker onnx``: time one TFLite / ONNX file.
    Prints one JSON object."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    from facecolab.apps.inference import portrait_probability
    from facecolab.modelfiles.runner import keras_runner, model_inputs, onnx_runner, tflite_runner

    tf.config.set_visible_devices([], "GPU")  # CPU figures even where a GPU exists
    baseline = rss_mb()
    if args.worker == "tflite":
        runner = tflite_runner(args.file, args.threads)
    elif args.worker == "onnx":
        runner = onnx_runner(args.file, args.threads)
    else:
        model = load_entry(json.loads(args.entry), args.size)
        runner = keras_runner(model)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    ready = model_inputs([image], runner.input_size)
    budget = (args.warmup, args.repeats, args.max_seconds)
    row = {
        "input": "×".join(map(str, runner.input_size)),
        "model": measure_latency(lambda: runner.forward(ready), *budget),
        "end_to_end": None,
    }
    if args.end_to_end:  # P(person) as the portrait apps compute it (one pass)
        row["end_to_end"] = measure_latency(lambda: portrait_probability(runner, image), *budget)
    row["memory_mb"] = peak_rss_mb() - baseline
    if args.worker == "keras":
        row["params_m"] = model.count_params() / 1e6
        row["tflite"] = convert_all(model, Path(args.file), args.quantize)
        row["onnx"] = convert_onnx(model, Path(args.file)) if not args.no_onnx else None
    print(json.dumps(row))
    return row


def load_entry(entry: dict, size: int):
    """The ``keras.Model`` of an entry: a manifest name, or a builder name with options."""
    if "manifest" in entry:
        from facecolab.modelfiles.load import load_model_any
        from facecolab.modelfiles.manifest import pretrained_path

        return load_model_any(pretrained_path(entry["manifest"]))
    from bench_models import benchmark_size

    from facecolab.models import build_model

    side = benchmark_size(entry["builder"], size)
    return build_model(entry["builder"], (side, side, 3), 2, **entry["options"])


def convert_all(model, folder: Path, modes) -> list[dict]:
    """One ``.tflite`` per mode in ``folder``; a mode that does not convert gets its error."""
    from facecolab.data.sample import render_face
    from facecolab.modelfiles.export import calibration_inputs, to_tflite
    from facecolab.modelfiles.runner import model_input_size

    size = model_input_size(model)
    faces = (render_face(0, index, size)[0] for index in range(CALIBRATION_IMAGES))
    calibration = calibration_inputs(faces, size)
    converted = []
    for mode in modes:
        path = folder / f"{mode}.tflite"
        try:
            path.write_bytes(to_tflite(model, mode, calibration))
            converted.append({"quantize": mode, "path": str(path)})
        except ValueError as error:
            converted.append({"quantize": mode, "error": str(error)})
    return converted


def convert_onnx(model, folder: Path) -> dict:
    """``model.onnx`` in ``folder`` (the batch-1 model, as the TFLite rows), or the error."""
    from facecolab.modelfiles.export import batch_one, quiet
    from facecolab.modelfiles.onnx_export import to_onnx

    path = folder / "model.onnx"
    try:
        with quiet():
            path.write_bytes(to_onnx(batch_one(model)))
    except (ImportError, ValueError) as error:
        return {"error": str(error)}
    return {"path": str(path)}


def worker_command(args, kind: str, end_to_end: bool, **options) -> list:
    command = [sys.executable, Path(__file__), "--worker", kind, "--size", args.size]
    command += ["--warmup", args.warmup, "--repeats", args.repeats]
    command += ["--max-seconds", args.max_seconds] + (["--end-to-end"] if end_to_end else [])
    for name, value in options.items():
        command += [f"--{name}", *(value if isinstance(value, list) else [value])]
    return command + (["--no-onnx"] if args.no_onnx else [])


def time_entry(
    entry: dict, args, float_threads: list[int], scratch: Path, end_to_end: bool
) -> list[dict]:
    """The Keras row and the TFLite rows of one entry (conversion failures as rows too):
    float32 at each of ``float_threads``, quantised at ``args.threads``."""
    folder = Path(tempfile.mkdtemp(dir=scratch))
    options = {"entry": json.dumps(entry), "file": folder, "quantize": args.quantize}
    keras_row = run_json(worker_command(args, "keras", end_to_end, **options))
    base = {"model": entry["model"], "variant": entry["variant"], "input": keras_row["input"]}
    rows = [base | flatten(keras_row, "keras", "—", keras_row["params_m"])]
    for converted in keras_row["tflite"]:
        backend = f"tflite {converted['quantize']}"
        if "error" in converted:
            rows.append(base | {"backend": backend, "error": converted["error"]})
            continue
        for count in float_threads if converted["quantize"] == "none" else [args.threads]:
            command = worker_command(
                args, "tflite", end_to_end, file=converted["path"], threads=count
            )
            row = run_json(command)
            size = Path(converted["path"]).stat().st_size / 1e6
            rows.append(base | flatten(row, backend, count, file_mb=size))
    converted = keras_row.get("onnx")
    if converted and "error" in converted:
        rows.append(base | {"backend": "onnxruntime", "error": converted["error"]})
    elif converted:
        command = worker_command(
            args, "onnx", end_to_end, file=converted["path"], threads=args.threads
        )
        size = Path(converted["path"]).stat().st_size / 1e6
        rows.append(base | flatten(run_json(command), "onnxruntime", args.threads, file_mb=size))
    print(f"{entry['model']} {entry['variant']}: done", file=sys.stderr, flush=True)
    return rows


def flatten(row: dict, backend: str, threads, params_m=None, file_mb=None) -> dict:
    """A worker's result as a table row; CPU use and run count from the end-to-end timing
    when there is one, else from the model timing."""
    headline = row["end_to_end"] or row["model"]
    return {
        "backend": backend,
        "threads": threads,
        "params_m": params_m,
        "model_ms": row["model"]["median_ms"],
        "model_p90_ms": row["model"]["p90_ms"],
        "end_to_end_ms": row["end_to_end"] and row["end_to_end"]["median_ms"],
        "runs": headline["runs"],
        "cpu_cores_busy": headline["cpu_cores_busy"],
        "memory_mb": row["memory_mb"],
        "file_mb": file_mb,
    }


def entries(args) -> tuple[list[dict], list[dict]]:
    """``(portrait entries, registry entries)`` to time."""
    from facecolab.modelfiles.manifest import default_weights_dir, read_manifest

    portrait = [
        {"model": "mobilenetv2_unet", "variant": label, "builder": "mobilenetv2_unet"}
        | {"options": options}
        for label, options in PORTRAIT_STEPS.items()
    ]
    for name, entry in sorted(read_manifest().items()):
        present = (default_weights_dir() / entry["file"]).is_file()
        if entry.get("class_names") == PORTRAIT_CLASSES and present and entry["sha256"]:
            portrait.append({"model": name, "variant": "weights/manifest.json", "manifest": name})
    registry = [
        {"model": name, "variant": "registry default", "builder": name, "options": {}}
        for name in args.models
    ]
    return portrait, registry


# --- report -------------------------------------------------------------------------------


def add_ratios(rows: list[dict], mediapipe_ms: float) -> None:
    """FPS and its ratio to MediaPipe's from the end-to-end time, else the model time."""
    for row in rows:
        milliseconds = row.get("end_to_end_ms") or row.get("model_ms")
        if milliseconds:
            row["fps"] = 1000 / milliseconds
            row["vs_mediapipe"] = mediapipe_ms / milliseconds


def cell(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def display(row: dict) -> dict:
    """A row's table cells (a conversion failure says why in the time column)."""
    if "error" in row:
        reason = row["error"].split(": ", 1)[-1][:70]
        cells = dict.fromkeys(("threads", "e2e", "fps", "ratio", "runs", "cores", "mem", "mb"), "—")
        return row | cells | {"ms": f"not converted: {reason}"}
    return row | {
        "ms": cell(row.get("model_ms"), ".2f"),
        "e2e": cell(row["end_to_end_ms"], ".2f"),
        "fps": cell(row.get("fps"), ".0f"),
        "ratio": cell(row.get("vs_mediapipe"), ".2f") + "×",
        "runs": str(row["runs"]),
        "cores": cell(row["cpu_cores_busy"], ".1f"),
        "mem": cell(row["memory_mb"], ".0f"),
        "mb": cell(row.get("file_mb"), ".2f"),
    }


def markdown(rows: list[dict]) -> str:
    return markdown_table(
        [
            "model",
            "variant",
            "input",
            "backend",
            "threads",
            "model (ms)",
            "end to end (ms)",
            "FPS",
            "× MediaPipe FPS",
            "runs",
            "cores busy",
            "memory (MB)",
            "file (MB)",
        ],
        "`{model}` | {variant} | {input} | {backend} | {threads} | {ms} | {e2e} | {fps} | "
        "{ratio} | {runs} | {cores} | {mem} | {mb}",
        [display(row) for row in rows],
        text_columns=5,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", help="registry models (default: all)")
    parser.add_argument("--size", type=int, default=256, help="input height and width")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=90.0,
        help="stop a slow row's timing after this long once it has 30 runs (default 90)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="TFLite and ONNX Runtime threads (default 2)"
    )
    parser.add_argument(
        "--portrait-threads",
        type=int,
        nargs="*",
        default=[1, 2],
        help="TFLite float threads of the portrait rows (default 1 2)",
    )
    parser.add_argument("--quantize", nargs="*", default=list(QUANTIZE), choices=QUANTIZE)
    parser.add_argument("--no-portrait", action="store_true", help="registry models only")
    parser.add_argument("--no-registry", action="store_true", help="portrait models only")
    parser.add_argument("--no-onnx", action="store_true", help="no ONNX Runtime rows")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a check that every backend runs: the proposed fast portrait step and the shipped "
        "portrait models, one registry model (mobilenetv2_unet unless --models), float "
        "TFLite only, 5 warm-up and 20 timed runs",
    )
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--worker", choices=("keras", "tflite", "onnx"), help=argparse.SUPPRESS)
    parser.add_argument("--entry", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--end-to-end", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> list[dict]:
    args = build_parser().parse_args(argv)
    if args.worker:
        return [worker(args)]
    from facecolab.models import MODELS

    if args.quick:
        args.models = args.models or ["mobilenetv2_unet"]
        args.quantize, args.portrait_threads = ["none"], [args.threads]
        args.warmup, args.repeats = 5, 20
    args.models = args.models or sorted(MODELS)
    load_before = load_average()
    wheel, model = mediapipe_model()
    python = mediapipe_python(wheel)
    portrait, registry = entries(args)
    if args.quick:
        portrait = [
            entry for entry in portrait if "proposed" in entry["variant"] or "manifest" in entry
        ]
    portrait = [] if args.no_portrait else portrait
    registry = [] if args.no_registry else registry
    first = time_mediapipe(python, model, args)
    rows = [first]
    with tempfile.TemporaryDirectory(prefix="bench_inference_") as scratch:
        for entry in portrait:
            rows += time_entry(entry, args, args.portrait_threads, Path(scratch), True)
        for entry in registry:
            rows += time_entry(entry, args, [args.threads], Path(scratch), False)
    last = time_mediapipe(python, model, args)
    rows.append(last)
    add_ratios(rows, min(first["end_to_end_ms"], last["end_to_end_ms"]))
    settings = {
        "benchmark": "batch-1 CPU inference vs MediaPipe selfie segmenter",
        "image_size": args.size,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "tflite_threads": args.threads,
        "onnxruntime_threads": None if args.no_onnx else args.threads,
        "mediapipe_wheel": wheel.name,
        "mediapipe_wheel_sha256": sha256(wheel),
        "mediapipe_model_sha256": MEDIAPIPE_MODEL_SHA256,
        "max_seconds": args.max_seconds,
        "ratio": "MediaPipe end-to-end ms (faster of its two runs) / the row's end-to-end ms "
        "(registry rows: model ms)",
    }
    headline = (
        f"batch 1 at {args.size}², median of {args.repeats} runs after {args.warmup}; "
        f"MediaPipe {first['end_to_end_ms']:.2f} / {last['end_to_end_ms']:.2f} ms (first / last)"
    )
    report_run(settings, rows, markdown(rows), headline, args.out, load_before)
    return rows


if __name__ == "__main__":
    main()

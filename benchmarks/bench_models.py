"""Benchmark the model zoo: parameters, FLOPs and CPU forward time of every registry model.

FLOPs come from TensorFlow's profiler (``float_operation``) over the frozen inference graph
of one image: a multiply and an add count as two, so convolutions contribute 2 × MACs. Ops
with no registered FLOP count (resize, scatter, max-pool-with-argmax) add nothing, so the
figures are a slight undercount for the PSP / DeepLab / SegNet layers that use them.

Forward time: batch 1, ``tf.function(jit_compile=False)`` (XLA slows CPU inference), median of
``--repeats`` timed calls after ``--warmup`` untimed ones.

    python benchmarks/bench_models.py --out bench.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _report import markdown_table, report, time_calls  # noqa: E402
from tensorflow.python.framework.convert_to_constants import (  # noqa: E402
    convert_variables_to_constants_v2,
)

from facecolab.models import MODELS, build_model  # noqa: E402

# Models that cannot take the requested size get the nearest size they accept.
SIZE_RULES = {"sm_pspnet": 48}  # segmentation-models' PSPNet: multiples of 48


def benchmark_size(name: str, size: int) -> int:
    """``size`` rounded up to a multiple the model accepts."""
    multiple = SIZE_RULES.get(name, 1)
    return -(-size // multiple) * multiple


def count_flops(forward, input_shape) -> int:
    """Float operations of one call of ``forward`` on a batch-1 input of ``input_shape``."""
    concrete = forward.get_concrete_function(tf.TensorSpec((1, *input_shape), tf.float32))
    graph_def = convert_variables_to_constants_v2(concrete).graph.as_graph_def()
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        profile = tf.compat.v1.profiler.profile(graph, cmd="op", options=options)
    return int(profile.total_float_ops)


def time_forward(forward, input_shape, warmup: int, repeats: int) -> float:
    """Median wall time in milliseconds of ``forward`` on one random image."""
    image = tf.constant(np.random.default_rng(0).random((1, *input_shape), dtype=np.float32))

    def call():
        forward(image).numpy()

    time_calls(call, warmup)
    return statistics.median(time_calls(call, repeats)) * 1000


def benchmark_model(name: str, size: int, num_classes: int, warmup: int, repeats: int) -> dict:
    """Parameters, GFLOPs and median CPU forward milliseconds of registry model ``name``."""
    side = benchmark_size(name, size)
    input_shape = (side, side, 3)
    model = build_model(name, input_shape=input_shape, num_classes=num_classes)

    @tf.function(jit_compile=False)
    def forward(images):
        return model(images, training=False)

    return {
        "model": name,
        "input": f"{input_shape[0]}×{input_shape[1]}",
        "output_channels": int(model.output_shape[-1]),
        "params_m": model.count_params() / 1e6,
        "gflops": count_flops(forward, input_shape) / 1e9,
        "cpu_forward_ms": time_forward(forward, input_shape, warmup, repeats),
    }


def markdown(rows: list[dict]) -> str:
    """Rows as a markdown table (the README's model table)."""
    return markdown_table(
        ["model", "input", "params (M)", "GFLOPs", "CPU forward (ms, batch 1)"],
        "`{model}` | {input} | {params_m:.2f} | {gflops:.2f} | {cpu_forward_ms:.0f}",
        rows,
        text_columns=2,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=sorted(MODELS), choices=sorted(MODELS))
    parser.add_argument("--size", type=int, default=256, help="input height and width")
    parser.add_argument("--num-classes", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: TF default)")
    parser.add_argument("--out", help="write the results as JSON here")
    return parser


def main(argv=None) -> list[dict]:
    args = build_parser().parse_args(argv)
    tf.config.set_visible_devices([], "GPU")  # CPU figures even where a GPU exists
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    rows = []
    for name in args.models:
        rows.append(benchmark_model(name, args.size, args.num_classes, args.warmup, args.repeats))
        print(f"{name}: done", flush=True)
    environment = {
        "tensorflow": tf.__version__,
        "cpu_count": os.cpu_count(),
        "flops": "TF profiler float_operation, frozen graph, batch 1",
    }
    report(markdown(rows), {"environment": environment, "models": rows}, args.out)
    return rows


if __name__ == "__main__":
    main()

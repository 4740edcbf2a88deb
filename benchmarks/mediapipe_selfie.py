"""Time MediaPipe's selfie segmenter the way ``bench_inference.py`` times our models.

Runs inside MediaPipe's own virtual environment (mediapipe pins its own protobuf, so it never
shares one with TensorFlow); ``bench_inference.py`` creates that environment and calls this
script in a subprocess. The model runs in MediaPipe's ``ImageSegmenter`` (its own TFLite
runtime with XNNPACK and the custom ops the selfie model needs, its default thread count),
in image mode on one ``uint8 (256, 256, 3)`` RGB image: image in, confidence mask out, the
same work as ``Runner.probabilities`` on a 256² image. Timing, memory and CPU use come from
``_report`` (the same functions as ours). Prints one JSON object::

    .cache/mediapipe-venv/bin/python benchmarks/mediapipe_selfie.py \
        --model .cache/mediapipe/selfie_segmentation.tflite
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import measure_latency, peak_rss_mb, rss_mb  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="selfie_segmentation.tflite")
    parser.add_argument("--size", type=int, default=256, help="image height and width")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=200)
    return parser


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import BaseOptions, vision

    baseline = rss_mb()
    options = vision.ImageSegmenterOptions(
        base_options=BaseOptions(model_asset_path=args.model),
        running_mode=vision.RunningMode.IMAGE,
        output_confidence_masks=True,
        output_category_mask=False,
    )
    image = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    picture = mp.Image(image_format=mp.ImageFormat.SRGB, data=image)
    with vision.ImageSegmenter.create_from_options(options) as segmenter:

        def call():
            return segmenter.segment(picture).confidence_masks[0].numpy_view()

        shape = call().shape
        result = measure_latency(call, args.warmup, args.repeats)
    result |= {
        "mediapipe": mp.__version__,
        "output_shape": list(shape),
        "peak_rss_mb": peak_rss_mb(),
        "rss_over_import_mb": peak_rss_mb() - baseline,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

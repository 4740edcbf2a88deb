"""Run MediaPipe Tasks' ImageSegmenter on images: the client side of tests/test_deploy.py.

Runs in MediaPipe's own virtual environment (mediapipe pins its protobuf and numpy, so it
never shares TensorFlow's), imports nothing of facecolab:

    python mediapipe_segmenter.py MODEL.tflite IMAGES.npz OUT.npz

IMAGES.npz holds ``uint8 (H, W, 3)`` RGB arrays; OUT.npz gets, under the same keys, the
category mask ``uint8 (H, W)`` and ``<key>_confidence``: the confidence masks stacked
``float32 (H, W, C)``. The last stdout line is a JSON object: mediapipe's version and the
labels the segmenter read from the model's metadata.
"""

from __future__ import annotations

import json
import sys

import mediapipe as mp
import numpy as np
from mediapipe.tasks import python as tasks
from mediapipe.tasks.python import vision


def main(argv=None) -> int:
    model, images_file, out = (argv or sys.argv[1:])[:3]
    options = vision.ImageSegmenterOptions(
        base_options=tasks.BaseOptions(model_asset_path=model),
        running_mode=vision.RunningMode.IMAGE,
        output_category_mask=True,
        output_confidence_masks=True,
    )
    results = {}
    with (
        vision.ImageSegmenter.create_from_options(options) as segmenter,
        np.load(images_file) as images,
    ):
        labels = list(segmenter.labels)
        for key in images.files:
            pixels = np.ascontiguousarray(images[key])
            result = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels))
            results[key] = result.category_mask.numpy_view().copy()
            results[f"{key}_confidence"] = np.stack(
                [mask.numpy_view() for mask in result.confidence_masks], axis=-1
            )
    np.savez(out, **results)
    print(json.dumps({"mediapipe": mp.__version__, "labels": labels}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

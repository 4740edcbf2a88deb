"""MediaPipe's selfie segmenter on a list of photos: one person-probability mask per photo.

Runs inside MediaPipe's own virtual environment (``bench_inference.mediapipe_python``), as
``mediapipe_selfie.py`` does; ``eval_portrait_framing.py`` calls it in a subprocess. Each
photo goes through ``ImageSegmenter`` in image mode at its own size (MediaPipe resizes to its
256² input and the confidence mask back); the mask is written as ``OUT/<index>.npy``
(``float32 (H, W)``, P(person))::

    .cache/mediapipe-venv/bin/python benchmarks/mediapipe_selfie_masks.py \
        --model .cache/mediapipe/selfie_segmentation.tflite --list photos.txt --out masks/
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="selfie_segmentation.tflite")
    parser.add_argument("--list", required=True, help="a text file, one photo path a line")
    parser.add_argument("--out", required=True, help="folder for <index>.npy masks")
    args = parser.parse_args(argv)
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import BaseOptions, vision
    from PIL import Image

    options = vision.ImageSegmenterOptions(
        base_options=BaseOptions(model_asset_path=args.model),
        running_mode=vision.RunningMode.IMAGE,
        output_confidence_masks=True,
        output_category_mask=False,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [line for line in Path(args.list).read_text().splitlines() if line]
    with vision.ImageSegmenter.create_from_options(options) as segmenter:
        for index, path in enumerate(paths):
            with Image.open(path) as image:
                pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
            picture = mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels)
            mask = segmenter.segment(picture).confidence_masks[0].numpy_view()
            np.save(out / f"{index}.npy", np.asarray(mask, np.float32).reshape(pixels.shape[:2]))


if __name__ == "__main__":
    main()

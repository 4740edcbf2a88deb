"""The face detector's model file: MediaPipe's BlazeFace short-range TFLite model.

``weights/face_detection_short_range.tflite`` (Apache-2.0, from the ``mediapipe==0.10.21``
wheel; licence beside it) is the ``weights/manifest.json`` entry :data:`DETECTOR_NAME`,
checksum-verified like the shipped segmentation weights. It runs on the TFLite interpreter
that ``facecolab.modelfiles.runner`` uses. This module only opens the file and runs it: the
anchors, box decoding and suppression are ``facecolab.workflows.face_detection``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecolab.modelfiles.manifest import pretrained_path
from facecolab.modelfiles.runner import open_interpreter

DETECTOR_NAME = "blazeface_short_range"


@dataclass(frozen=True)
class DetectorModel:
    """A loaded detector network.

    Attributes:
        invoke: ``float32 (s, s, 3)`` in [-1, 1] → ``(regressors float32 (A, 16), logits
            float32 (A,))``: per anchor the box offsets and size and six keypoints, in input
            pixels, and the face score before the sigmoid.
        input_size: ``s`` (128 for the short-range model).
        path: the file it was read from.
    """

    invoke: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    input_size: int
    path: Path


def load_detector_model(path=None, threads: int = 1) -> DetectorModel:
    """Open the detector ``.tflite`` (default: the shipped manifest entry, checksum verified).

    Raises:
        FileNotFoundError, ValueError: a missing, damaged or non-float32 file, named.
    """
    path = Path(path) if path is not None else pretrained_path(DETECTOR_NAME)
    interpreter = open_interpreter(path, threads)
    (source,) = interpreter.get_input_details()
    outputs = {d["name"]: d for d in interpreter.get_output_details()}
    if set(outputs) != {"regressors", "classificators"}:
        raise ValueError(
            f"{path}: outputs {sorted(outputs)}; a BlazeFace model has regressors and "
            "classificators"
        )

    def invoke(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        interpreter.set_tensor(source["index"], image[None].astype(np.float32))
        interpreter.invoke()
        regressors = interpreter.get_tensor(outputs["regressors"]["index"])[0]
        logits = interpreter.get_tensor(outputs["classificators"]["index"])[0, :, 0]
        return regressors, logits

    return DetectorModel(invoke, int(source["shape"][1]), path)

"""Deployment exports of a Keras model: TFLite (float or quantised) and SavedModel, and what a
conversion costs in agreement with Keras.

TFLite files are converted with ``tf.lite.TFLiteConverter`` (part of every supported
TensorFlow, no extra install) from a batch-1 copy of the model: with static shapes XNNPACK
runs the whole graph as one delegated partition, where a free batch dimension leaves shape
ops in the graph that split it. (Converting a ``tf.function`` of the model directly would keep
resource variables and unfused batch norms: three times slower.) Deep-supervision models
export their main output only. Input and output stay ``float32`` in every mode, so
``facecolab.modelfiles.runner`` runs all of them the same way:

``none``: float32 weights and activations (the same masks as Keras).
``float16``: float16 weights, expanded to float32 at load (half the file).
``dynamic``: int8 weights, activations quantised on the fly (a quarter of the file).
``int8``: int8 weights and activations (integer-only kernels), calibrated on a
    representative set of images fitted to the model input as at inference.

:func:`agreement` measures a conversion against Keras: mIoU between the two models' label
maps, Keras' taken as the truth, over the same images at their original size.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np

from facecolab.data.imageio import read_image
from facecolab.data.inputs import input_images
from facecolab.fsutil import atomic_write_bytes
from facecolab.measures.metrics import confusion_matrix, mean_iou, pixel_accuracy
from facecolab.modelfiles.load import export_for_inference
from facecolab.modelfiles.runner import TFLITE_SUFFIX, as_runner, model_input_size, model_inputs
from facecolab.models import has_mc_dropout, main_output, without_mc_dropout

QUANTIZE_MODES = ("none", "float16", "dynamic", "int8")
CALIBRATION_IMAGES = 100  # representative images read for int8 calibration
# Export format → file suffix ("" = a folder).
EXPORT_FORMATS = {"keras": ".keras", "tflite": ".tflite", "saved_model": ""}


def batch_one(model):
    """``model``'s main output as a new ``keras.Model`` with a static batch of 1 (shares
    the weights), Monte-Carlo dropout off (an export predicts deterministically)."""
    single = main_output(without_mc_dropout(model) if has_mc_dropout(model) else model)
    inputs = keras.Input(single.input_shape[1:], batch_size=1, name="image")
    return keras.Model(inputs, single(inputs), name=single.name)


def calibration_inputs(
    images: Iterable[np.ndarray], input_size, aspect: str = "stretch"
) -> list[np.ndarray]:
    """``uint8 (H, W, 3)`` images → ``float32 (1, h, w, 3)`` model inputs in [0, 1], resized
    exactly as ``facecolab.modelfiles.runner`` resizes them at inference."""
    return [model_inputs([image], input_size, aspect) for image in images]


def to_tflite(model, quantize: str = "none", calibration: Sequence[np.ndarray] = ()) -> bytes:
    """The TFLite flatbuffer of a Keras model.

    Args:
        model: a ``keras.Model`` with a fixed input size.
        quantize: one of ``QUANTIZE_MODES`` (module docstring).
        calibration: ``float32 (1, h, w, 3)`` inputs for ``int8`` (:func:`calibration_inputs`).

    Raises:
        ValueError: unknown mode, ``int8`` without calibration inputs, or a model the
            converter cannot express in that mode (the converter's message follows).
    """
    import tensorflow as tf

    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if quantize == "int8" and not calibration:
        raise ValueError(
            "int8 quantisation needs representative images: pass --calib DIR (a folder of "
            "photos like those the model will see)"
        )
    converter = tf.lite.TFLiteConverter.from_keras_model(batch_one(model))
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        converter.representative_dataset = lambda: ([x] for x in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    try:
        with warnings.catch_warnings():  # int8 with float32 input: expected, not a problem
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            return converter.convert()
    except Exception as error:  # the converter raises its own ConverterError, among others
        raise ValueError(f"TFLite conversion ({quantize}) failed: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    """The converter's reason in one line: the TF ops TFLite lacks, else its first line."""
    text = str(error).strip()
    missing = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex", text)))
    if missing:
        return f"TFLite has no kernel for {', '.join(missing)}"
    return text.splitlines()[0] if text else repr(error)


def read_images(folder, limit: int | None = None, split: str | None = None) -> list[np.ndarray]:
    """The first ``limit`` images of ``folder`` (sorted; a prepared folder's split ``split``)
    as ``uint8 (H, W, 3)``."""
    return [read_image(path) for path in itertools.islice(input_images(folder, split), limit)]


def export_tflite(
    model,
    destination,
    quantize: str = "none",
    calib_dir=None,
    aspect: str = "stretch",
    calib_count: int = CALIBRATION_IMAGES,
    calib_split: str | None = None,
) -> Path:
    """Write ``model`` (a ``keras.Model``) as a ``.tflite`` file (:func:`to_tflite`);
    ``int8`` calibrates on the first ``calib_count`` images of ``calib_dir`` (of its split
    ``calib_split`` when it is a prepared folder)."""
    destination = Path(destination)
    if destination.suffix != TFLITE_SUFFIX:
        raise ValueError(f"{destination}: TFLite exports are {TFLITE_SUFFIX} files")
    calibration = []
    if quantize == "int8" and calib_dir is not None:
        images = read_images(calib_dir, calib_count, calib_split)
        calibration = calibration_inputs(images, model_input_size(model), aspect)
    flatbuffer = to_tflite(model, quantize, calibration)
    destination.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(destination, flatbuffer)
    return destination


def export_saved_model(model, destination) -> Path:
    """Write ``model``'s main output as a TensorFlow SavedModel folder: signature
    ``serving_default`` maps ``float32 (B, h, w, 3)`` in [0, 1] to the probabilities (for TF
    Serving, TF.js or another converter)."""
    destination = Path(destination)
    if destination.exists():
        raise FileExistsError(f"{destination}: already exists; SavedModels are written whole")
    main_output(model).export(str(destination), format="tf_saved_model", verbose=False)
    return destination


def export_format(destination, fmt: str | None = None) -> str:
    """``fmt`` checked against ``destination``'s suffix, or the format that suffix names
    (``.keras``, ``.tflite``; no suffix: a SavedModel folder)."""
    suffix = Path(destination).suffix
    if fmt is None:
        named = [name for name, ending in EXPORT_FORMATS.items() if ending == suffix]
        if not named:
            raise ValueError(f"{destination}: say --format ({', '.join(EXPORT_FORMATS)})")
        return named[0]
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {tuple(EXPORT_FORMATS)}, got {fmt!r}")
    if suffix != EXPORT_FORMATS[fmt]:
        wanted = EXPORT_FORMATS[fmt] or "a folder name without a suffix"
        raise ValueError(f"{destination}: {fmt} exports are written to {wanted}")
    return fmt


def export_model(
    model,
    destination,
    fmt: str | None = None,
    quantize: str = "none",
    calib_dir=None,
    aspect: str = "stretch",
    calib_count: int = CALIBRATION_IMAGES,
    calib_split: str | None = None,
) -> Path:
    """Write ``model`` (a ``keras.Model``) in format ``fmt`` (default: from ``destination``'s
    suffix, :func:`export_format`): ``keras`` (``facecolab.modelfiles.load.export_for_inference``),
    ``tflite`` (:func:`export_tflite`, the only one that takes ``quantize``) or
    ``saved_model`` (:func:`export_saved_model`)."""
    fmt = export_format(destination, fmt)
    if fmt != "tflite" and quantize != "none":
        raise ValueError(f"quantisation applies to TFLite exports only, not {fmt}")
    if fmt == "keras":
        return export_for_inference(model, destination)
    if fmt == "saved_model":
        return export_saved_model(model, destination)
    return export_tflite(model, destination, quantize, calib_dir, aspect, calib_count, calib_split)


def agreement(reference, candidate, images: Iterable[np.ndarray], aspect: str = "stretch") -> dict:
    """How closely ``candidate``'s label maps follow ``reference``'s.

    Args:
        reference, candidate: ``facecolab.modelfiles.runner.Runner`` (or ``keras.Model``) of the
        same
            classes, e.g. a Keras model and its TFLite export.
        images: ``uint8 (H, W, 3)`` photos; both models predict each at its own size.

    Returns:
        ``{"mean_iou", "pixel_agreement", "images"}``: the mIoU (in [0, 1]) of the candidate's
        labels scored against the reference's over all pixels of all images (classes
        neither predicts are left out), the share of pixels with the same label, and the
        image count.
    """
    reference, candidate = as_runner(reference), as_runner(candidate)
    if reference.num_classes != candidate.num_classes:
        raise ValueError(
            f"the models predict {reference.num_classes} and {candidate.num_classes} classes"
        )
    classes = reference.num_classes
    cm = np.zeros((classes, classes), dtype=np.int64)
    count = 0
    for image in images:
        truth, predicted = (
            runner.probabilities(image, aspect).argmax(-1) for runner in (reference, candidate)
        )
        cm += confusion_matrix(truth, predicted, classes)
        count += 1
    if not count:
        raise ValueError("agreement needs at least one image")
    return {
        "mean_iou": float(mean_iou(cm)),
        "pixel_agreement": float(pixel_accuracy(cm)),
        "images": count,
    }

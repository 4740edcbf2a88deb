"""Deployment exports of a Keras model: TFLite (float or quantised, with model metadata),
ONNX and SavedModel, and what a conversion costs in agreement with Keras.

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

Deployed files (:func:`export_tflite`, :func:`export_onnx`) are made for the runtimes people
deploy with, taken as they are (MediaPipe Tasks' ``ImageSegmenter``, LiteRT, ONNX Runtime):
input ``image`` float32 ``(1, h, w, 3)`` RGB in [0, 1]; output class probabilities float32
``(1, h, w, C)``, one channel per class of the label map, summing to 1: a sigmoid model's
one channel ``p`` becomes ``[1 - p, p]`` (:func:`deploy_model`), so a runtime's argmax is the
class id. A TFLite file carries the standard model metadata
(``facecolab.modelfiles.tflite_metadata``: normalisation, image size, colour space, label
map, name, version, author, licence). ONNX (``facecolab.modelfiles.onnx_export``) needs the
optional extra ``facecolab[onnx]``.

:func:`agreement` measures a conversion against Keras: mIoU between the two models' label
maps, Keras' taken as the truth, over the same images at their original size.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np

from facecolab.constants import CALIBRATION_IMAGES, EXPORT_FORMATS, QUANTIZE_MODES, VERSION
from facecolab.data.imageio import read_image
from facecolab.data.inputs import input_images
from facecolab.data.specs import SPECS
from facecolab.fsutil import atomic_write_bytes
from facecolab.measures.metrics import confusion_matrix, mean_iou, pixel_accuracy
from facecolab.modelfiles.load import export_for_inference
from facecolab.modelfiles.manifest import read_manifest
from facecolab.modelfiles.onnx_export import ONNX_SUFFIX, to_onnx
from facecolab.modelfiles.runner import TFLITE_SUFFIX, as_runner, model_input_size, model_inputs
from facecolab.modelfiles.tflite_metadata import SegmenterMetadata, add_metadata
from facecolab.models import main_output
from facecolab.models.mc_dropout import deterministic

# Metadata of a model the manifest says nothing about (facecolab's own licence: the code's).
DEFAULT_AUTHOR = "facecolab"
DEFAULT_LICENSE = "MIT (facecolab); the weights follow the terms of the data they were trained on"


def batch_one(model):
    """``model``'s main output as a new ``keras.Model`` with a static batch of 1 (shares
    the weights), Monte-Carlo dropout off (an export predicts deterministically)."""
    single = main_output(deterministic(model))
    inputs = keras.Input(single.input_shape[1:], batch_size=1, name="image")
    return keras.Model(inputs, single(inputs), name=single.name)


def deploy_model(model):
    """:func:`batch_one` with one output channel per class: a sigmoid model's ``(1, h, w, 1)``
    ``p`` becomes ``(1, h, w, 2)`` ``[1 - p, p]``, so every deployed file's channels match
    its label map and a runtime's argmax (MediaPipe's category mask) is the class id."""
    single = batch_one(model)
    if int(single.outputs[0].shape[-1]) != 1:
        return single
    probability = single.outputs[0]
    both = keras.layers.Concatenate(name="probabilities")([1.0 - probability, probability])
    return keras.Model(single.inputs, both, name=single.name)


@contextlib.contextmanager
def quiet(verbose: bool = False):
    """Keras' and the converters' console output (signature dumps, ``TensorSpec`` lines)
    swallowed unless ``verbose``; on an error it is printed, as it may say why."""
    if verbose:
        yield
        return
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield
    except Exception:
        print(captured.getvalue(), end="")
        raise


def calibration_inputs(
    images: Iterable[np.ndarray], input_size, aspect: str = "stretch"
) -> list[np.ndarray]:
    """``uint8 (H, W, 3)`` images → ``float32 (1, h, w, 3)`` model inputs in [0, 1], resized
    exactly as ``facecolab.modelfiles.runner`` resizes them at inference."""
    return [model_inputs([image], input_size, aspect) for image in images]


def to_tflite(
    model,
    quantize: str = "none",
    calibration: Sequence[np.ndarray] = (),
    deploy: bool = False,
    verbose: bool = False,
) -> bytes:
    """The TFLite flatbuffer of a Keras model (no metadata: :func:`export_tflite` adds it).

    Args:
        model: a ``keras.Model`` with a fixed input size.
        quantize: one of ``QUANTIZE_MODES`` (module docstring).
        calibration: ``float32 (1, h, w, 3)`` inputs for ``int8`` (:func:`calibration_inputs`).
        deploy: one output channel per class (:func:`deploy_model`), else the model's own.
        verbose: let the converter print (Keras' signature dump) instead of :func:`quiet`.

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
    converter = tf.lite.TFLiteConverter.from_keras_model(
        deploy_model(model) if deploy else batch_one(model)
    )
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        converter.representative_dataset = lambda: ([x] for x in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    try:
        with warnings.catch_warnings(), quiet(verbose):
            # int8 with float32 input: expected, not a problem
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
    metadata: SegmenterMetadata | None = None,
    verbose: bool = False,
) -> Path:
    """Write ``model`` (a ``keras.Model``) as a ``.tflite`` file for deployment
    (:func:`to_tflite` of :func:`deploy_model`) with its model metadata (``metadata``, default
    :func:`segmenter_metadata` of the model alone); ``int8`` calibrates on the first
    ``calib_count`` images of ``calib_dir`` (of its split ``calib_split`` when it is a
    prepared folder)."""
    destination = Path(destination)
    if destination.suffix != TFLITE_SUFFIX:
        raise ValueError(f"{destination}: TFLite exports are {TFLITE_SUFFIX} files")
    calibration = []
    if quantize == "int8" and calib_dir is not None:
        images = read_images(calib_dir, calib_count, calib_split)
        calibration = calibration_inputs(images, model_input_size(model), aspect)
    flatbuffer = to_tflite(model, quantize, calibration, deploy=True, verbose=verbose)
    metadata = metadata or segmenter_metadata(model)
    destination.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(destination, add_metadata(flatbuffer, metadata))
    return destination


def export_onnx(
    model, destination, metadata: SegmenterMetadata | None = None, verbose: bool = False
) -> Path:
    """Write ``model`` (a ``keras.Model``) as an ``.onnx`` file for deployment
    (``facecolab.modelfiles.onnx_export.to_onnx`` of :func:`deploy_model`, with ``metadata``,
    default :func:`segmenter_metadata` of the model alone)."""
    destination = Path(destination)
    if destination.suffix != ONNX_SUFFIX:
        raise ValueError(f"{destination}: ONNX exports are {ONNX_SUFFIX} files")
    metadata = metadata or segmenter_metadata(model)
    with quiet(verbose):
        data = to_onnx(deploy_model(model), metadata)
    destination.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(destination, data)
    return destination


def segmenter_metadata(
    model, name: str | None = None, class_names=None, dataset: str | None = None
) -> SegmenterMetadata:
    """The metadata of a deployed ``model``: name, description, version, author and licence
    from ``weights/manifest.json`` when ``name`` is an entry of it (its ``author`` and
    ``license``, else facecolab's defaults), class names from ``class_names``, else the
    entry's, else ``dataset``'s spec, else ``class_0`` … (one per output class)."""
    entry = read_manifest().get(name or "", {})
    channels = int(main_output(model).outputs[0].shape[-1])
    classes = 2 if channels == 1 else channels
    names = class_names or entry.get("class_names")
    if names is None and dataset in SPECS and len(SPECS[dataset].class_names) == classes:
        names = SPECS[dataset].class_names
    names = tuple(names or (f"class_{index}" for index in range(classes)))
    if len(names) != classes:
        raise ValueError(f"the model predicts {classes} classes, the label map names {len(names)}")
    name = name or model.name
    version = f"facecolab {VERSION}"
    if entry.get("sha256"):
        version += f", weights sha256 {entry['sha256'][:12]}"
    description = f"{name}: face segmentation, {classes} classes ({', '.join(names)})"
    if entry.get("model"):
        description += f"; {entry['model']}"
    return SegmenterMetadata(
        name=name,
        description=description,
        version=version,
        author=entry.get("author", DEFAULT_AUTHOR),
        license=entry.get("license", DEFAULT_LICENSE),
        class_names=names,
        input_size=model_input_size(model),
        model_activation="sigmoid" if channels == 1 else "softmax",
    )


def export_saved_model(model, destination, verbose: bool = False, overwrite: bool = False) -> Path:
    """Write ``model``'s main output as a TensorFlow SavedModel folder: signature
    ``serving_default`` maps ``float32 (B, h, w, 3)`` in [0, 1] to the probabilities (for TF
    Serving, TF.js or another converter).

    The folder is written whole beside ``destination`` and renamed into place, so an
    interrupted export leaves no half folder; a folder already there is refused unless
    ``overwrite``, and then replaced only once the new one is complete."""
    destination = Path(destination)
    if destination.exists() and not overwrite:
        raise FileExistsError(f"{destination}: already exists; pass --overwrite to replace it")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        with quiet(verbose):
            main_output(model).export(
                str(staging / "model"), format="tf_saved_model", verbose=verbose
            )
        if destination.exists():
            old = staging / "replaced"
            destination.rename(old)
        (staging / "model").rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
    metadata: SegmenterMetadata | None = None,
    verbose: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` (a ``keras.Model``) in format ``fmt`` (default: from ``destination``'s
    suffix, :func:`export_format`): ``keras`` (``facecolab.modelfiles.load.export_for_inference``),
    ``tflite`` (:func:`export_tflite`, the only one that takes ``quantize``), ``onnx``
    (:func:`export_onnx`; both take ``metadata``) or ``saved_model``
    (:func:`export_saved_model`); the converters print only when ``verbose``."""
    fmt = export_format(destination, fmt)
    if fmt != "tflite" and quantize != "none":
        raise ValueError(f"quantisation applies to TFLite exports only, not {fmt}")
    if fmt == "keras":
        return export_for_inference(model, destination)
    if fmt == "saved_model":
        return export_saved_model(model, destination, verbose, overwrite)
    if fmt == "onnx":
        return export_onnx(model, destination, metadata, verbose)
    return export_tflite(
        model,
        destination,
        quantize,
        calib_dir,
        aspect,
        calib_count,
        calib_split,
        metadata,
        verbose,
    )


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

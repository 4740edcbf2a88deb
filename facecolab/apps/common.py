"""What the apps share: a model with the dataset spec that says what its ids mean; images;
the command line (parser, default output name, one-line errors)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from facecolab.console import add_max_pixels_option
from facecolab.constants import DEFAULT_THREADS
from facecolab.data.imageio import encode_image, read_image
from facecolab.data.imageio import save_image as write_image
from facecolab.data.specs import SPECS, DatasetSpec, get_spec
from facecolab.fsutil import (
    atomic_write_bytes,
    check_outputs,
    describe,
    held_output_file,
    output_file,
)
from facecolab.modelfiles.runner import as_runner, load_runner
from facecolab.viz import generic_palette
from facecolab.workflows.face_detection import FaceDetector
from facecolab.workflows.predict import face_framing, no_face_message, parse_faces, predict_labels

MODEL_HELP = (
    "a .tflite / .keras / .h5 / .weights.h5 file, a run folder, or a name in weights/manifest.json"
)


def spec_for_model(model, dataset: str | None = None) -> DatasetSpec | None:
    """The spec whose ids the model predicts: ``dataset`` (a ``facecolab.data`` name)
    when known, else the only registered spec with the model's class count. Binary datasets
    all mean (background, foreground) but name the foreground differently, so a binary model
    without ``dataset`` gets ``None``.

    Args:
        model: a ``facecolab.modelfiles.runner.Runner`` or a ``keras.Model``.

    Returns:
        the spec, or ``None`` when nothing identifies it (callers fall back to ids and a
        generic palette).

    Raises:
        ValueError: ``dataset`` is unknown or has a different class count than the model.
    """
    num_classes = as_runner(model).num_classes
    if dataset is not None:
        spec = get_spec(dataset)
        if spec.num_classes != num_classes:
            raise ValueError(
                f"dataset {dataset!r} has {spec.num_classes} classes but the model "
                f"predicts {num_classes}"
            )
        return spec
    matches = [spec for spec in SPECS.values() if spec.num_classes == num_classes]
    return matches[0] if len(matches) == 1 else None


def load_app_model(name_or_path, dataset: str | None = None, threads: int | None = None):
    """``(Runner, DatasetSpec | None)`` from a ``.tflite`` or Keras model file, a run folder
    or a name in ``weights/manifest.json`` (``facecolab.modelfiles.runner.load_runner``;
    ``threads``:
    TFLite CPU threads, default ``constants.DEFAULT_THREADS``). The spec comes from
    ``dataset``, else the run's config or the manifest entry, else the class count."""
    runner = load_runner(name_or_path, threads or DEFAULT_THREADS)
    return runner, spec_for_model(runner, dataset or runner.dataset)


def load_photo_and_model(image_path, model, dataset: str | None = None):
    """``(photo uint8 (H, W, 3), Runner, DatasetSpec | None)`` for an app's ``--image``
    and ``--model`` (see :func:`load_app_model`); the photo first, so a wrong path fails
    before the slow model load."""
    image = load_image(image_path)
    return (image, *load_app_model(model, dataset))


def add_face_crop_option(parser: argparse.ArgumentParser) -> None:
    """``--face-crop`` (default) / ``--no-face-crop``: see :func:`photo_labels`."""
    parser.add_argument(
        "--face-crop",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="face models: detect the faces and parse each cropped as the training faces "
        "were (default); --no-face-crop for a pre-aligned face crop",
    )


def photo_labels(model, image: np.ndarray, face_crop: bool, aspect: str, name) -> np.ndarray:
    """``uint8 (H, W)`` class ids of a photo: with ``face_crop`` and a face model, each face
    found parsed on its crop (``facecolab.workflows.predict.parse_faces``; no face: the whole
    photo, and a warning line on stderr naming ``name``); else the whole photo."""
    framing = face_framing(model, face_crop)
    if framing is None:
        return next(predict_labels(model, [image], aspect, batch_size=1))
    result = parse_faces(model, image, FaceDetector(), framing, aspect)
    if result.fallback:
        print(f"warning: {no_face_message(name)}", file=sys.stderr)
    return result.label


def palette_of(spec: DatasetSpec | None) -> np.ndarray:
    """``uint8 (256, 3)``: the spec's colours, or a generic distinct palette."""
    return generic_palette() if spec is None else spec.palette()


def load_image(path) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB; ``FileNotFoundError`` naming the path when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image not found")
    return read_image(path)


def save_image(array: np.ndarray, path) -> Path:
    """Write ``uint8 (H, W[, 3])`` to ``path`` (format from the suffix), atomically, creating
    folders (``fsutil.output_file`` checks the place first)."""
    path = output_file(path)
    return write_image(array, path)


def save_outputs(app: str, pictures: dict, inputs, overwrite: bool) -> None:
    """Write ``{path: uint8 (H, W[, 3])}`` under the output policy
    (``fsutil.check_outputs``): all encoded and checked against ``inputs`` before the first
    byte is written, then each atomically, recorded as ``app``'s."""
    check_outputs(list(pictures), inputs, overwrite=overwrite, command=app)
    encoded = {Path(path): encode_image(array, path) for path, array in pictures.items()}
    for path, data in encoded.items():
        with held_output_file(path, inputs, overwrite=overwrite, command=app):
            atomic_write_bytes(path, data)


def check_app_outputs(app: str, args, outputs) -> None:
    """The output policy (:func:`save_outputs`) checked before any work: each output's place
    and that no output is an input or a file ``app`` did not write (without
    ``--overwrite``)."""
    for path in outputs:
        output_file(path, app_inputs(args), overwrite=args.overwrite, command=app)


def app_inputs(args, runner=None) -> list:
    """The files an app reads: ``--image``, ``--background`` (a file), ``--source``, and the
    model's file (``runner.path``) or ``--model`` as given."""
    given = [getattr(args, name, None) for name in ("image", "background", "source", "model")]
    found = [Path(text) for text in given if text and Path(text).exists()]
    return found + ([runner.path] if runner is not None and runner.path else [])


def app_parser(app: str, doc: str, image_help: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``python -m facecolab.apps.<app>``: the first line of ``doc`` as its
    description, ``-i/--image`` (when ``image_help`` says what photo the app takes), then
    ``-m/--model``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m facecolab.apps.{app}", description=doc.splitlines()[0]
    )
    if image_help is not None:
        parser.add_argument("-i", "--image", required=True, help=image_help)
    parser.add_argument("-m", "--model", required=True, help=MODEL_HELP)
    add_overwrite_option(parser)
    add_max_pixels_option(parser)
    return parser


def add_overwrite_option(parser: argparse.ArgumentParser) -> None:
    """``--overwrite``: replace output files this command did not write (the output policy,
    ``fsutil.check_outputs``; inputs are never replaced)."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output files this command did not write (never an input)",
    )


def add_dataset_option(parser: argparse.ArgumentParser, used_for: str) -> None:
    """``--dataset``: the spec of a model whose run or manifest entry does not name one;
    ``used_for`` says what the app takes from it (e.g. "class names")."""
    parser.add_argument(
        "--dataset",
        help=f"dataset the model was trained on ({used_for}); "
        "default: from the run's config or the class count",
    )


def output_path(out: str | None, image, suffix: str) -> Path:
    """``out``, else ``<image stem>_<suffix>.png`` in the working folder."""
    return Path(out or f"{Path(image).stem}_{suffix}.png")


# What the apps report in one line instead of a traceback: bad values, and file-system
# problems on input or output (named by file).
USER_ERRORS = (ValueError, OSError)


def report_error(app: str, error: Exception) -> int:
    """Print ``<app>: error: <message>`` on stderr (argparse's style) and return exit code 2."""
    print(f"{app}: error: {describe(error)}", file=sys.stderr)
    return 2

"""What the apps share without a model: images, palettes, the command line (parser, default
output name, one-line errors). Imports no Keras, so an app's ``--help`` is instant; the model
side is ``facecolab.apps.inference``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from facecolab.console import add_max_pixels_option, add_verbose_option
from facecolab.data.imageio import encode_image, read_image
from facecolab.data.imageio import save_image as write_image
from facecolab.data.specs import DatasetSpec
from facecolab.fsutil import (
    atomic_write_bytes,
    check_outputs,
    describe,
    held_output_file,
    output_file,
)
from facecolab.viz import generic_palette

MODEL_HELP = (
    "a .tflite / .keras / .h5 / .weights.h5 file, a run folder, or a name in weights/manifest.json"
)


def add_face_crop_option(parser: argparse.ArgumentParser) -> None:
    """``--face-crop`` (default) / ``--no-face-crop``: see
    ``facecolab.apps.inference.photo_labels``."""
    parser.add_argument(
        "--face-crop",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="face models: detect the faces and parse each cropped as the training faces "
        "were (default); --no-face-crop for a pre-aligned face crop",
    )


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
    """Write ``uint8 (H, W[, 3 | 4])`` to ``path`` (format from the suffix), atomically, creating
    folders (``fsutil.output_file`` checks the place first)."""
    path = output_file(path)
    return write_image(array, path)


def save_outputs(app: str, pictures: dict, inputs, overwrite: bool) -> None:
    """Write ``{path: uint8 (H, W[, 3 | 4])}`` under the output policy
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
    """The parser of ``python -m facecolab.apps.<app>``: the first paragraph of ``doc`` as its
    description, ``-i/--image`` (when ``image_help`` says what photo the app takes),
    ``-m/--model`` and ``--verbose``."""
    summary = " ".join(doc.split("\n\n")[0].split()).replace("``", "")
    parser = argparse.ArgumentParser(prog=f"python -m facecolab.apps.{app}", description=summary)
    if image_help is not None:
        parser.add_argument("-i", "--image", required=True, help=image_help)
    parser.add_argument("-m", "--model", required=True, help=MODEL_HELP)
    add_overwrite_option(parser)
    add_max_pixels_option(parser)
    add_verbose_option(parser)
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

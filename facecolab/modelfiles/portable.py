"""Portable weights: one ``.weights.npz`` file per model that loads on every Keras 3 the
requirements admit.

A ``.keras`` file stores Keras's own serialised layer configurations, and an older Keras
cannot always read a newer one's: a Keras 3.15 file gives its initializers an ``input_axes``
argument that Keras 3.3–3.14 reject. A portable file stores nothing Keras-specific: the
``facecolab.models`` builder call (registry name + keyword arguments), the arrays of
``model.weights`` in order with each variable's name, and a check (log-probabilities on a
fixed input). Loading rebuilds the model with the installed facecolab on the installed Keras,
checks that the count, names and shapes of the weights fit, and sets them.

Layout: a NumPy ``.npz`` (a zip with a CRC per member), read with ``allow_pickle=False`` so
loading never runs code from the file::

    header   0-d str, JSON: {"format": "facecolab.portable-weights", "version": 1,
             "builder": "unet", "kwargs": {"input_shape": [128, 128, 3], ...},
             "names": ["kernel", "gamma", ...], "keras": "3.15.1",
             "check": {"mean_log_p": [C floats], "point_log_p": [[C floats] × 5]}}
    w0000 …  the weight arrays in ``model.weights`` order: float32, or float16 when saved so
             (cast back to each variable's dtype on load)

Every error (damaged file, unknown builder, weights that do not fit) is a ``ValueError`` whose
message names the file and what to do.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
import zlib
from pathlib import Path

import keras
import numpy as np

from facecolab.fsutil import atomic_write_bytes
from facecolab.models import build_model, main_output
from facecolab.models.mc_dropout import has_mc_dropout, without_mc_dropout

SUFFIX = ".weights.npz"
FORMAT = "facecolab.portable-weights"
VERSION = 1
DTYPES = ("float32", "float16")
# Largest difference in log-probability between a check recorded at save time and one
# recomputed after loading (float32 on CPU). Measured for the shipped model saved on TF 2.21/
# Keras 3.15 and checked on TF 2.16.1/Keras 3.3.0 and 3.3.3, TF 2.16.2/Keras 3.3.3 and TF 2.19.1/
# Keras 3.10.0: 0 at the 6 stored decimals; other weights move it by 100 times more or more.
CHECK_ATOL = 1e-3
# Check pixels as fractions of (height - 1, width - 1): the corners and the centre.
CHECK_POINTS = ((0.0, 0.0), (0.0, 1.0), (0.5, 0.5), (1.0, 0.0), (1.0, 1.0))
LOG_FLOOR = 1e-12
_HEADER_KEYS = {"builder": str, "kwargs": dict, "names": list, "keras": str, "check": dict}


def is_portable(path) -> bool:
    """Whether ``path`` names a portable weights file (by its suffix)."""
    return Path(path).name.lower().endswith(SUFFIX)


def check_input(height: int, width: int) -> np.ndarray:
    """The fixed check image: float32 ``(1, H, W, 3)`` in [0, 1], an integer hash of
    ``(row, column, channel)``, so it is bit-identical on every platform and NumPy."""
    row, column, channel = np.meshgrid(
        np.arange(height, dtype=np.int64),
        np.arange(width, dtype=np.int64),
        np.arange(3, dtype=np.int64),
        indexing="ij",
    )
    hashed = (row * 73856093) ^ (column * 19349663) ^ (channel * 83492791)
    return ((hashed % 251) / 250).astype(np.float32)[None]


def model_check(model) -> dict:
    """Log-probabilities of ``model`` on :func:`check_input`: the mean over pixels per class,
    and every class at :data:`CHECK_POINTS`. Always-on (Monte-Carlo) dropout is turned off, so
    the check is deterministic. Log scale keeps near-0 probabilities informative.

    Returns:
        ``{"mean_log_p": [C floats], "point_log_p": [[C floats], …]}`` (JSON-ready).
    """
    if has_mc_dropout(model):
        model = without_mc_dropout(model)
    height, width = model.inputs[0].shape[1:3]
    probabilities = np.asarray(main_output(model).predict_on_batch(check_input(height, width)))
    log_p = np.log(np.clip(probabilities[0].astype(np.float64), LOG_FLOOR, 1.0))
    points = [log_p[round(fy * (height - 1)), round(fx * (width - 1))] for fy, fx in CHECK_POINTS]
    return {"mean_log_p": _rounded(log_p.mean(axis=(0, 1))), "point_log_p": _rounded(points)}


def _rounded(values) -> list:
    return np.round(np.asarray(values, dtype=np.float64), 6).tolist()


def check_difference(expected: dict, actual: dict) -> float:
    """Largest absolute difference between two :func:`model_check` results (``inf`` when
    they do not have the same shape, e.g. another class count)."""
    try:
        a, b = (
            np.array([check["mean_log_p"], *check["point_log_p"]], dtype=np.float64)
            for check in (expected, actual)
        )
    except (KeyError, TypeError, ValueError):  # a garbled check (ragged or missing lists)
        return math.inf
    return float(np.abs(a - b).max()) if a.shape == b.shape else math.inf


def weight_mismatch(variables, names, shapes) -> str | None:
    """The first way stored weights ``names``/``shapes`` differ from a model's ``variables``
    (``model.weights``), in words; ``None`` when they fit (same count, and in order the same
    variable names and shapes)."""
    if len(variables) != len(names):
        return f"it holds {len(names)} weights, the model has {len(variables)}"
    for index, (variable, name, shape) in enumerate(zip(variables, names, shapes, strict=True)):
        expected = tuple(variable.shape)
        if variable.name != name or expected != tuple(shape):
            where = getattr(variable, "path", variable.name)
            return (
                f"weight {index} ({where}) is {name!r} {tuple(shape)} in the file, "
                f"the model expects {variable.name!r} {expected}"
            )
    return None


def _stored(variable, dtype: str) -> np.ndarray:
    array = np.asarray(variable.numpy())
    if dtype == "float16" and array.dtype.kind == "f":
        too_large = np.isfinite(array) & (np.abs(array) > np.finfo(np.float16).max)
        if too_large.any():
            raise ValueError(
                f"weight {getattr(variable, 'path', variable.name)} holds values beyond "
                f"float16's range (max |x| = {np.abs(array).max():.3g}); save it as float32"
            )
        return array.astype(np.float16)
    return array


def _build(path: Path, builder: str, kwargs: dict, remedy: str):
    try:
        return build_model(builder, **kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{path}: this facecolab cannot build the model {builder}(**{kwargs}) ({error}); "
            f"{remedy}"
        ) from None


def _set_weights(path: Path, model, header: dict, arrays: list[np.ndarray], remedy: str):
    problem = weight_mismatch(model.weights, header["names"], [a.shape for a in arrays])
    if problem is not None:
        raise ValueError(
            f"{path}: the weights do not fit the model that {header['builder']}"
            f"(**{header['kwargs']}) builds with this facecolab on Keras {keras.__version__}: "
            f"{problem}; {remedy}"
        )
    model.set_weights(
        [np.asarray(a, dtype=v.dtype) for v, a in zip(model.weights, arrays, strict=True)]
    )


def save_portable(model, path, builder: str, kwargs: dict, dtype: str = "float32") -> Path:
    """Write ``model``'s weights as a portable file (atomically: a reader never sees half).

    The builder call is checked here, not on the user's machine: a fresh model is built from
    it, the weights must fit it, and the stored check is computed on that rebuilt model.

    Args:
        model: the trained ``keras.Model``.
        path: the ``*.weights.npz`` file to write.
        builder: the ``facecolab.models.MODELS`` name that builds ``model``'s architecture.
        kwargs: JSON-serialisable ``build_model`` keyword arguments, ``input_shape`` and
            ``num_classes`` included.
        dtype: ``"float32"`` (exact) or ``"float16"`` (half the size; predictions move
            slightly, so re-measure a model's metrics before publishing them).

    Returns:
        ``path``.
    """
    path = Path(path)
    if not is_portable(path):
        raise ValueError(f"{path}: portable weights files end with {SUFFIX}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    try:
        kwargs = json.loads(json.dumps(kwargs))
    except TypeError as error:
        raise ValueError(f"{path}: builder arguments must be JSON values ({error})") from None
    arrays = [_stored(v, dtype) for v in model.weights]
    header = {
        "format": FORMAT,
        "version": VERSION,
        "builder": builder,
        "kwargs": kwargs,
        "names": [v.name for v in model.weights],
        "keras": keras.__version__,
    }
    remedy = "pass the builder call (the training config) that made this model"
    rebuilt = _build(path, builder, kwargs, remedy)
    _set_weights(path, rebuilt, header, arrays, remedy)
    header["check"] = model_check(rebuilt)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        header=np.array(json.dumps(header)),
        **{f"w{index:04d}": array for index, array in enumerate(arrays)},
    )
    atomic_write_bytes(path, buffer.getvalue())
    return path


def read_portable(path) -> tuple[dict, list[np.ndarray]]:
    """The header and weight arrays of a portable file (NumPy only; nothing is built).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is damaged, not a portable weights file, or written by a newer
            facecolab.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: portable weights file not found")
    try:
        with np.load(path, allow_pickle=False) as archive:
            members = {name: archive[name] for name in archive.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(
            f"{path}: damaged, or not a facecolab portable weights file "
            f"({type(error).__name__}: {error}); download or export it again"
        ) from None
    if "header" not in members:
        raise ValueError(f"{path}: not a facecolab portable weights file (no header)")
    header = _header(path, str(members.pop("header")[()]))
    expected = [f"w{index:04d}" for index in range(len(header["names"]))]
    if sorted(members) != expected:
        raise ValueError(
            f"{path}: holds {len(members)} arrays, its header names {len(expected)} weights; "
            "download or export it again"
        )
    arrays = [members[key] for key in expected]
    for name, array in zip(header["names"], arrays, strict=True):
        if array.dtype.kind not in "fiub":
            raise ValueError(f"{path}: weight {name} is not numbers ({array.dtype})")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(
                f"{path}: weight {name} holds NaN or infinite values (a diverged or damaged "
                "model); download or export it again"
            )
    return header, arrays


def _header(path: Path, text: str) -> dict:
    try:
        header = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: its header is not valid JSON ({error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path}: not a facecolab portable weights file (no {FORMAT} header)")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ValueError(
            f"{path}: written by a newer facecolab (format version {version!r}; this one "
            f"reads up to {VERSION}); update facecolab"
        )
    wrong = [key for key, kind in _HEADER_KEYS.items() if not isinstance(header.get(key), kind)]
    if wrong:
        raise ValueError(f"{path}: its header lacks or garbles {', '.join(wrong)}")
    return header


def _load(path) -> tuple[object, dict]:
    path = Path(path)
    header, arrays = read_portable(path)
    remedy = (
        f"it was saved with Keras {header['keras']}; export it again from the original model "
        f"(python -m facecolab export --model MODEL --out {path.name})"
    )
    model = _build(path, header["builder"], header["kwargs"], remedy)
    _set_weights(path, model, header, arrays, remedy)
    return model, header


def load_portable(path):
    """The ``keras.Model`` of a portable file: rebuilt by its builder call on the installed
    Keras, weights checked (count, names, shapes) and set; not compiled."""
    return _load(path)[0]


def verify_portable(path, atol: float = CHECK_ATOL):
    """:func:`load_portable`, then recompute the file's check and compare: proof that this
    facecolab + Keras computes what the saving one did (float32 CPU numerics; GPU TF32 or
    mixed precision move log-probabilities more than ``atol``).

    Raises:
        ValueError: the predictions differ by more than ``atol``.
    """
    model, header = _load(path)
    difference = check_difference(header["check"], model_check(model))
    if not difference <= atol:
        raise ValueError(
            f"{path}: the model rebuilt on Keras {keras.__version__} does not reproduce the "
            f"predictions it was saved with on Keras {header['keras']} (largest "
            f"log-probability difference {difference:.3g} > {atol:g})"
        )
    return model

"""Writing Keras model files so they are whole or absent: a temporary name in the same
folder, then a rename (the model counterpart of ``fsutil.atomic_write_bytes``).

Ground floor: imports no other facecolab module but ``fsutil`` and never Keras itself (the
model is duck-typed: anything with ``save`` / ``save_weights``). Loading lives above the model
registry, in ``facecolab.modelfiles.load.load_model_any``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from facecolab.fsutil import atomic_write_bytes

WEIGHTS_SUFFIX = ".weights.h5"


def _tmp_name(path: Path) -> Path:
    # Keras picks the format from the suffix, so the temporary name keeps it.
    suffix = WEIGHTS_SUFFIX if path.name.endswith(WEIGHTS_SUFFIX) else path.suffix
    return path.with_name(f".tmp-{os.getpid()}-{path.name}{suffix}")


def save_model_atomic(model, path) -> None:
    """``model.save(path)`` (``.keras``, ``.h5``) through a temporary file + rename."""
    path = Path(path)
    tmp = _tmp_name(path)
    model.save(tmp)
    os.replace(tmp, path)


def save_weights_atomic(model, path) -> None:
    """``model.save_weights(path)`` (``*.weights.h5``) through a temporary file + rename."""
    path = Path(path)
    tmp = _tmp_name(path)
    model.save_weights(tmp)
    os.replace(tmp, path)


def atomic_save_npz(path, arrays) -> None:
    """``arrays`` as an uncompressed ``.npz`` (members ``arr_0``, ``arr_1``, …), atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    atomic_write_bytes(path, buffer.getvalue())

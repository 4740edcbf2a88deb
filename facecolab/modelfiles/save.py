"""Writing Keras model files so they are whole or absent: a temporary name in the same
folder, then a rename (the model counterpart of ``fsutil.atomic_write_bytes``).

Ground floor: imports no other facecolab module but ``fsutil`` and never Keras itself (the
model is duck-typed: anything with ``save`` / ``save_weights``). Loading lives above the model
registry, in ``facecolab.modelfiles.load.load_model_any``.
"""

from __future__ import annotations

import io

import numpy as np

from facecolab.fsutil import atomic_path, atomic_write_bytes

WEIGHTS_SUFFIX = ".weights.h5"


def save_model_atomic(model, path) -> None:
    """``model.save(path)`` (``.keras``, ``.h5``) through a temporary file + rename; the
    temporary file keeps the suffix (Keras picks the format from it) and is removed on any
    exit (``fsutil.atomic_path``)."""
    with atomic_path(path, keep_suffix=True) as tmp:
        tmp.unlink()  # Keras refuses some existing targets; it creates the file itself
        model.save(tmp)


def save_weights_atomic(model, path) -> None:
    """``model.save_weights(path)`` (``*.weights.h5``) through a temporary file + rename."""
    with atomic_path(path, keep_suffix=True) as tmp:
        tmp.unlink()
        model.save_weights(tmp)


def atomic_save_npz(path, arrays) -> None:
    """``arrays`` as an uncompressed ``.npz`` (members ``arr_0``, ``arr_1``, …), atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    atomic_write_bytes(path, buffer.getvalue())

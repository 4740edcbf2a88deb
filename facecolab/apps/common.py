"""What the apps share: a model file plus the dataset spec that says what its ids mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.readers.base import read_image
from ..datasets.specs import SPECS, DatasetSpec, get_spec


def model_num_classes(model) -> int:
    """Classes of the model's first output; one sigmoid channel counts as two classes."""
    channels = int(model.outputs[0].shape[-1])
    return 2 if channels == 1 else channels


def spec_for_model(model, model_path=None, dataset: str | None = None) -> DatasetSpec | None:
    """The spec whose ids the model predicts.

    Looked up in this order: ``dataset`` (a ``facecolab.datasets`` name), the training config
    of the run the model file came from, the only registered spec with the model's class
    count. Binary datasets all mean (background, foreground), so any of them serves.

    Returns:
        the spec, or ``None`` when nothing identifies it (callers fall back to ids and a
        generic palette).

    Raises:
        ValueError: ``dataset`` is unknown or has a different class count than the model.
    """
    from ..export import find_run_config

    num_classes = model_num_classes(model)
    if dataset is None and model_path is not None:
        run_config = find_run_config(model_path) or {}
        dataset = (run_config.get("data") or {}).get("dataset")
    if dataset is not None:
        spec = get_spec(dataset)
        if spec.num_classes != num_classes:
            raise ValueError(f"dataset {dataset!r} has {spec.num_classes} classes but the model "
                             f"{model_path or model.name} predicts {num_classes}")  # fmt: skip
        return spec
    matches = [spec for spec in SPECS.values() if spec.num_classes == num_classes]
    if len({spec.class_names for spec in matches}) == 1:
        return matches[0]
    return None


def load_app_model(model_path, dataset: str | None = None):
    """``(keras.Model, DatasetSpec | None)`` from any model file ``facecolab.export`` reads."""
    from ..export import load_model_any

    model = load_model_any(model_path)
    return model, spec_for_model(model, model_path, dataset)


def palette_of(spec: DatasetSpec | None) -> np.ndarray:
    """``uint8 (256, 3)``: the spec's colours, or a generic distinct palette."""
    from ..viz import generic_palette

    return generic_palette() if spec is None else spec.palette()


def load_image(path) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB; ``FileNotFoundError`` naming the path when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image not found")
    return read_image(path)


def save_image(array: np.ndarray, path) -> Path:
    """Write ``uint8 (H, W[, 3])`` to ``path`` (format from the suffix), creating folders."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
    return path

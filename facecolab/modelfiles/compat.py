"""Does this model (or config) fit this data? Checked before any evaluation, training or
scored prediction starts, so a model of one label set is never scored on another (an LFW
"hair" id read as Helen's "lb") and a run never records one dataset while training on
another. numpy-free; a model is only asked for its output shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from facecolab.data.specs import SPECS


def model_num_classes(model) -> int:
    """Classes of the model's first output; one sigmoid channel counts as two classes.
    ``model``: a ``keras.Model``, a ``facecolab.modelfiles.runner.Runner`` (which knows its count)
    or a
    ``facecolab.modelfiles.load.OpenedModel`` (whose ``.model`` is the Keras model)."""
    if hasattr(model, "num_classes"):
        return int(model.num_classes)
    channels = int(getattr(model, "model", model).outputs[0].shape[-1])
    return 2 if channels == 1 else channels


def _model_name(model) -> str:
    """The Keras model's name, also behind a ``Runner`` or ``OpenedModel`` (``.model``), else
    the file it came from (a TFLite runner)."""
    keras_model = getattr(model, "model", model)
    return str(getattr(keras_model, "name", None) or getattr(model, "path", None) or "model")


def known_class_names(run_config: dict | None, dataset: str | None) -> tuple[str, ...] | None:
    """The class names a model was trained with, when its provenance says: the spec in the
    run's prepared ``dataset.json`` (which holds any relabelling), else the registered spec
    of its dataset; ``None`` when neither is known."""
    prepared = ((run_config or {}).get("data") or {}).get("prepared")
    record = Path(prepared) / "dataset.json" if prepared else None
    if record is not None and record.is_file():
        try:
            return tuple(json.loads(record.read_text())["spec"]["class_names"])
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable record says nothing; fall back to the registered spec
    return SPECS[dataset].class_names if dataset in SPECS else None


def check_model_classes(
    model,
    class_names: Sequence[str],
    data: str,
    model_names: Sequence[str] | None = None,
) -> None:
    """Refuse to score ``model`` on data labelled with ``class_names``.

    Args:
        data: what the data is (a folder, a dataset name), for the message.
        model_names: the model's own class names when known (:func:`known_class_names`);
            compared in order when they are as many as the model's outputs.

    Raises:
        ValueError: the class counts differ, or the names do (naming the first difference).
    """
    count = model_num_classes(model)
    names = tuple(class_names)
    if count != len(names):
        raise ValueError(
            f"model {_model_name(model)!r} predicts {count} classes but {data} has {len(names)} "
            f"({', '.join(names)}); use a model trained on this label set"
        )
    if model_names is None or len(model_names) != count or tuple(model_names) == names:
        return
    position, theirs, ours = next(
        (i, a, b) for i, (a, b) in enumerate(zip(model_names, names, strict=True)) if a != b
    )
    raise ValueError(
        f"model {_model_name(model)!r} was trained on classes ({', '.join(model_names)}) but "
        f"{data} has ({', '.join(names)}): id {position} is {theirs!r} for the model, "
        f"{ours!r} here"
    )


def check_prepared_dataset(dataset: str, prepared_dir, info: dict) -> None:
    """Refuse a prepared folder holding another dataset than the config's ``data.dataset``
    (its ``dataset.json`` is ``info``): the run would record one dataset and learn another."""
    held = info.get("name") or (info.get("spec") or {}).get("name")
    if held != dataset:
        raise ValueError(
            f"{Path(prepared_dir) / 'dataset.json'}: the folder holds {held!r} data but "
            f"data.dataset = {dataset!r}; point data.prepared at a {dataset} folder or set "
            f"data.dataset = {held!r}"
        )

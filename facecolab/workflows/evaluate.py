"""Dataset-level evaluation: one confusion matrix accumulated over the whole set.

Two entry points share the metric core: :func:`evaluate_dataset` over a tf.data pipeline
(at the prepared size, as during training) and :func:`evaluate_items` over raw items at
their original resolution (probabilities resized back, then argmax), which is how published
numbers are usually computed. Both return ``facecolab.measures.metrics.summarize`` plus the matrix
itself (``"confusion_matrix"``, rows truth); :func:`write_evaluation` turns that into files and
:func:`format_reference` into a side-by-side table with a seed's reported numbers.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from facecolab.console import progress_bar
from facecolab.data import get_format
from facecolab.data.host_pipeline import PreparedBatches
from facecolab.data.imageio import read_image
from facecolab.data.prepare import dataset_spec, split_files
from facecolab.data.readers.base import Item
from facecolab.data.resize import resize_mask
from facecolab.data.specs import DatasetSpec
from facecolab.fsutil import atomic_write_bytes
from facecolab.measures.metrics import (
    PER_CLASS_KEYS,
    SUMMARY_KEYS,
    confusion_matrix,
    percent_cell,
    summarize,
)
from facecolab.modelfiles.compat import check_model_classes
from facecolab.modelfiles.runner import as_runner
from facecolab.viz import plot_confusion_matrix
from facecolab.workflows.predict import predict_labels

# The rows comparison_table shows besides a reference's own metrics.
HEADLINE_METRICS = ("pixel_accuracy", "mean_iou", "mean_class_accuracy", "mean_f1_no_background")


def _report(cm: np.ndarray, spec: DatasetSpec) -> dict:
    """The summary of ``cm`` with the label set's grouped F1 (``spec.f1_groups``), if any,
    and the matrix itself."""
    groups = dict(spec.f1_groups) or None
    return summarize(cm, spec.class_names, groups=groups) | {"confusion_matrix": cm.tolist()}


def evaluate_dataset(
    model, dataset, spec: DatasetSpec, progress: bool = False, total: int | None = None
) -> dict:
    """Metrics of ``model`` (a ``keras.Model`` or a ``facecolab.modelfiles.runner.Runner``) over
    ``dataset`` batches ``(image at the model's input size, int labels (B, H, W))``, with the
    grouped F1 of ``spec`` when it has one; ``progress``: a bar counting images (of
    ``total``)."""
    runner = as_runner(model)
    cm = np.zeros((spec.num_classes, spec.num_classes), dtype=np.int64)
    with progress_bar()(total=total, disable=not progress, desc="evaluate", unit="image") as bar:
        for images, labels in dataset:
            predicted = runner.infer(np.asarray(images)).argmax(-1)
            cm += confusion_matrix(np.asarray(labels), predicted, spec.num_classes)
            bar.update(len(predicted))
    return _report(cm, spec)


@dataclass
class ItemPrediction:
    """One raw item predicted at its original size.

    Attributes:
        item: the dataset item.
        image: ``uint8 (H, W, 3)`` its photo.
        label: ``uint8 (H, W)`` the predicted ids, at the photo's size.
        truth: ``uint8 (h, w)`` its label map as the dataset ships it (CelebAMask-HQ: 512²
            masks for 1024² photos).
    """

    item: Item
    image: np.ndarray
    label: np.ndarray
    truth: np.ndarray

    @property
    def truth_at_image_size(self) -> np.ndarray:
        """``uint8 (H, W)``: ``truth`` at the photo's size (nearest neighbour), to show or
        edit beside ``label``."""
        return resize_mask(self.truth, self.image.shape[:2])


def predict_items(
    model, fmt, items, aspect: str = "stretch", batch_size: int = 8
) -> Iterator[ItemPrediction]:
    """Predict raw ``items`` of ``fmt`` (a ``DatasetFormat``) at their original size
    (probabilities resized back, then argmax), lazily, ``batch_size`` images at a time.

    Raises:
        ValueError: at once, before any image is read, when the model does not predict the
            dataset's classes (``compat.check_model_classes``).
    """
    check_model_classes(model, fmt.spec.class_names, f"dataset {fmt.spec.name}")
    images = (read_image(item.image_path) for item in items)
    images, photos = itertools.tee(images)  # each photo read once, at most a batch kept
    labels = predict_labels(model, images, aspect, batch_size)
    return (
        ItemPrediction(item, photo, label, fmt.load_label(item))
        for item, photo, label in zip(items, photos, labels, strict=True)
    )


def evaluate_items(
    model,
    fmt,
    items,
    aspect: str = "stretch",
    batch_size: int = 8,
    progress: bool = True,
) -> dict:
    """Metrics at each item's original resolution (``fmt`` is a ``DatasetFormat``;
    :func:`predict_items`).

    Scored at the label map's resolution: where a dataset ships labels at another size than
    its images (CelebAMask-HQ: 512² masks for 1024² photos), the prediction is resized to the
    label by nearest neighbour.
    """
    tqdm = progress_bar()

    spec = fmt.spec
    cm = np.zeros((spec.num_classes, spec.num_classes), dtype=np.int64)
    predictions = predict_items(model, fmt, items, aspect, batch_size)
    for predicted in tqdm(predictions, total=len(items), disable=not progress, desc="evaluate"):
        label, truth = predicted.label, predicted.truth
        if truth.shape != label.shape:
            label = resize_mask(label, truth.shape)
        cm += confusion_matrix(truth, label, spec.num_classes)
    return _report(cm, spec)


def evaluate_prepared(
    model,
    prepared_dir,
    split: str = "test",
    batch_size: int = 8,
    model_names=None,
    progress: bool = False,
) -> dict:
    """:func:`evaluate_dataset` over split ``split`` of a prepared folder, resized to the
    model's input size when that differs from the prepared size (labels nearest); read by
    tf.data on TensorFlow, by :class:`facecolab.data.host_pipeline.PreparedBatches` elsewhere;
    ``progress``: a bar counting the split's images.

    The model must predict the folder's classes (``compat.check_model_classes``; with
    ``model_names``, the model's own class names, the names too) before anything runs."""
    spec = dataset_spec(prepared_dir)
    check_model_classes(model, spec.class_names, f"{prepared_dir} ({spec.name})", model_names)
    options = {"batch_size": batch_size, "image_size": as_runner(model).input_size}
    if keras.backend.backend() == "tensorflow":
        from facecolab.data.tf_pipeline import make_dataset

        dataset = make_dataset(prepared_dir, split, cache=False, **options)
    else:
        dataset = PreparedBatches(prepared_dir, split, **options)
    total = len(split_files(prepared_dir, split)[0])
    return evaluate_dataset(model, dataset, spec, progress, total)


def evaluate_raw(
    model,
    name: str,
    root,
    split: str = "test",
    aspect: str = "stretch",
    batch_size: int = 8,
    progress: bool = True,
    model_names=None,
    relabel: str | None = None,
) -> dict:
    """:func:`evaluate_items` over split ``split`` of raw dataset ``name`` in ``root``, at
    each image's original resolution (with the label set's grouped F1, if any), after the
    same class check as :func:`evaluate_prepared`; ``relabel``: score in the ids of that
    relabel table (as ``prepare --relabel`` writes them)."""
    fmt = get_format(name, relabel)
    if relabel:
        name = f"{name} relabelled {relabel}"
    check_model_classes(model, fmt.spec.class_names, f"dataset {name}", model_names)
    items = fmt.list_items(root, split)
    if not items:
        raise ValueError(f"{root}: split {split!r} of {name} holds no items")
    return evaluate_items(model, fmt, items, aspect, batch_size, progress=progress)


def evaluate(
    model,
    data,
    split: str = "test",
    *,
    dataset: str | None = None,
    aspect: str = "stretch",
    batch_size: int = 8,
    progress: bool = True,
) -> dict:
    """Metrics of ``model`` on a split of a dataset (the public ``facecolab.evaluate``).

    Args:
        model: as in ``facecolab.predict``: a model, a model file, a run folder or a shipped
            name.
        data: a prepared folder (with ``dataset.json``; scored at the model's input size), or
            a raw dataset folder in the layout ``dataset`` names (scored at each image's
            original resolution).
        split: ``train``, ``val`` or ``test``.

    Returns:
        The summary of ``facecolab.measures.metrics.summarize``: pixel accuracy, mean IoU,
        per-class rows, and the label set's grouped F1 where it has one.
    """
    runner = as_runner(model)
    if Path(data, "dataset.json").is_file():
        return evaluate_prepared(runner, data, split, batch_size)
    if dataset is None:
        raise ValueError(
            f"{data}: not a prepared folder (no dataset.json); name its layout with dataset="
        )
    return evaluate_raw(runner, dataset, data, split, aspect, batch_size, progress=progress)


def flatten_metrics(summary: Mapping) -> dict[str, float | None]:
    """Scalar view of a summary, the names ``reference.metrics`` in configs use:
    ``pixel_accuracy``, ``mean_iou``, ``mean_class_accuracy``, ``mean_f1`` (all classes),
    ``mean_f1_no_background``,
    ``<iou|f1|precision|recall>_<class name>``, ``accuracy_<class>`` (the seeds' per-class
    accuracy, i.e. recall) and ``f1_<group>``."""
    flat = {key: summary[key] for key in SUMMARY_KEYS}
    for row in summary["classes"]:
        flat.update({f"{key}_{row['name']}": row[key] for key in PER_CLASS_KEYS})
        flat[f"accuracy_{row['name']}"] = row["recall"]
    flat.update({f"f1_{name}": value for name, value in summary.get("groups", {}).items()})
    return flat


def comparison_table(
    results: Mapping[str, Mapping],
    reference: Mapping | None = None,
    metrics: Sequence[str] = HEADLINE_METRICS,
) -> str:
    """Markdown table of evaluations side by side (``{model name: summary}``): one row per
    name of ``metrics`` and of ``reference["metrics"]`` (names as :func:`flatten_metrics`),
    one column per model, then the reference's value and, for a single model, the
    difference. ``reference`` is a config's ``reference`` section: ``{"source": "...",
    "metrics": {name: value in [0, 1]}}``. Values in %; — where undefined or unknown."""
    flat = {name: flatten_metrics(result) for name, result in results.items()}
    wanted = dict(reference.get("metrics", {})) if reference else {}
    difference = bool(reference) and len(results) == 1
    header = ["metric", *results, *["reference"] * bool(reference), *["difference"] * difference]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for metric in dict.fromkeys([*metrics, *wanted]):
        values = [flat[name].get(metric) for name in results]
        row = [metric, *map(percent_cell, values)]
        if reference:
            row.append(percent_cell(wanted.get(metric)))
        if difference:
            theirs = wanted.get(metric)
            delta = None if values[0] is None or theirs is None else values[0] - theirs
            row.append("—" if delta is None else "+" * (delta >= 0) + percent_cell(delta))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def format_reference(summary: Mapping, reference: Mapping) -> str:
    """Markdown table: each metric of ``reference["metrics"]`` beside this evaluation's value
    and the difference (:func:`comparison_table` of one model), under the reference's
    source."""
    table = comparison_table({"this model": summary}, reference, metrics=())
    return f"Reference: {reference.get('source', 'reported by the seed')}\n\n{table}"


def write_evaluation(
    result: Mapping, out_dir, reference: Mapping | None = None, title: str | None = None
) -> dict[str, Path]:
    """Write ``metrics.json`` (the result, plus ``reference`` when given) and
    ``confusion_matrix.png`` into ``out_dir``; returns their paths by name."""
    out_dir = Path(out_dir)
    record = dict(result) | ({"reference": dict(reference)} if reference else {})
    metrics_path = out_dir / "metrics.json"
    atomic_write_bytes(metrics_path, (json.dumps(record, indent=2) + "\n").encode())
    names = [row["name"] for row in result["classes"]]
    figure = plot_confusion_matrix(
        result["confusion_matrix"], names, out_dir / "confusion_matrix.png", title=title
    )
    return {"metrics": metrics_path, "confusion_matrix": figure}

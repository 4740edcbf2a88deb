"""Segmentation metrics: one confusion matrix, one-line formulas over it.

The matrix is ``int64 (C, C)``, rows = truth, columns = prediction, accumulated over a whole
evaluation set (never averaged per batch: a class missing from a batch would distort the mean,
the bug of project 2's seed). The formulas take a matrix from numpy or a Keras tensor (the
same code serves ``keras_metrics.ConfusionMatrixMetric`` during training) and give per-class values.

A class absent from both truth and prediction has no IoU, F1, precision or recall: its value
is NaN in the arrays, ``None`` with ``"present": false`` in :func:`summarize`, and it is left
out of every mean. A class present on one side only scores 0 (as scikit-learn does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from facecolab.constants import IGNORE_INDEX

# The whole-set scores of :func:`summarize` and the per-class ones of its ``"classes"`` rows,
# in report order.
SUMMARY_KEYS = (
    "pixel_accuracy",
    "mean_iou",
    "mean_class_accuracy",
    "mean_f1",
    "mean_f1_no_background",
)
PER_CLASS_KEYS = ("iou", "f1", "precision", "recall")


def _namespace(array):
    """``(keras.ops, tensor)`` for backend tensors, ``(numpy, ndarray)`` for anything else.

    Keras is imported only for tensors, so numpy users (``f1_score.py``) start fast.
    """
    if isinstance(array, (np.ndarray, np.generic, list, tuple, int, float)):
        return np, np.asarray(array)
    from keras import ops

    return (ops, array) if ops.is_tensor(array) else (np, np.asarray(array))


def class_probabilities(probs):
    """``(…, 1)`` sigmoid P(class 1) → ``(…, 2)`` ``[1 − p, p]``; ``(…, C ≥ 2)`` unchanged.

    Numpy in, numpy out; a backend tensor in, a tensor out.
    """
    xp, probs = _namespace(probs)
    if probs.shape[-1] != 1:
        return probs
    return xp.concatenate([1 - probs, probs], axis=-1)


def predicted_labels(probs):
    """Probabilities ``(…, C)`` or ``(…, 1)`` → class ids ``(…)`` (sigmoid: p > 0.5 → 1)."""
    xp, probs = _namespace(probs)
    return xp.argmax(class_probabilities(probs), axis=-1)


def confusion_matrix(y_true, y_pred, num_classes: int, ignore_index: int = IGNORE_INDEX):
    """Count (truth, prediction) pairs over all pixels.

    Args:
        y_true: class ids, any shape (e.g. ``(N, H, W)`` or ``(N, H, W, 1)``);
            ``ignore_index`` pixels are skipped.
        y_pred: predicted class ids with as many elements (see :func:`predicted_labels`).

    Returns:
        ``int64 (C, C)``, rows = truth, columns = prediction.

    Raises:
        ValueError: sizes differ, or ids outside ``[0, C)`` other than ``ignore_index``.
    """
    truth = np.asarray(y_true).reshape(-1).astype(np.int64)
    prediction = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if truth.size != prediction.size:
        raise ValueError(f"y_true has {truth.size} pixels but y_pred has {prediction.size}")
    keep = truth != ignore_index
    truth, prediction = truth[keep], prediction[keep]
    for name, ids in (("y_true", truth), ("y_pred", prediction)):
        bad = ids[(ids < 0) | (ids >= num_classes)]
        if bad.size:
            raise ValueError(
                f"{name} has ids {np.unique(bad)[:10].tolist()} outside [0, {num_classes}) "
                f"(ignore label {ignore_index})"
            )
    counts = np.bincount(truth * num_classes + prediction, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def _counts(cm):
    """``(xp, true positives, truth totals, prediction totals, present)`` of a matrix."""
    xp, cm = _namespace(cm)
    true_positives = xp.diagonal(cm)
    truth, predicted = xp.sum(cm, axis=1), xp.sum(cm, axis=0)
    return xp, true_positives, truth, predicted, (truth + predicted) > 0


def _ratio(xp, numerator, denominator, present):
    """Per-class ratio: 0 where the denominator is 0 for a present class, NaN if absent."""
    ratio = xp.where(denominator > 0, xp.divide(numerator, xp.maximum(denominator, 1)), 0.0)
    return xp.where(present, ratio, float("nan"))


def pixel_accuracy(cm):
    """Correct pixels / counted pixels, a scalar (NaN for an empty matrix)."""
    xp, true_positives, truth, _, _ = _counts(cm)
    total = xp.sum(truth)
    accuracy = xp.divide(xp.sum(true_positives), xp.maximum(total, 1))
    return xp.where(total > 0, accuracy, float("nan"))


def recall(cm):
    """Per-class recall ``TP / |truth|`` ``(C,)``."""
    xp, true_positives, truth, _, present = _counts(cm)
    return _ratio(xp, true_positives, truth, present)


class_accuracy = recall  # the seeds' "per-class accuracy" is recall


def precision(cm):
    """Per-class precision ``TP / |prediction|`` ``(C,)``."""
    xp, true_positives, _, predicted, present = _counts(cm)
    return _ratio(xp, true_positives, predicted, present)


def iou(cm):
    """Per-class intersection over union ``TP / (|truth| + |prediction| − TP)`` ``(C,)``."""
    xp, true_positives, truth, predicted, present = _counts(cm)
    return _ratio(xp, true_positives, truth + predicted - true_positives, present)


def f1(cm):
    """Per-class F1 (Dice) ``2·TP / (|truth| + |prediction|)`` ``(C,)``."""
    xp, true_positives, truth, predicted, present = _counts(cm)
    return _ratio(xp, 2 * true_positives, truth + predicted, present)


def present_classes(cm):
    """bool ``(C,)``: the class occurs in truth or prediction."""
    return _counts(cm)[-1]


def mean_over_present(cm, values, exclude: Sequence[int] = ()):
    """Mean of per-class ``values`` over present classes not in ``exclude`` (NaN if none)."""
    xp, _, _, _, present = _counts(cm)
    keep = xp.logical_and(present, ~np.isin(np.arange(present.shape[0]), exclude))
    count = xp.sum(xp.where(keep, 1.0, 0.0))
    total = xp.sum(xp.where(keep, values, 0.0))
    return xp.where(count > 0, xp.divide(total, xp.maximum(count, 1.0)), float("nan"))


def mean_iou(cm, exclude: Sequence[int] = ()):
    """Mean IU over present classes (the seeds' "mean IU")."""
    return mean_over_present(cm, iou(cm), exclude)


def mean_f1(cm, exclude: Sequence[int] = (0,)):
    """Mean F1 over present classes, background (class 0) left out by default."""
    return mean_over_present(cm, f1(cm), exclude)


def grouped_f1(cm, groups: Mapping[str, Sequence[int]]) -> dict[str, float]:
    """F1 of merged classes: each group's rows and columns are merged into one class, so
    confusing two members (left eye for right eye) counts as correct for the group.

    Returns:
        group name → F1 (NaN when the group is absent from truth and prediction).
    """
    cm = np.asarray(cm)
    scores = {}
    for name, members in groups.items():
        members = list(members)
        if not members or min(members) < 0 or max(members) >= cm.shape[0]:
            raise ValueError(f"group {name!r} has ids {members} outside [0, {cm.shape[0]})")
        inside = np.zeros(cm.shape[0], dtype=bool)
        inside[members] = True
        merged = np.array(
            [
                [cm[inside][:, inside].sum(), cm[inside][:, ~inside].sum()],
                [cm[~inside][:, inside].sum(), 0],
            ]
        )
        scores[name] = float(f1(merged)[0])
    return scores


def _json_float(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def summarize(
    cm,
    class_names: Sequence[str],
    groups: Mapping[str, Sequence[int]] | None = None,
    out_of_set=None,
):
    """JSON-ready report of a confusion matrix.

    Args:
        cm: ``int (C, C)``, rows truth, columns prediction.
        out_of_set: ``int (C,)``: per true class, pixels whose prediction was no class at all
            (a value outside the label set). They count as wrong: in the class's truth total
            (recall, IoU, F1) and in pixel accuracy, never as any class's prediction.

    Returns:
        ``{"pixels", "pixel_accuracy", "mean_iou", "mean_class_accuracy",
        "mean_f1", "mean_f1_no_background", "absent", "classes": [{"id", "name", "present",
        "true_pixels", "predicted_pixels", "iou", "f1", "precision", "recall"}], "groups"}``;
        undefined values are ``None`` (``"groups"`` only when ``groups`` is given;
        ``"out_of_set_predictions"``, their total, only when ``out_of_set`` is).
    """
    cm = np.asarray(cm, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(class_names):
        raise ValueError(
            f"confusion matrix of shape {cm.shape} does not fit {len(class_names)} class names"
        )
    count = cm.shape[0]
    extra: tuple[int, ...] = ()
    if out_of_set is not None:
        # One more class that is never true; its column holds the out-of-set predictions.
        full = np.zeros((count + 1, count + 1), dtype=np.int64)
        full[:count, :count] = cm
        full[:count, count] = np.asarray(out_of_set, dtype=np.int64)
        cm, extra = full, (count,)
    present = present_classes(cm)
    per_class = {"iou": iou(cm), "f1": f1(cm), "precision": precision(cm), "recall": recall(cm)}
    classes = [
        {
            "id": i,
            "name": name,
            "present": bool(present[i]),
            "true_pixels": int(cm[i].sum()),
            "predicted_pixels": int(cm[:, i].sum()),
            **{key: _json_float(values[i]) for key, values in per_class.items()},
        }
        for i, name in enumerate(class_names)
    ]
    summary = {
        "pixels": int(cm.sum()),
        "pixel_accuracy": _json_float(pixel_accuracy(cm)),
        "mean_iou": _json_float(mean_iou(cm, exclude=extra)),
        "mean_class_accuracy": _json_float(mean_over_present(cm, per_class["recall"], extra)),
        "mean_f1": _json_float(mean_f1(cm, exclude=extra)),
        "mean_f1_no_background": _json_float(mean_f1(cm, exclude=(0, *extra))),
        "absent": [
            name
            for name, is_present in zip(class_names, present[:count], strict=True)
            if not is_present
        ],
        "classes": classes,
    }
    if out_of_set is not None:
        summary["out_of_set_predictions"] = int(cm[:, count].sum())
    if groups is not None:
        summary["groups"] = {k: _json_float(v) for k, v in grouped_f1(cm, groups).items()}
    return summary


def percent_cell(value: float | None) -> str:
    """A score in [0, 1] as a table cell: a percentage with two decimals, ``None`` (undefined)
    as —."""
    return "—" if value is None else f"{100 * value:.2f}"


def format_table(summary: Mapping) -> str:
    """Markdown table of a :func:`summarize` result (percentages; absent classes marked)."""
    lines = [
        "| id | class | true px | pred px | IoU | F1 | precision | recall |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summary["classes"]:
        scores = (
            ("absent",) * 4
            if not row["present"]
            else tuple(percent_cell(row[key]) for key in PER_CLASS_KEYS)
        )
        lines.append(
            f"| {row['id']} | {row['name']} | {row['true_pixels']} | "
            f"{row['predicted_pixels']} | " + " | ".join(scores) + " |"
        )
    lines.append("")
    if summary.get("out_of_set_predictions"):
        lines.append(
            f"- predicted pixels outside the label set (counted wrong): "
            f"{summary['out_of_set_predictions']}"
        )
    for key in SUMMARY_KEYS:
        lines.append(f"- {key.replace('_', ' ')}: {percent_cell(summary[key])}")
    for name, score in summary.get("groups", {}).items():
        lines.append(f"- F1 {name}: {percent_cell(score)}")
    return "\n".join(lines)


__all__ = [
    "PER_CLASS_KEYS",
    "SUMMARY_KEYS",
    "class_accuracy",
    "class_probabilities",
    "confusion_matrix",
    "f1",
    "format_table",
    "grouped_f1",
    "iou",
    "mean_f1",
    "mean_iou",
    "mean_over_present",
    "percent_cell",
    "pixel_accuracy",
    "precision",
    "predicted_labels",
    "present_classes",
    "recall",
    "summarize",
]

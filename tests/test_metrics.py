"""Metrics: confusion matrix and formulas against scikit-learn and hand-made tables, absent
classes, Helen grouped F1, and the Keras metric accumulating over a whole set."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn import metrics as skm

from facecolab.data.specs import HELEN_F1_GROUPS
from facecolab.measures import metrics
from facecolab.measures.keras_metrics import (
    ConfusionMatrixMetric,
    MeanIoUMetric,
    PixelAccuracyMetric,
    training_metrics,
)
from facecolab.measures.metrics import confusion_matrix

HELEN_GROUPS = dict(HELEN_F1_GROUPS)

NAN = float("nan")


def random_case(seed, num_classes=5, shape=(3, 16, 16), absent=(3,)):
    """Random truth (with ignore pixels) and predictions, never using the ``absent`` ids."""
    rng = np.random.default_rng(seed)
    allowed = [c for c in range(num_classes) if c not in absent]
    truth = rng.choice(allowed, size=shape)
    prediction = np.where(rng.random(shape) < 0.6, truth, rng.choice(allowed, size=shape))
    truth[rng.random(shape) < 0.1] = 255
    return truth, prediction


def test_confusion_matrix_matches_sklearn():
    truth, prediction = random_case(0)
    cm = confusion_matrix(truth, prediction, 5)
    keep = truth != 255
    expected = skm.confusion_matrix(truth[keep], prediction[keep], labels=range(5))
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, expected)


def test_formulas_match_sklearn():
    truth, prediction = random_case(1)
    cm = confusion_matrix(truth[..., None], prediction, 5)  # (N, H, W, 1) labels accepted
    keep = truth != 255
    t, p = truth[keep], prediction[keep]
    present = [0, 1, 2, 4]
    sk_precision, sk_recall, sk_f1, _ = skm.precision_recall_fscore_support(
        t, p, labels=present, zero_division=0
    )
    np.testing.assert_allclose(metrics.precision(cm)[present], sk_precision)
    np.testing.assert_allclose(metrics.recall(cm)[present], sk_recall)
    np.testing.assert_allclose(metrics.class_accuracy(cm)[present], sk_recall)
    np.testing.assert_allclose(metrics.f1(cm)[present], sk_f1)
    sk_iou = skm.jaccard_score(t, p, labels=present, average=None)
    np.testing.assert_allclose(metrics.iou(cm)[present], sk_iou)
    assert float(metrics.mean_iou(cm)) == pytest.approx(sk_iou.mean())
    assert float(metrics.mean_f1(cm)) == pytest.approx(sk_f1[1:].mean())
    assert float(metrics.pixel_accuracy(cm)) == pytest.approx(skm.accuracy_score(t, p))
    for values in (metrics.iou(cm), metrics.f1(cm), metrics.precision(cm)):
        assert math.isnan(values[3])


@pytest.mark.parametrize(
    ("truth", "prediction", "num_classes", "expected_iou", "expected_mean"),
    [
        ([0, 0, 1, 1], [0, 0, 1, 1], 2, [1.0, 1.0], 1.0),
        ([0, 0, 1, 1], [0, 1, 1, 1], 2, [1 / 2, 2 / 3], 7 / 12),
        ([0, 0, 0, 0], [1, 1, 1, 1], 2, [0.0, 0.0], 0.0),
        ([0, 0, 255, 1], [0, 1, 1, 1], 3, [1 / 2, 1 / 2, NAN], 1 / 2),
        ([2, 2, 2, 2], [2, 2, 2, 2], 3, [NAN, NAN, 1.0], 1.0),
        ([1, 1, 2, 2], [1, 1, 1, 1], 3, [NAN, 1 / 2, 0.0], 1 / 4),
    ],
)
def test_hand_made_iou(truth, prediction, num_classes, expected_iou, expected_mean):
    cm = confusion_matrix(truth, prediction, num_classes)
    np.testing.assert_allclose(metrics.iou(cm), expected_iou)
    assert float(metrics.mean_iou(cm)) == pytest.approx(expected_mean)


@pytest.mark.parametrize(
    ("truth", "prediction", "expected"),
    [
        # class 1: TP 1, |truth| 2, |pred| 1 → precision 1, recall 1/2, F1 2/3
        (
            [0, 1, 1, 2],
            [0, 1, 0, 2],
            {"precision": [1 / 2, 1, 1], "recall": [1, 1 / 2, 1], "f1": [2 / 3, 2 / 3, 1]},
        ),
        # class 2 only predicted: precision 0, recall 0 (present); class 0 absent: NaN
        (
            [1, 1, 1, 1],
            [1, 1, 2, 2],
            {"precision": [NAN, 1, 0], "recall": [NAN, 1 / 2, 0], "f1": [NAN, 2 / 3, 0]},
        ),
    ],
)
def test_hand_made_precision_recall_f1(truth, prediction, expected):
    cm = confusion_matrix(truth, prediction, 3)
    for name, values in expected.items():
        np.testing.assert_allclose(getattr(metrics, name)(cm), values, err_msg=name)


def test_empty_matrix_means_are_nan_not_errors():
    cm = np.zeros((3, 3), np.int64)
    assert math.isnan(float(metrics.mean_iou(cm)))
    assert math.isnan(float(metrics.pixel_accuracy(cm)))
    summary = metrics.summarize(cm, ["a", "b", "c"])
    assert summary["mean_iou"] is None and summary["absent"] == ["a", "b", "c"]


def test_grouped_f1_helen_by_hand():
    truth = [4, 4, 5, 5, 2, 3, 6, 6, 7, 8, 9, 1, 0]
    predicted = [5, 4, 5, 0, 3, 3, 6, 1, 8, 8, 9, 1, 0]
    cm = confusion_matrix(truth, predicted, 11)
    scores = metrics.grouped_f1(cm, HELEN_GROUPS)
    expected = {"eyes": 6 / 7, "brows": 1.0, "nose": 2 / 3, "mouth": 1.0, "overall": 18 / 20}
    assert scores == pytest.approx(expected)


def test_grouped_f1_absent_group_and_bad_ids():
    cm = confusion_matrix([0, 1], [0, 1], 11)
    assert math.isnan(metrics.grouped_f1(cm, {"eyes": [4, 5]})["eyes"])
    with pytest.raises(ValueError, match="group 'x' has ids"):
        metrics.grouped_f1(cm, {"x": [11]})


def test_summarize_and_table():
    truth, prediction = random_case(2, num_classes=11, absent=(3,))
    cm = confusion_matrix(truth, prediction, 11)
    names = ["bg", "face", "lb", "rb", "le", "re", "nose", "ulip", "imouth", "llip", "hair"]
    summary = json.loads(json.dumps(metrics.summarize(cm, names, groups=HELEN_GROUPS)))
    assert summary["absent"] == ["rb"]
    row = summary["classes"][3]
    assert row["present"] is False and row["iou"] is None and row["true_pixels"] == 0
    assert summary["classes"][4]["iou"] == pytest.approx(float(metrics.iou(cm)[4]))
    present_iou = [r["iou"] for r in summary["classes"] if r["present"]]
    assert summary["mean_iou"] == pytest.approx(np.mean(present_iou))
    assert summary["pixels"] == int((truth != 255).sum())
    assert summary["groups"]["overall"] == pytest.approx(
        metrics.grouped_f1(cm, HELEN_GROUPS)["overall"]
    )
    table = metrics.format_table(summary)
    assert "| 3 | rb | 0 | 0 | absent | absent | absent | absent |" in table
    assert "F1 overall" in table
    with pytest.raises(ValueError, match="does not fit 3 class names"):
        metrics.summarize(cm, names[:3])


@pytest.mark.parametrize(
    ("truth", "prediction", "message"),
    [
        ([0, 7], [0, 1], r"y_true has ids \[7\]"),
        ([0, 1], [0, -1], r"y_pred has ids \[-1\]"),
        ([0, 1, 1], [0, 1], "3 pixels"),
    ],
)
def test_confusion_matrix_rejects_bad_ids(truth, prediction, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(truth, prediction, 3)


def test_class_probabilities_and_predicted_labels():
    sigmoid = np.array([[0.2], [0.7], [0.5]], dtype="float32")
    np.testing.assert_allclose(
        metrics.class_probabilities(sigmoid), [[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]]
    )
    np.testing.assert_array_equal(metrics.predicted_labels(sigmoid), [0, 1, 0])
    tensor = metrics.class_probabilities(tf.constant(sigmoid))
    assert keras.ops.is_tensor(tensor) and tuple(tensor.shape) == (3, 2)
    softmax = np.array([[0.1, 0.2, 0.7]])
    assert metrics.class_probabilities(softmax) is not None
    np.testing.assert_array_equal(metrics.predicted_labels(softmax), [2])


def test_tensor_formulas_equal_numpy():
    truth, prediction = random_case(3)
    cm = confusion_matrix(truth, prediction, 5)
    tensor = tf.constant(cm, tf.float64)
    for fn in (metrics.mean_iou, metrics.mean_f1, metrics.pixel_accuracy):
        assert float(fn(tensor)) == pytest.approx(float(fn(cm)))
    np.testing.assert_allclose(metrics.iou(tensor).numpy(), metrics.iou(cm))


def one_hot_probs(prediction, num_classes):
    return np.eye(num_classes, dtype="float32")[prediction]


def test_keras_metric_accumulates_the_whole_set():
    truth, prediction = random_case(4)
    metric = ConfusionMatrixMetric(5)
    for batch in range(3):
        batch_probs = one_hot_probs(prediction[batch : batch + 1], 5)
        metric.update_state(truth[batch : batch + 1], batch_probs)
    expected = confusion_matrix(truth, prediction, 5)
    np.testing.assert_array_equal(metric.matrix(), expected)
    assert float(metric.result()) == pytest.approx(float(metrics.mean_iou(expected)))
    metric.reset_state()
    assert metric.matrix().sum() == 0


def test_accumulated_mean_iou_differs_from_per_batch_average():
    # Batch A holds only class 0, all right (mIoU 1); batch B: truth 0 1 1 1, all predicted 1
    # (IoU 0 and 3/4). Per-batch average 0.6875; over the set cm = [[4, 1], [0, 3]]: 0.775.
    batches = [([[0, 0, 0, 0]], [[0, 0, 0, 0]]), ([[0, 1, 1, 1]], [[1, 1, 1, 1]])]
    metric = MeanIoUMetric(2)
    per_batch = []
    for truth, prediction in batches:
        truth, probs = np.array(truth)[:, None], one_hot_probs(np.array(prediction), 2)[:, None]
        metric.update_state(truth, probs)
        per_batch.append(float(metrics.mean_iou(confusion_matrix(truth, np.array(prediction), 2))))
    assert float(metric.result()) == pytest.approx(0.775)
    assert np.mean(per_batch) == pytest.approx(0.6875)


def test_keras_metric_label_forms_sigmoid_and_xla():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, size=(2, 8, 8))
    truth[0, 0] = 255
    p1 = rng.random((2, 8, 8, 1)).astype("float32")
    expected = confusion_matrix(truth, (p1[..., 0] > 0.5).astype(int), 2)
    one_hot = np.eye(2, dtype="float32")[np.where(truth == 255, 0, truth)]
    one_hot[truth == 255] = 0
    for y_true in (truth, truth[..., None].astype("float32"), one_hot):
        metric = PixelAccuracyMetric(2)
        metric.update_state(y_true, p1)
        np.testing.assert_array_equal(metric.matrix(), expected)
        assert float(metric.result()) == pytest.approx(float(metrics.pixel_accuracy(expected)))
    metric = ConfusionMatrixMetric(2)
    tf.function(metric.update_state, jit_compile=True)(tf.constant(truth), tf.constant(p1))
    np.testing.assert_array_equal(metric.matrix(), expected)


@pytest.mark.parametrize(
    "make_metrics",
    [lambda: [MeanIoUMetric(3), PixelAccuracyMetric(3)], lambda: training_metrics(3)],
    ids=["a matrix each", "one shared matrix"],
)
def test_keras_metrics_in_evaluate(make_metrics):
    from facecolab.measures.losses import build_loss

    rng = np.random.default_rng(6)
    images = rng.random((6, 8, 8, 3)).astype("float32")
    truth = rng.integers(0, 3, size=(6, 8, 8))
    truth[:, 0] = 255
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1, activation="softmax")(inputs))
    chosen = make_metrics()
    model.compile(loss=build_loss("ce"), metrics=chosen, jit_compile=False)
    for _ in range(2):  # the second evaluate starts from reset matrices
        logs = model.evaluate(images, truth, batch_size=2, verbose=0, return_dict=True)
    cm = confusion_matrix(truth, model.predict(images, verbose=0).argmax(-1), 3)
    assert logs["mean_iou"] == pytest.approx(float(metrics.mean_iou(cm)), rel=1e-5)
    assert logs["pixel_accuracy"] == pytest.approx(float(metrics.pixel_accuracy(cm)), rel=1e-5)
    for metric in chosen:  # each matrix counted once per step, shared or not
        np.testing.assert_array_equal(metric.matrix(), cm)
    owned = sum(len(metric.variables) for metric in chosen)
    assert owned == (1 if chosen[0].shared is not None else 2)


def test_keras_metric_config_round_trip():
    restored = keras.metrics.deserialize(keras.metrics.serialize(MeanIoUMetric(3, name="miou")))
    assert type(restored) is MeanIoUMetric
    assert restored.get_config()["num_classes"] == 3 and restored.name == "miou"

"""Losses: hand-worked values, ignore label, label forms, sigmoid/softmax, build_loss, fit."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from facecolab.measures import losses
from facecolab.measures.losses import (
    binary_cross_entropy_loss,
    build_loss,
    cross_entropy_loss,
    dice_loss,
    focal_loss,
    jaccard_loss,
)

ALL_LOSSES = [dice_loss, jaccard_loss, cross_entropy_loss, binary_cross_entropy_loss, focal_loss]

# A 2×2 binary case worked by hand. Sigmoid P(class 1) per pixel; truth 0, 1, 1, 1.
# Expanded: class 0 probs .8 .4 .1 .5, class 1 probs .2 .6 .9 .5.
# Dice class 0: I = .8, |T| + |P| = 1 + 1.8; class 1: I = 2.0, |T| + |P| = 3 + 2.2.
LABELS = np.array([[[0, 1], [1, 1]]])
P1 = np.array([[[[0.2], [0.6]], [[0.9], [0.5]]]], dtype="float32")
LOG_PT = [math.log(0.8), math.log(0.6), math.log(0.9), math.log(0.5)]
HAND_CASES = [
    (dice_loss, {"smooth": 0.0}, 1 - (1.6 / 2.8 + 4.0 / 5.2) / 2),
    (dice_loss, {"smooth": 1.0}, 1 - (2.6 / 3.8 + 5.0 / 6.2) / 2),
    (dice_loss, {"smooth": 0.0, "include_background": False}, 1 - 4.0 / 5.2),
    (dice_loss, {"smooth": 0.0, "class_weights": [1, 3]}, 1 - (1.6 / 2.8 + 3 * 4.0 / 5.2) / 4),
    (jaccard_loss, {"smooth": 0.0}, 1 - (0.8 / 2.0 + 2.0 / 3.2) / 2),
    (cross_entropy_loss, {}, -sum(LOG_PT) / 4),
    (cross_entropy_loss, {"class_weights": [1, 3]}, -(LOG_PT[0] + 3 * sum(LOG_PT[1:])) / 10),
    (cross_entropy_loss, {"class_weights": [0, 1]}, -sum(LOG_PT[1:]) / 3),
    (binary_cross_entropy_loss, {}, -sum(LOG_PT) / 4),
    (focal_loss, {"gamma": 0.0}, -sum(LOG_PT) / 4),
    (
        focal_loss,
        {"gamma": 2.0},
        -(0.2**2 * LOG_PT[0] + 0.4**2 * LOG_PT[1] + 0.1**2 * LOG_PT[2] + 0.5**2 * LOG_PT[3]) / 4,
    ),
    (
        focal_loss,
        {"gamma": 0.0, "alpha": 0.25},
        -(0.75 * LOG_PT[0] + 0.25 * sum(LOG_PT[1:])) / (0.75 + 0.75),
    ),
]


def value(loss_fn, y_true, y_pred, **options):
    return float(loss_fn(y_true, y_pred, **options))


def random_probs(rng, shape):
    logits = rng.normal(size=shape).astype("float32")
    return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))


@pytest.mark.parametrize(("loss_fn", "options", "expected"), HAND_CASES)
def test_hand_worked_values(loss_fn, options, expected):
    assert value(loss_fn, LABELS, P1, **options) == pytest.approx(expected, rel=1e-5)


def test_bce_is_one_vs_rest_for_three_classes():
    probs = np.array([[[[0.5, 0.3, 0.2]]]], dtype="float32")
    expected = -(math.log(0.5) + math.log(0.7) + math.log(0.8)) / 3
    assert value(binary_cross_entropy_loss, np.array([[[0]]]), probs) == pytest.approx(expected)
    assert value(cross_entropy_loss, np.array([[[0]]]), probs) == pytest.approx(-math.log(0.5))


@pytest.mark.parametrize("loss_fn", ALL_LOSSES)
def test_perfect_prediction_is_zero(loss_fn):
    labels = np.random.default_rng(0).integers(0, 4, size=(2, 8, 8))
    probs = np.eye(4, dtype="float32")[labels]
    assert value(loss_fn, labels, probs) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("loss_fn", [dice_loss, jaccard_loss])
def test_totally_wrong_region_losses_near_one(loss_fn):
    labels = np.random.default_rng(1).integers(0, 3, size=(2, 32, 32))
    wrong = np.eye(3, dtype="float32")[(labels + 1) % 3]
    assert value(loss_fn, labels, wrong) == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("loss_fn", ALL_LOSSES)
def test_ignore_pixels_do_not_change_the_value(loss_fn):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, size=(2, 6, 6))
    probs = random_probs(rng, (2, 6, 6, 3))
    extra_labels = np.concatenate([labels, np.full((2, 6, 3), 255)], axis=2)
    extra_probs = np.concatenate([probs, random_probs(rng, (2, 6, 3, 3))], axis=2)
    assert value(loss_fn, extra_labels, extra_probs) == pytest.approx(
        value(loss_fn, labels, probs), rel=1e-5
    )


@pytest.mark.parametrize("loss_fn", ALL_LOSSES)
def test_label_forms_agree(loss_fn):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=(2, 6, 6))
    labels[0, :2] = 255
    probs = random_probs(rng, (2, 6, 6, 3))
    one_hot = np.eye(3, dtype="float32")[np.where(labels == 255, 0, labels)]
    one_hot[labels == 255] = 0
    sparse = value(loss_fn, labels, probs)
    assert value(loss_fn, labels[..., None].astype("float32"), probs) == pytest.approx(sparse)
    assert value(loss_fn, one_hot, probs) == pytest.approx(sparse, rel=1e-5)


@pytest.mark.parametrize("loss_fn", ALL_LOSSES)
def test_sigmoid_equals_two_channel_softmax(loss_fn):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, size=(2, 6, 6))
    labels[1, 0] = 255
    p1 = rng.uniform(0.01, 0.99, size=(2, 6, 6, 1)).astype("float32")
    two_channel = np.concatenate([1 - p1, p1], axis=-1)
    assert value(loss_fn, labels, p1) == pytest.approx(value(loss_fn, labels, two_channel))


@pytest.mark.parametrize("loss_fn", ALL_LOSSES)
@pytest.mark.parametrize("confidence", [1.0, 0.97])
def test_gradients_finite(loss_fn, confidence):
    # Class 3 is absent from truth and prediction (0/0 without smooth); one pixel is ignored;
    # confidence 1.0 puts probabilities exactly at 0 and 1.
    labels = np.array([[[0, 1, 255], [0, 0, 1]]])
    predicted = np.array([[[0, 0, 1], [1, 0, 2]]])
    rest = (1.0 - confidence) / 3
    probs = np.where(np.eye(4, dtype=bool)[predicted], confidence, rest)
    probs = tf.Variable(probs, dtype="float32")
    options = {"smooth": 0.0} if loss_fn in (dice_loss, jaccard_loss) else {}
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, probs, **options)
    gradient = tape.gradient(loss, probs).numpy()
    assert np.isfinite(float(loss))
    assert np.all(np.isfinite(gradient))
    assert np.all(gradient[0, 0, 2] == 0)  # the ignored pixel gets no gradient
    if confidence < 1:
        assert np.any(gradient != 0)


@pytest.mark.parametrize("loss_fn", ALL_LOSSES)
def test_float16_and_xla_graph_mode(loss_fn):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, size=(2, 6, 6)).astype("int32")
    probs = random_probs(rng, (2, 6, 6, 3))
    eager = value(loss_fn, labels, probs)
    xla = tf.function(loss_fn, jit_compile=True)
    graph = xla(tf.constant(labels), tf.constant(probs.astype("float16")))
    assert graph.dtype == tf.float32
    assert float(graph) == pytest.approx(eager, rel=2e-3)


def test_target_resized_to_a_lower_scale_output():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 3, size=(1, 8, 8))
    probs = random_probs(rng, (1, 4, 4, 3))
    nearest = tf.image.resize(labels[..., None], (4, 4), method="nearest")[..., 0].numpy()
    assert value(dice_loss, labels, probs) == pytest.approx(value(dice_loss, nearest, probs))


def test_absent_class_scores_perfect_even_without_smooth():
    labels = np.zeros((1, 4, 4), int)
    probs = np.eye(3, dtype="float32")[labels]
    assert value(dice_loss, labels, probs, smooth=0.0) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("y_true_shape", "message"), [((1, 4, 4, 2), "fits neither"), ((4, 4), "fits neither")]
)
def test_bad_label_shape_raises(y_true_shape, message):
    with pytest.raises(ValueError, match=message):
        dice_loss(np.zeros(y_true_shape), np.full((1, 4, 4, 3), 1 / 3, "float32"))


def test_class_weights_length_checked():
    with pytest.raises(ValueError, match="class_weights has 2 values for 3 classes"):
        cross_entropy_loss(
            np.zeros((1, 2, 2)), np.full((1, 2, 2, 3), 1 / 3, "float32"), class_weights=[1, 2]
        )


@pytest.mark.parametrize(
    ("spec", "weights", "options"),
    [
        ("dice", {"dice": 1.0}, {}),
        ("dice+ce", {"dice": 1.0, "ce": 1.0}, {}),
        ("Dice + CCE + Jaccard", {"dice": 1.0, "ce": 1.0, "jaccard": 1.0}, {}),
        ({"dice": 0.5, "bce": 2}, {"dice": 0.5, "bce": 2.0}, {}),
        ({"terms": "focal+iou", "gamma": 1.0}, {"focal": 1.0, "jaccard": 1.0}, {"gamma": 1.0}),
        (
            {"terms": {"ce": 1, "dice": 1}, "class_weights": [1, 2, 3]},
            {"ce": 1.0, "dice": 1.0},
            {"class_weights": [1, 2, 3]},
        ),
        ({"dice": 1, "ce": 1, "smooth": 0.0}, {"dice": 1.0, "ce": 1.0}, {"smooth": 0.0}),
    ],
)
def test_build_loss_is_the_weighted_sum(spec, weights, options):
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, size=(2, 6, 6))
    labels[0, 0] = 255
    probs = random_probs(rng, (2, 6, 6, 3))
    loss = build_loss(spec)
    expected = 0.0
    for term, weight in weights.items():
        loss_cls = losses.LOSSES[term]
        expected += weight * value(
            loss_cls.loss_fn,
            labels,
            probs,
            **{k: v for k, v in options.items() if k in loss_cls.option_names},
        )
    assert loss.terms == weights
    assert float(loss(labels, probs)) == pytest.approx(expected, rel=1e-5)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()
    assert float(restored(labels, probs)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("dice+hinge", r"unknown loss term 'hinge'; valid terms: \['bce', 'ce', 'dice'"),
        ({"dice": 1, "smoth": 1}, "unknown loss term 'smoth'"),
        ({"terms": "dice", "smoth": 1}, "unknown keys"),
        ("dice+dice", "appears twice"),
        ({"dice": -1}, "weight ≥ 0"),
        ({"dice": "one"}, "weight ≥ 0"),
        ("", "unknown loss term ''"),
        ({}, "non-empty"),
        (3, "string or dict"),
    ],
)
def test_build_loss_rejects_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        build_loss(spec)


def test_loss_class_rejects_unknown_option():
    with pytest.raises(ValueError, match="dice_loss takes no option"):
        losses.DiceLoss(gamma=2.0)


def tiny_model(outputs_channels, deep_supervision=False):
    inputs = keras.Input((16, 16, 3))
    features = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    activation = "sigmoid" if outputs_channels == 1 else "softmax"
    main = keras.layers.Conv2D(outputs_channels, 1, activation=activation, name="main")(features)
    if not deep_supervision:
        return keras.Model(inputs, main)
    pooled = keras.layers.AveragePooling2D(2)(features)
    aux = keras.layers.Conv2D(outputs_channels, 1, activation=activation, name="aux")(pooled)
    return keras.Model(inputs, [main, aux])


@pytest.mark.parametrize(
    ("spec", "channels", "deep_supervision"),
    [("dice+ce", 3, False), ("dice+bce", 1, False), ("dice+ce+jaccard", 3, True)],
)
def test_compile_and_fit_one_step(spec, channels, deep_supervision):
    rng = np.random.default_rng(8)
    images = rng.uniform(size=(4, 16, 16, 3)).astype("float32")
    labels = rng.integers(0, max(channels, 2), size=(4, 16, 16)).astype("int32")
    labels[:, :2] = 255
    model = tiny_model(channels, deep_supervision)
    loss = build_loss(spec)
    model.compile(
        optimizer="adam", loss=[loss, loss] if deep_supervision else loss, jit_compile=False
    )
    before = [w.numpy().copy() for w in model.trainable_weights]
    targets = (labels, labels) if deep_supervision else labels
    history = model.fit(images, targets, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [w.numpy() for w in model.trainable_weights]
    assert any(not np.allclose(b, a) for b, a in zip(before, after, strict=True))


def test_compiled_model_round_trips_with_its_loss(tmp_path):
    model = tiny_model(3)
    model.compile(optimizer="adam", loss=build_loss({"dice": 1, "ce": 0.5, "smooth": 2.0}))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored.loss, losses.CombinedLoss)
    assert restored.loss.get_config() == model.loss.get_config()

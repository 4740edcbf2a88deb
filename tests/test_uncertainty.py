"""Monte-Carlo dropout: sampling, running sums against a brute-force stack, MC layer
detection, and calibration (ECE by hand, reliability plot)."""

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from facecolab.models.layers import AlwaysOnDropout
from facecolab.models.mc_dropout import has_mc_dropout, without_mc_dropout
from facecolab.viz import plot_reliability
from facecolab.workflows.uncertainty import (
    expected_calibration_error,
    mc_statistics,
    predict_mc,
    reliability_diagram,
)


def tiny_model(channels=3, mc=True, seed=0):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = (AlwaysOnDropout if mc else keras.layers.Dropout)(0.5, seed=seed)(x)
    activation = "sigmoid" if channels == 1 else "softmax"
    outputs = keras.layers.Conv2D(channels, 1, activation=activation)(x)
    return keras.Model(inputs, outputs)


def images(count=5, seed=0):
    return np.random.default_rng(seed).random((count, 8, 8, 3)).astype("float32")


def brute_force(stack):
    """Reference statistics from all samples ``(S, N, H, W, C)`` at once."""
    mean = stack.mean(axis=0)
    entropy = -(mean * np.log(mean)).sum(-1)
    expected_entropy = -(stack * np.log(stack)).sum(-1).mean(axis=0)
    return mean, stack.var(axis=0), entropy, entropy - expected_entropy


def test_predict_samples_vary_and_predict_mc_is_consistent():
    model = tiny_model()
    x = images()
    assert not np.allclose(model.predict(x, verbose=0), model.predict(x, verbose=0))
    result = predict_mc(model, x, samples=6, batch_size=2)
    assert result.mean.shape == (5, 8, 8, 3) and result.variance.shape == (5, 8, 8, 3)
    assert result.entropy.shape == result.mutual_information.shape == (5, 8, 8)
    np.testing.assert_allclose(result.mean.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(result.labels, result.mean.argmax(-1))
    assert np.all(result.entropy >= 0) and np.all(result.mutual_information >= 0)
    assert np.all(result.mutual_information <= result.entropy + 1e-6)
    assert result.mutual_information.max() > 0 and result.variance.max() > 0
    assert result.samples == 6


def test_running_sums_equal_brute_force_stack():
    rng = np.random.default_rng(1)
    stack = rng.dirichlet(np.ones(4), size=(7, 2, 3, 3))  # (S, N, H, W, C)
    result = mc_statistics(sample for sample in stack)  # a generator: read once
    mean, variance, entropy, mutual_information = brute_force(stack)
    np.testing.assert_allclose(result.mean, mean, rtol=1e-6)
    np.testing.assert_allclose(result.variance, variance, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.entropy, entropy, rtol=1e-6)
    np.testing.assert_allclose(result.mutual_information, mutual_information, rtol=1e-5, atol=1e-7)
    assert result.samples == 7


def test_predict_mc_equals_brute_force_on_a_seeded_twin():
    model, twin = tiny_model(seed=3), tiny_model(seed=3)
    twin.set_weights(model.get_weights())
    x = images(3)
    result = predict_mc(model, x, samples=4, batch_size=3)
    stack = np.stack([twin.predict_on_batch(x) for _ in range(4)]).astype(np.float64)
    mean, variance, entropy, mutual_information = brute_force(stack)
    np.testing.assert_allclose(result.mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.variance, variance, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.mutual_information, mutual_information, atol=1e-5)


def test_one_sample_has_no_epistemic_part():
    stack = np.random.default_rng(2).dirichlet(np.ones(3), size=(1, 2, 2))
    result = mc_statistics(stack)
    np.testing.assert_allclose(result.mutual_information, 0.0, atol=1e-7)
    np.testing.assert_allclose(result.variance, 0.0, atol=1e-7)


def test_sigmoid_model_gives_two_classes():
    result = predict_mc(tiny_model(channels=1), images(2), samples=3)
    assert result.mean.shape == (2, 8, 8, 2)
    np.testing.assert_allclose(result.mean.sum(-1), 1.0, atol=1e-6)


def test_mc_layers_found_in_nested_models_and_missing_ones_reported():
    inner = tiny_model()
    inputs = keras.Input((8, 8, 3))
    outer = keras.Model(inputs, inner(inputs), name="outer")
    assert has_mc_dropout(inner) and has_mc_dropout(outer)
    plain = tiny_model(mc=False)
    assert not has_mc_dropout(plain)
    with pytest.raises(ValueError, match="no Monte-Carlo dropout layers; build it with bayesian"):
        predict_mc(plain, images(1), samples=2)
    with pytest.raises(ValueError, match="samples and batch_size"):
        predict_mc(inner, images(1), samples=0)


def test_without_mc_dropout_is_deterministic_with_the_same_weights():
    model = tiny_model()
    single = without_mc_dropout(model)
    x = images(2)
    assert not has_mc_dropout(single)
    np.testing.assert_allclose(single.predict(x, verbose=0), single.predict(x, verbose=0))
    assert has_mc_dropout(model)  # the original keeps sampling
    # Inverted dropout: the MC mean approaches the deterministic pass of the same weights.
    mc_mean = predict_mc(model, x, samples=200, batch_size=2).mean
    assert np.abs(mc_mean - single.predict(x, verbose=0)).mean() < 0.05


def test_ece_zero_when_perfectly_calibrated():
    # Binary: 10 pixels at confidence 0.8, 8 right; 5 pixels at confidence 0.6, 3 right.
    p1 = np.array([0.8] * 10 + [0.4] * 5)[:, None]
    labels = np.array([1] * 8 + [0] * 2 + [0] * 3 + [1] * 2)
    assert expected_calibration_error(p1, labels, bins=10) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("probs", "labels", "bins", "expected"),
    [
        # confidences .95 .95 .65 .65; right, wrong, right, right:
        # bin .9: acc .5 conf .95; bin .6: acc 1 conf .65 → (2·.45 + 2·.35) / 4
        ([[0.95, 0.05], [0.95, 0.05], [0.35, 0.65], [0.35, 0.65]], [0, 1, 1, 1], 10, 0.4),
        # one bin: mean confidence .8, accuracy .5
        ([[0.95, 0.05], [0.35, 0.65]], [0, 0], 1, 0.3),
        # the ignored pixel (a confident mistake) does not count
        ([[0.95, 0.05], [0.05, 0.95]], [0, 255], 10, 0.05),
    ],
)
def test_ece_hand_values(probs, labels, bins, expected):
    probs, labels = np.array(probs), np.array(labels)
    assert expected_calibration_error(probs, labels, bins=bins) == pytest.approx(expected)


def test_reliability_diagram_and_plot(tmp_path):
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(3), size=(2, 8, 8))
    labels = rng.integers(0, 3, size=(2, 8, 8))
    diagram = reliability_diagram(probs, labels, bins=5)
    assert diagram.counts.sum() == labels.size and diagram.edges.shape == (6,)
    assert np.isnan(diagram.accuracy[0])  # top-class confidence ≥ 1/3: bin [0, .2) is empty
    figure = plot_reliability({"MC mean": diagram, "single pass": diagram}, title="test")
    assert isinstance(figure, Figure)
    figure.savefig(tmp_path / "reliability.png")
    assert (tmp_path / "reliability.png").stat().st_size > 0
    with pytest.raises(ValueError, match="do not match"):
        reliability_diagram(probs, labels[0])

"""The inference runner: one API over Keras and TFLite models, any input size, by suffix."""

from __future__ import annotations

import numpy as np
import pytest

from facecolab.modelfiles.export import to_tflite
from facecolab.modelfiles.runner import Runner, keras_runner, load_runner, tflite_runner
from facecolab.models import build_model

SIZE = 32


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny sigmoid U-Net saved as .keras and converted to .tflite (float32)."""
    folder = tmp_path_factory.mktemp("runner")
    model = build_model("unet", (SIZE, SIZE, 3), 2, depth=2, base_filters=4, binary_output=True)
    model.save(folder / "tiny.keras")
    (folder / "tiny.tflite").write_bytes(to_tflite(model))
    return {"keras": folder / "tiny.keras", "tflite": folder / "tiny.tflite", "model": model}


@pytest.fixture(scope="module")
def photos():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (3, 45, 70, 3), dtype=np.uint8)


@pytest.mark.parametrize(("kind", "backend"), [("keras", "keras"), ("tflite", "tflite")])
def test_load_runner_picks_the_backend_by_suffix(files, kind, backend):
    runner = load_runner(files[kind])
    assert runner.backend == backend and runner.input_size == (SIZE, SIZE)
    assert runner.output_channels == 1 and runner.num_classes == 2


@pytest.mark.parametrize("kind", ["keras", "tflite"])
@pytest.mark.parametrize("aspect", ["stretch", "letterbox", "crop"])
def test_probabilities_at_the_input_size_for_one_image_or_a_batch(files, photos, kind, aspect):
    runner = load_runner(files[kind])
    single = runner.probabilities(photos[0], aspect)
    batch = runner.probabilities(photos, aspect, batch_size=2)
    assert single.shape == (45, 70, 2) and single.dtype == np.float32
    assert batch.shape == (3, 45, 70, 2)
    np.testing.assert_allclose(batch[0], single, atol=1e-6)
    np.testing.assert_allclose(batch.sum(-1), 1.0, atol=1e-5)


def test_tflite_float_gives_the_keras_probabilities(files, photos):
    keras_probs = keras_runner(files["model"]).probabilities(photos)
    for threads in (1, 3):
        tflite_probs = tflite_runner(files["tflite"], threads=threads).probabilities(photos)
        np.testing.assert_allclose(tflite_probs, keras_probs, atol=1e-4)


def test_runner_over_a_forward_function():
    """Any callable mapping (B, h, w, 3) in [0, 1] to probabilities is a runner."""
    runner = Runner(lambda batch: batch[..., :1], (8, 8), 1, "keras")
    image = np.zeros((16, 4, 3), np.uint8)
    image[:, :, 0] = 255
    probs = runner.probabilities(image)
    assert probs.shape == (16, 4, 2)
    np.testing.assert_allclose(probs[..., 1], 1.0)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((8, 8, 3), np.float32), "uint8"),
        (np.zeros((8, 8), np.uint8), "uint8 RGB"),
        (np.zeros((2, 8, 8, 4), np.uint8), "uint8 RGB"),
    ],
)
def test_probabilities_reject_other_inputs(files, images, message):
    with pytest.raises(ValueError, match=message):
        load_runner(files["keras"]).probabilities(images)


def test_clear_errors_for_tflite_files(files, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.tflite"):
        load_runner(tmp_path / "missing.tflite")
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(ValueError, match="junk.tflite: not a readable TFLite model"):
        load_runner(tmp_path / "junk.tflite")
    with pytest.raises(ValueError, match="threads"):
        tflite_runner(files["tflite"], threads=0)


def _softmax_of_input(channels: int = 3, dropout: bool = False):
    """A model whose class scores are its input channels (x 10), optionally through
    always-on dropout: its predictions are known by hand."""
    import keras

    from facecolab.models.layers import AlwaysOnDropout

    inputs = keras.Input((4, 6, channels))
    x = keras.layers.Rescaling(10.0)(inputs)
    if dropout:
        x = AlwaysOnDropout(0.5, seed=1)(x)
    return keras.Model(inputs, keras.layers.Softmax()(x))


def test_flip_tta_averages_with_the_mirrored_prediction_classes_swapped():
    from facecolab.modelfiles.runner import with_flip

    model = _softmax_of_input()
    batch = np.random.default_rng(0).random((2, 4, 6, 3)).astype("float32")
    plain = keras_runner(model).infer(batch)
    lut = np.arange(256, dtype=np.uint8)
    lut[1], lut[2] = 2, 1
    flipped = with_flip(keras_runner(model), lut).infer(batch)
    # the model is position-independent, so the mirrored pass mirrored back is the plain one
    np.testing.assert_allclose(flipped, (plain + plain[..., [0, 2, 1]]) / 2, atol=1e-6)


def test_mc_dropout_models_predict_deterministically_unless_sampled():

    model = _softmax_of_input(dropout=True)
    batch = np.random.default_rng(1).random((1, 4, 6, 3)).astype("float32")
    single = keras_runner(model)
    np.testing.assert_array_equal(single.infer(batch), single.infer(batch))
    sampled = keras_runner(model, mc_samples=8)
    assert not np.allclose(sampled.infer(batch), single.infer(batch))
    np.testing.assert_allclose(sampled.infer(batch).sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="no Monte-Carlo dropout layers"):
        keras_runner(_softmax_of_input(), mc_samples=4)

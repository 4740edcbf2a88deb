"""The inference runner: one API over Keras and TFLite models, any input size, by suffix."""

from __future__ import annotations

import numpy as np
import pytest

from facecolab.data.resize import resize_image
from facecolab.modelfiles.export import to_tflite
from facecolab.modelfiles.runner import (
    Runner,
    keras_runner,
    load_runner,
    restore_probabilities,
    tflite_runner,
    turned_copy,
)
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


@pytest.mark.parametrize("aspect", ["stretch", "letterbox", "crop"])
@pytest.mark.parametrize("sigmoid", [True, False])
def test_one_channel_is_that_class_of_the_whole_probabilities(photos, aspect, sigmoid):
    """A sigmoid model's P(person) resized alone is the person channel of [1 − p, p] resized
    (bilinear resizing is linear); a softmax model's channel is its slice."""
    forward = (
        (lambda b: b[..., :1])
        if sigmoid
        else (lambda b: (b + 0.1) / (b + 0.1).sum(-1, keepdims=True))
    )
    runner = Runner(forward, (16, 12), 1 if sigmoid else 3, "keras")
    whole = runner.probabilities(photos, aspect, batch_size=2)
    for channel in range(runner.num_classes):
        alone = runner.probabilities(photos, aspect, batch_size=2, channel=channel)
        assert alone.shape == photos.shape[:3]
        np.testing.assert_allclose(alone, whole[..., channel], atol=1e-5)
        np.testing.assert_allclose(
            runner.probabilities(photos[1], aspect, channel=channel), alone[1], atol=1e-6
        )
    with pytest.raises(ValueError, match="channel 3 is not a class"):
        runner.probabilities(photos[0], channel=3)


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


def _tall_unet():
    """A tiny sigmoid U-Net with a portrait (tall) input, built by the registry."""
    return build_model("unet", (16, 8, 3), 2, depth=2, base_filters=4, binary_output=True)


@pytest.mark.parametrize(
    ("input_size", "image_hw", "aspect", "can_turn", "expected"),
    [
        ((16, 8), (30, 40), "letterbox", True, (8, 16)),  # landscape into a tall input: turned
        ((16, 8), (40, 30), "letterbox", True, (16, 8)),  # same orientation
        ((16, 8), (30, 30), "letterbox", True, (16, 8)),  # a square photo fits either way
        ((16, 8), (30, 40), "stretch", True, (16, 8)),  # stretched inputs keep their geometry
        ((16, 8), (30, 40), "crop", True, (16, 8)),
        ((16, 8), (30, 40), "letterbox", False, (16, 8)),  # a runner that cannot turn
        ((8, 16), (40, 30), "letterbox", True, (16, 8)),  # portrait into a wide input
        ((8, 8), (30, 40), "letterbox", True, (8, 8)),  # a square input never turns
    ],
)
def test_fitted_size_turns_only_letterboxed_photos_of_the_other_orientation(
    input_size, image_hw, aspect, can_turn, expected
):
    runner = Runner(lambda b: b[..., :1], input_size, 1, "keras", turned=None)
    if can_turn:
        runner.turned = lambda: runner.forward
    assert runner.fitted_size(image_hw, aspect) == expected


def test_a_landscape_photo_runs_the_turned_model_with_the_same_weights():
    model = _tall_unet()
    runner = keras_runner(model)
    assert runner.turned is not None and runner.turned() is runner.turned()  # built once
    wide = build_model("unet", (8, 16, 3), 2, depth=2, base_filters=4, binary_output=True)
    wide.set_weights(model.get_weights())
    photo = np.random.default_rng(2).integers(0, 256, (30, 60, 3), dtype=np.uint8)
    fitted = resize_image(photo, (8, 16), "letterbox")[None] / np.float32(255)
    expected = restore_probabilities(wide.predict_on_batch(fitted)[0], (30, 60), "letterbox")
    np.testing.assert_allclose(
        runner.probabilities(photo, "letterbox")[..., 1:], expected, atol=1e-5
    )


def test_a_batch_of_both_orientations_keeps_its_order():
    runner = keras_runner(_tall_unet())
    rng = np.random.default_rng(3)
    photos = [
        rng.integers(0, 256, shape, dtype=np.uint8)
        for shape in [(40, 20, 3), (20, 40, 3), (33, 33, 3), (18, 50, 3)]
    ]
    together = list(runner.iter_probabilities(photos, "letterbox", batch_size=4))
    for photo, probs in zip(photos, together, strict=True):
        np.testing.assert_allclose(probs, runner.probabilities(photo, "letterbox"), atol=1e-6)


TALL_CONFIG = {
    "data": {"dataset": "portrait", "root": "photos", "image_size": [16, 8]},
    "model": {"name": "unet", "options": {"depth": 2, "base_filters": 4, "binary_output": True}},
}


def test_a_keras_file_turns_when_its_training_config_is_known(tmp_path):
    _tall_unet().save(tmp_path / "tall.keras")
    assert load_runner(tmp_path / "tall.keras").turned is None  # no config: never turns
    runner = load_runner(tmp_path / "tall.keras", config=TALL_CONFIG)
    photo = np.random.default_rng(4).integers(0, 256, (20, 40, 3), dtype=np.uint8)
    assert runner.fitted_size(photo.shape, "letterbox") == (8, 16)
    assert runner.probabilities(photo, "letterbox").shape == (20, 40, 2)


def test_other_runners_never_turn(tmp_path):
    (tmp_path / "tall.tflite").write_bytes(to_tflite(_tall_unet()))
    assert load_runner(tmp_path / "tall.tflite").turned is None  # fixed-shape TFLite graph
    assert keras_runner(_softmax_of_input()).turned is None  # not built by the registry


def test_rebuilt_at_refuses_models_it_cannot_rebuild():
    from facecolab.models import rebuilt_at

    with pytest.raises(ValueError, match="not built by build_model"):
        rebuilt_at(_softmax_of_input(), (8, 8, 3))
    with pytest.raises(ValueError, match="does not build this model's weights"):
        rebuilt_at(_tall_unet(), (8, 16, 3), ("unet", {"num_classes": 2, "depth": 2}))


def test_flip_tta_turns_both_passes():
    from facecolab.modelfiles.runner import with_flip

    runner = with_flip(keras_runner(_tall_unet()), np.arange(256, dtype=np.uint8))
    assert runner.turned is not None
    photo = np.random.default_rng(5).integers(0, 256, (20, 44, 3), dtype=np.uint8)
    fitted = resize_image(photo, (8, 16), "letterbox")[None] / np.float32(255)
    turned = runner.turned()
    mirrored = turned(np.ascontiguousarray(fitted[:, :, ::-1]))[:, :, ::-1]
    expected = (turned(fitted) + mirrored)[0] / 2  # the sigmoid p, averaged over both passes
    restored = restore_probabilities(expected, (20, 44), "letterbox")
    np.testing.assert_allclose(
        runner.probabilities(photo, "letterbox")[..., 1:], restored, atol=1e-5
    )


def test_a_training_config_that_does_not_rebuild_the_model_warns_at_load(tmp_path):
    _tall_unet().save(tmp_path / "tall.keras")
    wrong = {**TALL_CONFIG, "model": {"name": "unet", "options": {"depth": 2, "base_filters": 8}}}
    with pytest.warns(UserWarning, match="does not rebuild it turned"):
        runner = load_runner(tmp_path / "tall.keras", config=wrong)
    assert runner.turned is None
    photo = np.zeros((20, 40, 3), np.uint8)
    assert runner.probabilities(photo, "letterbox").shape == (20, 40, 2)  # letterboxed, as before


def test_runners_over_one_model_share_its_turned_copy_with_fresh_weights():
    model = _tall_unet()
    first = keras_runner(model)
    first.turned()
    photo = np.random.default_rng(6).integers(0, 256, (20, 40, 3), dtype=np.uint8)
    before = first.probabilities(photo, "letterbox")
    model.set_weights([w * 0.5 for w in model.get_weights()])  # trained further, say
    second = keras_runner(model)
    after = second.probabilities(photo, "letterbox")
    assert turned_copy(model, ("unet", {})) is turned_copy(model, ("unet", {}))  # one copy
    assert not np.allclose(after, before), "the second runner sees the new weights"

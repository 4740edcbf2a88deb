"""Shared model layers: argmax pooling / unpooling, input preprocessing, head helpers."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from facecolab.models.layers import (  # noqa: E402
    PREPROCESSING_MODES,
    ImageNetPreprocessing,
    MaxPoolWithArgmax,
    MaxUnpoolWithArgmax,
    ResizeTo,
    check_divisible,
    head_channels,
)


def test_unpool_puts_values_back_at_argmax_positions_by_hand():
    image = np.array([[1, 2, 0, 7], [4, 3, 6, 5], [0, 0, 9, 8], [0, 1, 8, 9.5]], dtype="float32")[
        None, :, :, None
    ]
    pooled, argmax = MaxPoolWithArgmax()(image)
    np.testing.assert_array_equal(np.asarray(pooled)[0, :, :, 0], [[4, 7], [1, 9.5]])
    # position inside each 2x2 window: dy * 2 + dx
    np.testing.assert_array_equal(np.asarray(argmax)[0, :, :, 0], [[2, 1], [3, 3]])
    values = np.array([[10, 20], [30, 40]], dtype="float32")[None, :, :, None]
    unpooled = np.asarray(MaxUnpoolWithArgmax()(values, argmax))[0, :, :, 0]
    expected = np.zeros((4, 4), "float32")
    expected[1, 0], expected[0, 3], expected[3, 1], expected[3, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(unpooled, expected)


def test_pool_then_unpool_keeps_maxima_and_zeros_elsewhere():
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(3, 8, 6, 5)).astype("float32")  # distinct values, batch of 3
    pooled, argmax = MaxPoolWithArgmax()(batch)
    restored = np.asarray(MaxUnpoolWithArgmax()(pooled, argmax))
    windows = batch.reshape(3, 4, 2, 3, 2, 5)
    window_max = windows.max(axis=(2, 4), keepdims=True)
    is_max = (windows == window_max).reshape(batch.shape)
    np.testing.assert_array_equal(restored, np.where(is_max, batch, 0))
    assert is_max.sum() == pooled.shape[0] * pooled.shape[1] * pooled.shape[2] * pooled.shape[3]


def test_unpool_in_a_model_has_symbolic_shape_and_gradient():
    import tensorflow as tf

    inputs = keras.Input((8, 8, 2))
    pooled, argmax = MaxPoolWithArgmax(name="pool")(inputs)
    outputs = MaxUnpoolWithArgmax(name="unpool")(pooled * 2.0, argmax)
    assert tuple(outputs.shape) == (None, 8, 8, 2)
    model = keras.Model(inputs, outputs)
    x = tf.constant(np.random.default_rng(1).normal(size=(2, 8, 8, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(model(x))
    gradient = tape.gradient(total, x).numpy()
    # d/dx of 2·max: 2 at each window's maximum, 0 elsewhere.
    assert sorted(np.unique(gradient)) == [0.0, 2.0]
    assert (gradient == 2.0).sum() == 2 * 4 * 4 * 2


@pytest.mark.parametrize(
    ("mode", "rgb", "expected"),
    [
        ("tf", (0.0, 0.5, 1.0), (-1.0, 0.0, 1.0)),
        ("uint8_range", (0.0, 0.5, 1.0), (0.0, 127.5, 255.0)),
        ("caffe", (1.0, 0.0, 0.0), (-103.939, -116.779, 255.0 - 123.68)),  # BGR order
        ("torch", (0.485, 0.456, 0.406), (0.0, 0.0, 0.0)),
        ("torch", (1.0, 1.0, 1.0), ((1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225)),
    ],
)
def test_imagenet_preprocessing_modes(mode, rgb, expected):
    pixel = np.array(rgb, "float32").reshape(1, 1, 1, 3)
    out = np.asarray(ImageNetPreprocessing(mode)(pixel)).reshape(3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)


def test_preprocessing_rejects_unknown_mode_and_round_trips_config():
    with pytest.raises(ValueError, match="caffe"):
        ImageNetPreprocessing("imagenet")
    layer = ImageNetPreprocessing("caffe", name="pre")
    clone = ImageNetPreprocessing.from_config(layer.get_config())
    assert clone.mode == "caffe" and set(PREPROCESSING_MODES) >= {"tf", "caffe", "torch"}


@pytest.mark.parametrize(
    ("num_classes", "binary_output", "channels"),
    [(2, True, 1), (2, False, 2), (8, True, 8), (19, False, 19)],
)
def test_head_channels(num_classes, binary_output, channels):
    assert head_channels(num_classes, binary_output) == channels


def test_head_channels_rejects_single_class():
    with pytest.raises(ValueError, match="num_classes"):
        head_channels(1, False)


def test_check_divisible_names_sizes():
    check_divisible((64, 96, 3), 32, "m")
    with pytest.raises(ValueError, match="divisible by 32; got 64×80"):
        check_divisible((64, 80, 3), 32, "m")


def test_resize_to_keeps_later_batch_norm_in_inference_mode():
    # keras.layers.Resizing here would switch the batch norm to training mode in model(x).
    inputs = keras.Input((8, 8, 4))
    pooled = keras.layers.AveragePooling2D(3)(inputs)  # 2×2, not a divisor of 8
    resized = ResizeTo(8, 8, name="resize")(pooled)
    outputs = keras.layers.BatchNormalization(name="bn")(resized)
    model = keras.Model(inputs, outputs)
    assert tuple(resized.shape) == (None, 8, 8, 4)
    x = np.random.default_rng(2).normal(3.0, 1.0, size=(2, 8, 8, 4)).astype("float32")
    eager = np.asarray(model(x))
    np.testing.assert_array_equal(model.get_layer("bn").moving_mean.numpy(), np.zeros(4))
    np.testing.assert_allclose(eager, model.predict(x, verbose=0), rtol=1e-6)
    constant = np.full((1, 3, 5, 2), 7.0, "float32")
    np.testing.assert_allclose(np.asarray(ResizeTo(6, 4)(constant)), 7.0, rtol=1e-6)


def test_argmax_pooling_matches_tensorflow():
    import tensorflow as tf

    batch = np.random.default_rng(2).normal(size=(2, 6, 8, 3)).astype("float32")
    pooled, position = MaxPoolWithArgmax()(batch)
    reference, flat = tf.nn.max_pool_with_argmax(batch, 2, 2, "VALID", include_batch_in_index=True)
    np.testing.assert_array_equal(np.asarray(pooled), reference.numpy())
    # TF's flat index ((b * H + y) * W + x) * C + c holds the same window position dy * 2 + dx
    flat = flat.numpy()
    y, x = (flat // 3 // 8) % 6, (flat // 3) % 8
    np.testing.assert_array_equal(np.asarray(position), (y % 2) * 2 + x % 2)

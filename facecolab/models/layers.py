"""Layers and blocks shared by the architectures.

Custom layers are registered so every model loads with ``keras.saving.load_model`` in safe
mode (no ``Lambda`` anywhere).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from facecolab.constants import KERAS_PACKAGE

# ImageNet statistics in RGB order, for inputs in [0, 1].
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# mode → (reverse RGB to BGR, per-channel scale, per-channel offset): y = x * scale + offset,
# applied to x in [0, 1] after the optional channel reversal. One entry per convention the
# keras.applications encoders were trained with.
PREPROCESSING_MODES: dict[str, tuple[bool, tuple[float, ...], tuple[float, ...]]] = {
    "tf": (False, (2.0,) * 3, (-1.0,) * 3),  # [-1, 1]: MobileNetV2
    "caffe": (True, (255.0,) * 3, tuple(-m for m in CAFFE_MEAN_BGR)),  # VGG16, ResNet50
    "torch": (
        False,
        tuple(1 / s for s in IMAGENET_STD_RGB),
        tuple(-m / s for m, s in zip(IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, strict=True)),
    ),
    "uint8_range": (False, (255.0,) * 3, (0.0,) * 3),  # [0, 255]: EfficientNet, which
    # rescales and normalises inside itself
}


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class AlwaysOnDropout(layers.Dropout):
    """Dropout that stays on at inference, for Monte-Carlo dropout.

    Keras 3 ignores ``Dropout(...)(x, training=True)`` inside ``model.predict``; forcing
    ``training=True`` in ``call`` keeps sampling on under ``predict``, jit and reload, while
    batch norm elsewhere stays in inference mode.
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class ImageNetPreprocessing(layers.Layer):
    """Maps model input RGB in [0, 1] to what a pretrained encoder expects.

    Models take ``float32 (B, H, W, 3)`` in [0, 1] (DESIGN.md); each encoder was trained on its
    own convention (``PREPROCESSING_MODES``), so the conversion lives inside the model and
    callers never see ImageNet means.

    Args:
        mode: a key of ``PREPROCESSING_MODES``: ``"tf"``, ``"caffe"``, ``"torch"`` or
            ``"uint8_range"``.
    """

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(
                f"unknown preprocessing mode {mode!r}; choose from {sorted(PREPROCESSING_MODES)}"
            )
        self.mode = mode

    def call(self, inputs):
        reverse_channels, scale, offset = PREPROCESSING_MODES[self.mode]
        x = ops.flip(inputs, axis=-1) if reverse_channels else inputs
        scale = ops.convert_to_tensor(scale, dtype=x.dtype)
        offset = ops.convert_to_tensor(offset, dtype=x.dtype)
        return x * scale + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _static_hw(shape, layer: str) -> tuple[int, int, int]:
    """``(H, W, C)`` of a ``(B, H, W, C)`` shape; these layers need them known when built."""
    height, width, channels = shape[1:]
    if None in (height, width, channels):
        raise ValueError(f"{layer} needs a fixed input height, width and channels; got {shape}")
    return int(height), int(width), int(channels)


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class MaxPoolWithArgmax(layers.Layer):
    """Non-overlapping max pooling that also returns where in its window each maximum was.

    SegNet's decoder needs the positions to unpool. Written with ``keras.ops`` alone (any
    backend, exportable to TFLite): each ``p × p`` window becomes a last axis of ``p²``
    values, reduced by max and argmax.

    Input ``(B, H, W, C)`` with fixed H and W divisible by ``pool_size``. Returns
    ``(pooled, argmax)``: ``pooled (B, H/p, W/p, C)`` in the input dtype and ``argmax
    (B, H/p, W/p, C)`` int32, the position ``dy * p + dx`` of each maximum inside its window
    (the first one on ties, in row-major order).
    """

    def __init__(self, pool_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)

    def call(self, inputs):
        p = self.pool_size
        height, width, channels = _static_hw(inputs.shape, type(self).__name__)
        h, w = height // p, width // p
        windows = ops.reshape(inputs, (-1, h, p, w, p, channels))
        windows = ops.reshape(
            ops.transpose(windows, (0, 1, 3, 5, 2, 4)), (-1, h, w, channels, p * p)
        )
        pooled = ops.max(windows, axis=-1)
        # The first maximum's position without argmax (which TFLite cannot convert on the
        # TensorFlow backend): rank window positions p², …, 1 and keep the largest ranked max.
        is_max = ops.cast(windows >= ops.expand_dims(pooled, -1), "int32")
        rank = ops.arange(p * p, 0, -1, dtype="int32")
        return pooled, p * p - ops.max(is_max * rank, axis=-1)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        shape = (batch, height // self.pool_size, width // self.pool_size, channels)
        return shape, shape

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class MaxUnpoolWithArgmax(layers.Layer):
    """Inverse of ``MaxPoolWithArgmax``: puts each value back at its window's argmax.

    ``call(inputs, indices)``: ``inputs (B, h, w, C)`` values, ``indices (B, h, w, C)`` int
    window positions from ``MaxPoolWithArgmax`` of the same batch. Returns
    ``(B, h·p, w·p, C)``: the values at their positions, zeros elsewhere (SegNet's sparse
    upsampling, as a one-hot product, so gradients flow back to ``inputs``).
    """

    def __init__(self, pool_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)

    def call(self, inputs, indices):
        p = self.pool_size
        h, w, channels = _static_hw(inputs.shape, type(self).__name__)
        spread = ops.one_hot(indices, p * p, dtype=inputs.dtype) * ops.expand_dims(inputs, -1)
        spread = ops.reshape(spread, (-1, h, w, channels, p, p))
        spread = ops.transpose(spread, (0, 1, 4, 2, 5, 3))
        return ops.reshape(spread, (-1, h * p, w * p, channels))

    def compute_output_shape(self, inputs_shape, indices_shape):
        batch, height, width, channels = inputs_shape
        scaled = [None if size is None else size * self.pool_size for size in (height, width)]
        return (batch, *scaled, channels)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class ResizeTo(layers.Layer):
    """Resize feature maps ``(B, h, w, C)`` to a fixed ``(B, height, width, C)``.

    For sizes that are not an integer multiple (PSPNet's pooled bins). Not
    ``keras.layers.Resizing``: as an image-preprocessing layer its ``training`` defaults to
    True and, in an eager model call, leaks into the layers after it (batch norms then run in
    training mode).
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.interpolation = int(height), int(width), interpolation

    def call(self, inputs):
        return ops.image.resize(inputs, (self.height, self.width), interpolation=self.interpolation)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
        }


def conv_bn_relu(
    x,
    filters: int,
    name: str,
    batch_norm: bool = True,
    kernel_size: int = 3,
    dilation_rate: int = 1,
    bn_momentum: float = 0.99,
):
    """Conv → (BatchNorm) → ReLU with predictable names ``{name}_conv/_bn/_relu``."""
    x = layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        use_bias=not batch_norm,
        dilation_rate=dilation_rate,
        kernel_initializer="he_normal",
        name=f"{name}_conv",
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def head_channels(num_classes: int, binary_output: bool) -> int:
    """Output channels: 1 (sigmoid, P(class 1)) for a binary model of 2 classes, else C."""
    if num_classes < 2:
        raise ValueError(
            f"num_classes must be ≥ 2 (got {num_classes}); a binary task is "
            "num_classes=2 with binary_output=True"
        )
    return 1 if binary_output and num_classes == 2 else num_classes


def segmentation_head(x, num_classes: int, name: str = "head", upsample: int = 1):
    """1×1 conv to class scores, optional bilinear upsampling of those scores, then softmax
    (C ≥ 2) or one sigmoid channel (``num_classes=1``, see ``head_channels``).

    Upsampling the C-channel scores rather than the features keeps full-resolution work
    small. Always float32, so mixed precision keeps a float32 output. The output layer is
    named ``{name}_softmax`` or ``{name}_sigmoid`` (the model's output name).
    """
    x = layers.Conv2D(num_classes, 1, name=f"{name}_conv", dtype="float32")(x)
    if upsample > 1:
        x = layers.UpSampling2D(
            upsample, interpolation="bilinear", name=f"{name}_upsample", dtype="float32"
        )(x)
    activation = "sigmoid" if num_classes == 1 else "softmax"
    return layers.Activation(activation, name=f"{name}_{activation}", dtype="float32")(x)


def check_divisible(input_shape, divisor: int, model_name: str) -> None:
    """Raise ``ValueError`` unless H and W of ``input_shape`` are multiples of ``divisor``
    (the model's total downsampling, so skips and upsampled maps line up exactly)."""
    height, width = input_shape[:2]
    if height % divisor or width % divisor:
        raise ValueError(f"{model_name} needs H and W divisible by {divisor}; got {height}×{width}")

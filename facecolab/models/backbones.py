"""Pretrained-encoder contract: which keras.applications model, how it wants its input, and
which layers give the features at each output stride.

Decoders ask for strides (``build_backbone("mobilenetv2", ..., strides=(2, 4, 8))``) and
never name layers themselves; this table is the only place layer names live.

Weights: ``None`` (random, the default: no download), a local file path (a keras notop
``.h5`` or a ``.weights.h5`` saved from the same application with ``include_top=False``), or
``"imagenet"`` (Keras downloads it, or finds it offline in ``$KERAS_HOME/models``; a failed
download is one ``ConnectionError`` saying what to do: :func:`build_application`). Keras'
EfficientNet applies its ImageNet input-scaling fix only for ``"imagenet"``: to use the official
EfficientNet file offline, put it in ``$KERAS_HOME/models`` and pass ``"imagenet"``.
"""

from __future__ import annotations

import os
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
from keras import layers

from facecolab.models.layers import ImageNetPreprocessing


@dataclass(frozen=True)
class Backbone:
    """One encoder: its constructor, its input convention and its feature layers.

    Attributes:
        application: a ``keras.applications`` constructor.
        preprocessing: ``ImageNetPreprocessing`` mode mapping [0, 1] RGB to its input.
        features: output stride → name of the layer whose output is the feature map there.
    """

    application: Callable[..., keras.Model]
    preprocessing: str
    features: dict[int, str]


BACKBONES: dict[str, Backbone] = {
    "mobilenetv2": Backbone(
        keras.applications.MobileNetV2,
        "tf",
        {
            2: "expanded_conv_project_BN",
            4: "block_2_add",
            8: "block_5_add",
            16: "block_12_add",
            32: "block_16_project_BN",
        },
    ),
    "resnet50": Backbone(
        keras.applications.ResNet50,
        "caffe",
        {
            2: "conv1_relu",
            4: "conv2_block3_out",
            8: "conv3_block4_add",
            16: "conv4_block6_out",
            32: "conv5_block3_out",
        },
    ),
    "efficientnetb0": Backbone(
        keras.applications.EfficientNetB0,
        "uint8_range",
        {
            2: "block2a_expand_bn",
            4: "block3a_expand_bn",
            8: "block4a_expand_bn",
            16: "block6a_expand_bn",
            32: "top_activation",
        },
    ),
    "vgg16": Backbone(
        keras.applications.VGG16,
        "caffe",
        {
            1: "block1_conv2",
            2: "block2_conv2",
            4: "block3_conv3",
            8: "block4_conv3",
            16: "block5_conv3",
        },
    ),
}


def check_weights(weights: str | os.PathLike | None) -> str | None:
    """Validate an ``encoder_weights`` argument: ``None``, ``"imagenet"`` or an existing file.

    Raises:
        FileNotFoundError: a path that does not exist (named in the message).
    """
    if weights is None or weights == "imagenet":
        return weights
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"encoder weights file {path!r} does not exist "
            "(pass None, 'imagenet' or a local .h5 / .weights.h5 file)"
        )
    return path


IMAGENET_OFFLINE_HELP = (
    "pass encoder_weights=None for random encoder weights (notebooks: IMAGENET_WEIGHTS = False; "
    "configs: model.options.encoder_weights=null), or the path of a local copy of the file "
    "(keras' notop .h5), or put that file in $KERAS_HOME/models (default ~/.keras/models)"
)


def _is_download_failure(error: Exception) -> bool:
    """Keras' ``get_file`` reports a failed fetch as a bare ``Exception("URL fetch failure
    …")``; the network layer may raise ``URLError``, ``ConnectionError`` or a timeout."""
    if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError)):
        return True
    return "URL fetch failure" in str(error)


def build_application(name: str, input_shape, weights=None, **application_options) -> keras.Model:
    """``keras.applications`` encoder ``name`` without its top, with ``weights`` (``None``,
    ``"imagenet"`` or a local file: :func:`check_weights`).

    Raises:
        FileNotFoundError: a weights path that does not exist.
        ConnectionError: ``"imagenet"`` weights are not cached and could not be downloaded
            (offline); the message says what failed and what to pass instead.
    """
    backbone = get_backbone(name)
    weights = check_weights(weights)
    try:
        return backbone.application(
            include_top=False,
            weights=weights,
            input_shape=tuple(input_shape),
            **application_options,
        )
    except Exception as error:
        if weights != "imagenet" or not _is_download_failure(error):
            raise
        raise ConnectionError(
            f"{backbone.application.__name__}: downloading the ImageNet encoder weights failed "
            f"({error}); {IMAGENET_OFFLINE_HELP}"
        ) from None


def get_backbone(name: str) -> Backbone:
    """The ``BACKBONES`` entry ``name``; unknown names raise ``ValueError`` listing them."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {sorted(BACKBONES)}")
    return BACKBONES[name]


def build_backbone(
    name: str,
    input_shape,
    strides: Sequence[int],
    weights=None,
    bn_momentum: float | None = None,
    **application_options,
) -> keras.Model:
    """Build a multi-output feature extractor from a keras.applications encoder.

    Args:
        name: a ``BACKBONES`` key.
        input_shape: ``(H, W, 3)`` of the *preprocessed* input (see ``preprocess``).
        strides: output strides wanted, e.g. ``(4, 16)``; the outputs follow this order.
        weights: ``None``, ``"imagenet"`` or a local weights file (module docstring).
        bn_momentum: if given, set on every BatchNormalization of the encoder (lower it for
            short from-scratch runs so the inference statistics catch up).
        **application_options: passed to the constructor (e.g. ``alpha`` for MobileNetV2).

    Returns:
        ``keras.Model`` named ``"encoder"`` mapping ``(B, H, W, 3)`` to one feature map
        ``(B, H/s, W/s, C_s)`` per stride ``s``. It keeps the application's layer names, so it
        can be frozen (``model.get_layer("encoder").trainable = False``) or inspected.
    """
    backbone = get_backbone(name)
    missing = [s for s in strides if s not in backbone.features]
    if missing:
        raise ValueError(
            f"backbone {name!r} has no features at strides {missing}; "
            f"available: {sorted(backbone.features)}"
        )
    application = build_application(name, input_shape, weights, **application_options)
    if bn_momentum is not None:
        for layer in application.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.momentum = bn_momentum
    outputs = [application.get_layer(backbone.features[s]).output for s in strides]
    return keras.Model(application.input, outputs, name="encoder")


def preprocess(inputs, name: str):
    """Apply backbone ``name``'s input convention to model inputs in [0, 1]."""
    mode = get_backbone(name).preprocessing
    return ImageNetPreprocessing(mode, name=f"{name}_preprocessing")(inputs)


def copy_weights_by_name(source: keras.Model, target: keras.Model) -> int:
    """Copy the weights of every weighted layer of ``source`` into the same-named layer of
    ``target`` (e.g. a keras VGG16 into SegNet's VGG16-named encoder).

    Returns:
        Number of layers copied.

    Raises:
        ValueError: a weighted source layer has no same-named layer in ``target``, or shapes
            differ.
    """
    target_names = {layer.name for layer in target.layers}
    copied = 0
    for layer in source.layers:
        if not layer.weights:
            continue
        if layer.name not in target_names:
            raise ValueError(
                f"layer {layer.name!r} of {source.name!r} has no counterpart in {target.name!r}"
            )
        target.get_layer(layer.name).set_weights(layer.get_weights())
        copied += 1
    return copied

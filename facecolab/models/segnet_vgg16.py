"""SegNet (Badrinarayanan et al., 2015) on a VGG16 encoder, and Bayesian SegNet (project 1).

The encoder keeps the position of every max (``MaxPoolWithArgmax``); the decoder puts values
back there (``MaxUnpoolWithArgmax``) and densifies them with convolutions. The encoder layers
are named as in ``keras.applications.VGG16`` (``block1_conv1`` …), so VGG16 weights load by
name. Bayesian SegNet (Kendall et al., 2015) adds dropout after the three deepest encoder
blocks (after pool3–pool5) and the three matching decoder blocks: six always-on dropout
layers, sampled at test time for Monte-Carlo uncertainty.
"""

from __future__ import annotations

import keras
from keras import layers

from facecolab.models.backbones import (
    build_application,
    check_weights,
    copy_weights_by_name,
    preprocess,
)
from facecolab.models.layers import (
    AlwaysOnDropout,
    MaxPoolWithArgmax,
    MaxUnpoolWithArgmax,
    check_divisible,
    conv_bn_relu,
    head_channels,
    segmentation_head,
)

# VGG16 encoder: filters per conv, one tuple per block (13 convs).
ENCODER_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
# Decoder mirror, deepest block first; the last conv of a block maps to the next block's width.
DECODER_BLOCKS = ((512, 512, 512), (512, 512, 256), (256, 256, 128), (128, 64), (64,))
BAYESIAN_BLOCKS = 3  # deepest encoder and decoder blocks followed by dropout


def _vgg_conv(x, filters: int, name: str, batch_norm: bool, bn_momentum: float):
    """VGG16 conv (with bias, named as keras' VGG16 for weight loading) → (BN) → ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", name=name)(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_segnet_vgg16(
    input_shape=(256, 256, 3),
    num_classes: int = 2,
    batch_norm: bool = True,
    bn_momentum: float = 0.99,
    bayesian: bool = False,
    dropout: float = 0.5,
    width: float = 1.0,
    encoder_weights=None,
    binary_output: bool = False,
    name: str = "segnet_vgg16",
) -> keras.Model:
    """Build SegNet / Bayesian SegNet.

    Args:
        input_shape: ``(H, W, 3)``, H and W divisible by 32; float32 RGB in [0, 1].
        num_classes: output ``(B, H, W, C)`` softmax (or 1 sigmoid channel, see
            ``binary_output``).
        batch_norm: batch norm after every conv (SegNet has it; plain VGG16 does not).
        bn_momentum: batch-norm momentum.
        bayesian: add six ``AlwaysOnDropout(dropout)`` layers (module docstring).
        dropout: Bayesian SegNet's rate (0.5, i.e. keep-prob 0.5).
        width: multiplier of every conv's filters (VGG16's are 1.0); a smaller SegNet trains
            faster and ships smaller, but then has no VGG16 weights to load.
        encoder_weights: ``None``, ``"imagenet"`` or a local weights file of
            ``keras.applications.VGG16(include_top=False)`` (notop ``.h5`` or ``.weights.h5``);
            copied into the encoder convs by layer name.
        binary_output: one sigmoid channel when ``num_classes == 2``.
    """
    check_divisible(input_shape, 2 ** len(ENCODER_BLOCKS), "segnet_vgg16")
    if width <= 0:
        raise ValueError(f"segnet_vgg16 width must be > 0, got {width}")
    if width != 1.0 and encoder_weights is not None:
        raise ValueError(f"segnet_vgg16: VGG16 encoder weights need width 1.0, got {width}")

    def scaled(filters: int) -> int:
        return max(8, round(filters * width))

    encoder_weights = check_weights(encoder_weights)  # a missing file fails before the build
    inputs = keras.Input(input_shape, name="image")
    x = preprocess(inputs, "vgg16")
    indices = []
    for block, block_filters in enumerate(ENCODER_BLOCKS, start=1):
        for conv, filters in enumerate(block_filters, start=1):
            x = _vgg_conv(x, scaled(filters), f"block{block}_conv{conv}", batch_norm, bn_momentum)
        x, argmax = MaxPoolWithArgmax(name=f"block{block}_pool")(x)
        indices.append(argmax)
        if bayesian and block > len(ENCODER_BLOCKS) - BAYESIAN_BLOCKS:
            x = AlwaysOnDropout(dropout, name=f"block{block}_dropout")(x)
    for depth, block_filters in enumerate(DECODER_BLOCKS):
        block = len(DECODER_BLOCKS) - depth
        x = MaxUnpoolWithArgmax(name=f"dec{block}_unpool")(x, indices[block - 1])
        for conv, filters in enumerate(block_filters, start=1):
            x = conv_bn_relu(
                x, scaled(filters), f"dec{block}_{conv}", batch_norm, bn_momentum=bn_momentum
            )
        if bayesian and depth < BAYESIAN_BLOCKS:
            x = AlwaysOnDropout(dropout, name=f"dec{block}_dropout")(x)
    outputs = segmentation_head(x, head_channels(num_classes, binary_output))
    model = keras.Model(inputs, outputs, name=name)
    if encoder_weights is not None:
        reference = build_application("vgg16", input_shape, encoder_weights)
        copy_weights_by_name(reference, model)
    return model

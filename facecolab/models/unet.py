"""U-Net (Ronneberger et al., 2015) with configurable depth, width, batch norm and dropout.

Projects 2 (CelebAMask-HQ, base 16 with batch norm, 19 classes) and 4 (Helen, 11 classes)
and the LFW Part Labels model use it.
"""

from __future__ import annotations

import keras
from keras import layers

from facecolab.models.layers import (
    AlwaysOnDropout,
    check_divisible,
    conv_bn_relu,
    head_channels,
    segmentation_head,
)


def build_unet(
    input_shape=(256, 256, 3),
    num_classes: int = 2,
    depth: int = 4,
    base_filters: int = 16,
    batch_norm: bool = True,
    bn_momentum: float = 0.99,
    dropout: float = 0.0,
    mc_dropout: bool = False,
    binary_output: bool = False,
    name: str = "unet",
) -> keras.Model:
    """Build a U-Net.

    Args:
        input_shape: ``(H, W, 3)``; H and W divisible by ``2**depth``. Inputs are float32 RGB in
            [0, 1].
        num_classes: output classes; the output is softmax ``(B, H, W, C)``, or sigmoid
            ``(B, H, W, 1)`` for 2 classes with ``binary_output``.
        depth: number of 2× downsamplings.
        base_filters: filters of the first stage, doubled at each stage.
        bn_momentum: lower it (e.g. 0.9) for short runs, so the moving statistics used in
            inference catch up with the weights.
        dropout: rate at the bottleneck and the deepest decoder stage.
        mc_dropout: make that dropout always on (Monte-Carlo sampling under ``predict``).
        binary_output: for 2 classes, one sigmoid channel instead of a 2-way softmax.
    """
    check_divisible(input_shape, 2**depth, f"U-Net of depth {depth}")
    dropout_layer = AlwaysOnDropout if mc_dropout else layers.Dropout
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    skips = []
    for stage in range(depth):
        filters = base_filters * 2**stage
        x = conv_bn_relu(x, filters, f"enc{stage}a", batch_norm, bn_momentum=bn_momentum)
        x = conv_bn_relu(x, filters, f"enc{stage}b", batch_norm, bn_momentum=bn_momentum)
        skips.append(x)
        x = layers.MaxPooling2D(name=f"enc{stage}_pool")(x)
    filters = base_filters * 2**depth
    x = conv_bn_relu(x, filters, "bottleneck_a", batch_norm, bn_momentum=bn_momentum)
    x = conv_bn_relu(x, filters, "bottleneck_b", batch_norm, bn_momentum=bn_momentum)
    if dropout:
        x = dropout_layer(dropout, name="bottleneck_dropout")(x)
    for stage in reversed(range(depth)):
        filters = base_filters * 2**stage
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"dec{stage}_up")(x)
        x = layers.Concatenate(name=f"dec{stage}_concat")([x, skips[stage]])
        x = conv_bn_relu(x, filters, f"dec{stage}a", batch_norm, bn_momentum=bn_momentum)
        x = conv_bn_relu(x, filters, f"dec{stage}b", batch_norm, bn_momentum=bn_momentum)
        if dropout and stage == depth - 1:
            x = dropout_layer(dropout, name=f"dec{stage}_dropout")(x)
    outputs = segmentation_head(x, head_channels(num_classes, binary_output))
    return keras.Model(inputs, outputs, name=name)

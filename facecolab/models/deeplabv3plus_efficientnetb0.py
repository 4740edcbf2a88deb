"""DeepLabv3+ (Chen et al., 2018) on EfficientNetB0 (project 3).

High-level features at ``block6a_expand_bn`` (stride 16) go through atrous spatial pyramid
pooling (rates 2/4/6 at that scale, as project 3, plus image pooling); the result is upsampled
4× and joined with the stride-4 low-level features (``block3a_expand_bn``) before the decoder
convs and a 4× upsampling of the scores.
"""

from __future__ import annotations

import keras
from keras import layers

from facecolab.models.backbones import build_backbone, preprocess
from facecolab.models.layers import check_divisible, conv_bn_relu, head_channels, segmentation_head

LOW_LEVEL_STRIDE, HIGH_LEVEL_STRIDE = 4, 16


def atrous_spatial_pyramid_pooling(x, rates, filters: int, bn_momentum: float, name: str = "aspp"):
    """ASPP: a 1×1 branch, one dilated 3×3 branch per rate and an image-pooling branch
    (global average → 1×1 conv → tiled back), concatenated and fused by a 1×1 conv.

    Args:
        x: features ``(B, h, w, C)`` with static h and w.

    Returns:
        ``(B, h, w, filters)``.
    """
    height, width = x.shape[1:3]
    branches = [conv_bn_relu(x, filters, f"{name}_1x1", kernel_size=1, bn_momentum=bn_momentum)]
    for rate in rates:
        branches.append(
            conv_bn_relu(
                x, filters, f"{name}_rate{rate}", dilation_rate=rate, bn_momentum=bn_momentum
            )
        )
    pooled = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_image_pool")(x)
    pooled = conv_bn_relu(pooled, filters, f"{name}_image", kernel_size=1, bn_momentum=bn_momentum)
    branches.append(layers.UpSampling2D((height, width), name=f"{name}_image_tile")(pooled))
    x = layers.Concatenate(name=f"{name}_concat")(branches)
    return conv_bn_relu(x, filters, f"{name}_fuse", kernel_size=1, bn_momentum=bn_momentum)


def build_deeplabv3plus_efficientnetb0(
    input_shape=(256, 256, 3),
    num_classes: int = 8,
    atrous_rates=(2, 4, 6),
    aspp_filters: int = 256,
    low_level_filters: int = 48,
    decoder_filters: int = 256,
    encoder_weights=None,
    bn_momentum: float = 0.99,
    binary_output: bool = False,
    name: str = "deeplabv3plus_efficientnetb0",
) -> keras.Model:
    """Build DeepLabv3+ on EfficientNetB0.

    Args:
        input_shape: ``(H, W, 3)``, H and W divisible by 16; float32 RGB in [0, 1] (scaled to
            [0, 255] inside, as Keras' EfficientNet rescales and normalises itself).
        num_classes: output ``(B, H, W, C)`` softmax.
        atrous_rates: ASPP dilation rates at stride 16 (project 3: 2, 4, 6).
        aspp_filters: filters of every ASPP branch and of its fusion.
        low_level_filters: filters of the 1×1 projection of the stride-4 features.
        decoder_filters: filters of the two 3×3 decoder convs.
        encoder_weights: ``None``, ``"imagenet"`` or a local weights file of
            ``keras.applications.EfficientNetB0(include_top=False)`` (see ``backbones``).
        bn_momentum: momentum of all batch norms, encoder included.
        binary_output: one sigmoid channel when ``num_classes == 2``.
    """
    check_divisible(input_shape, HIGH_LEVEL_STRIDE, "deeplabv3plus_efficientnetb0")
    inputs = keras.Input(input_shape, name="image")
    encoder = build_backbone(
        "efficientnetb0",
        input_shape,
        strides=(LOW_LEVEL_STRIDE, HIGH_LEVEL_STRIDE),
        weights=encoder_weights,
        bn_momentum=bn_momentum,
    )
    low_level, x = encoder(preprocess(inputs, "efficientnetb0"))
    x = atrous_spatial_pyramid_pooling(x, atrous_rates, aspp_filters, bn_momentum)
    x = layers.UpSampling2D(
        HIGH_LEVEL_STRIDE // LOW_LEVEL_STRIDE, interpolation="bilinear", name="decoder_up"
    )(x)
    low_level = conv_bn_relu(
        low_level, low_level_filters, "decoder_low_level", kernel_size=1, bn_momentum=bn_momentum
    )
    x = layers.Concatenate(name="decoder_concat")([x, low_level])
    x = conv_bn_relu(x, decoder_filters, "decoder_a", bn_momentum=bn_momentum)
    x = conv_bn_relu(x, decoder_filters, "decoder_b", bn_momentum=bn_momentum)
    outputs = segmentation_head(
        x, head_channels(num_classes, binary_output), upsample=LOW_LEVEL_STRIDE
    )
    return keras.Model(inputs, outputs, name=name)

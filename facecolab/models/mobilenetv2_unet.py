"""MobileNetV2 U-Net (project 5, portrait matting as binary segmentation).

MobileNetV2 encoder with skips at strides 2–16 and its stride-32 output as the bottleneck; each
decoder stage doubles the resolution with a transposed conv, concatenates the skip and applies
two conv-BN-ReLU; a last bilinear upsampling returns to full resolution.

Speed options (defaults: project 5's decoder above). On a CPU the decoder stages at high
resolution cost more than the whole alpha-0.35 encoder (``benchmarks/bench_inference.py``):
a shorter ``decoder_filters`` stops the decoder at a coarser stride, ``final_filters=0`` drops
the full-resolution stage (the class scores are upsampled bilinearly instead, as
``segmentation_head`` does), ``decoder_convs=1`` halves each stage, ``separable=True`` makes
its convolutions depthwise-separable and ``upsampling="bilinear"`` replaces the transposed
convolutions by a parameter-free resize.

Deep supervision (``deep_supervision=True``), as project 5 tried (five outputs; it resized the
labels to each scale): every decoder stage also gets a 1×1 head whose scores are upsampled
to the input size instead, so all outputs take the same full-size labels. The model
then has a list of outputs, main first, named ``head_<act>``, ``aux_s16_<act>``, ``aux_s8_<act>``,
``aux_s4_<act>``, ``aux_s2_<act>`` (``<act>`` = ``sigmoid`` or ``softmax``); ``model.output_names``
lists them. Train with one loss per name, e.g.
``model.compile(loss={n: loss for n in model.output_names}, loss_weights={...})`` and a dataset
mapped to ``(image, {n: label for n in model.output_names})``; predict with
``facecolab.models.main_output(model)``.
"""

from __future__ import annotations

import keras
from keras import layers

from facecolab.models.backbones import build_backbone, preprocess
from facecolab.models.layers import check_divisible, conv_bn_relu, head_channels, segmentation_head

SKIP_STRIDES = (16, 8, 4, 2)  # decoder order, deepest first; the bottleneck is stride 32
UPSAMPLING = ("transpose", "bilinear")


def decoder_conv(x, filters: int, name: str, separable: bool, bn_momentum: float):
    """Conv (or depthwise-separable conv) → BN → ReLU; the plain one is ``conv_bn_relu``."""
    if not separable:
        return conv_bn_relu(x, filters, name, bn_momentum=bn_momentum)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sepconv")(
        x
    )
    x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_mobilenetv2_unet(
    input_shape=(256, 256, 3),
    num_classes: int = 2,
    alpha: float = 1.0,
    encoder_weights=None,
    decoder_filters=(128, 64, 48, 32),
    final_filters: int = 16,
    bn_momentum: float = 0.99,
    binary_output: bool = True,
    deep_supervision: bool = False,
    decoder_convs: int = 2,
    separable: bool = False,
    upsampling: str = "transpose",
    name: str = "mobilenetv2_unet",
) -> keras.Model:
    """Build a MobileNetV2 U-Net.

    Args:
        input_shape: ``(H, W, 3)``, H and W divisible by 32; float32 RGB in [0, 1].
        num_classes: classes C; output ``(B, H, W, C)`` softmax, or ``(B, H, W, 1)`` sigmoid for
            C = 2 with ``binary_output``.
        alpha: MobileNetV2 width multiplier (0.35–1.4; ImageNet weights exist for 0.35, 0.5,
            0.75, 1.0, 1.3, 1.4).
        encoder_weights: ``None``, ``"imagenet"`` or a local weights file of a
            ``MobileNetV2(include_top=False, alpha=alpha)``.
        decoder_filters: filters of the decoder stages at strides 16, 8, 4, 2, in that order;
            fewer than four values stop the decoder at a coarser stride.
        final_filters: filters of the stage after the last decoder stage, at twice its
            resolution (full resolution for four stages); 0: none.
        bn_momentum: momentum of all batch norms, encoder included.
        binary_output: one sigmoid channel when ``num_classes == 2`` (project 5's output).
        deep_supervision: add the auxiliary outputs described in the module docstring.
        decoder_convs: conv-BN-ReLU blocks per decoder stage (1 or 2).
        separable: depthwise-separable decoder convolutions.
        upsampling: ``"transpose"`` (a learnt 3×3 transposed conv to the stage's filters) or
            ``"bilinear"`` (a resize; the stage's convolutions set the filters).
    """
    check_divisible(input_shape, 32, "mobilenetv2_unet")
    if not 1 <= len(decoder_filters) <= len(SKIP_STRIDES):
        raise ValueError(
            f"decoder_filters needs 1 to {len(SKIP_STRIDES)} values (strides "
            f"{SKIP_STRIDES}); got {decoder_filters}"
        )
    if decoder_convs not in (1, 2):
        raise ValueError(f"decoder_convs must be 1 or 2, got {decoder_convs}")
    if upsampling not in UPSAMPLING:
        raise ValueError(f"upsampling must be one of {UPSAMPLING}, got {upsampling!r}")
    channels = head_channels(num_classes, binary_output)
    inputs = keras.Input(input_shape, name="image")
    encoder = build_backbone(
        "mobilenetv2",
        input_shape,
        strides=(*SKIP_STRIDES, 32),
        weights=encoder_weights,
        bn_momentum=bn_momentum,
        alpha=alpha,
    )
    *skips, x = encoder(preprocess(inputs, "mobilenetv2"))
    auxiliary = []
    stride = 32
    for stride, skip, filters in zip(SKIP_STRIDES, skips, decoder_filters, strict=False):
        stage = f"dec_s{stride}"
        if upsampling == "transpose":
            x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", name=f"{stage}_up")(x)
        else:
            x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{stage}_up")(x)
        x = layers.Concatenate(name=f"{stage}_concat")([x, skip])
        for block in "ab"[:decoder_convs]:
            x = decoder_conv(x, filters, f"{stage}{block}", separable, bn_momentum)
        if deep_supervision:
            auxiliary.append(segmentation_head(x, channels, f"aux_s{stride}", upsample=stride))
    if final_filters:
        stride //= 2
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"dec_s{stride}_up")(x)
        x = conv_bn_relu(x, final_filters, f"dec_s{stride}", bn_momentum=bn_momentum)
    outputs = segmentation_head(x, channels, upsample=stride)
    return keras.Model(inputs, [outputs, *auxiliary] if auxiliary else outputs, name=name)

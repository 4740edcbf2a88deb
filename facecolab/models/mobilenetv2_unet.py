"""MobileNetV2 U-Net (project 5, portrait matting as binary segmentation).

MobileNetV2 encoder with skips at strides 2–16 and its stride-32 output as the bottleneck; each
decoder stage doubles the resolution with a transposed conv, concatenates the skip and applies
two conv-BN-ReLU; a last bilinear upsampling returns to full resolution.

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

from .backbones import build_backbone, preprocess
from .layers import check_divisible, conv_bn_relu, head_channels, segmentation_head

SKIP_STRIDES = (16, 8, 4, 2)  # decoder order, deepest first; the bottleneck is stride 32


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
        decoder_filters: filters of the four decoder stages (strides 16, 8, 4, 2).
        final_filters: filters of the full-resolution stage.
        bn_momentum: momentum of all batch norms, encoder included.
        binary_output: one sigmoid channel when ``num_classes == 2`` (project 5's output).
        deep_supervision: add the auxiliary outputs described in the module docstring.
    """
    check_divisible(input_shape, 32, "mobilenetv2_unet")
    if len(decoder_filters) != len(SKIP_STRIDES):
        raise ValueError(
            f"decoder_filters needs {len(SKIP_STRIDES)} values (strides "
            f"{SKIP_STRIDES}); got {decoder_filters}"
        )
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
    for stride, skip, filters in zip(SKIP_STRIDES, skips, decoder_filters, strict=True):
        stage = f"dec_s{stride}"
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", name=f"{stage}_up")(x)
        x = layers.Concatenate(name=f"{stage}_concat")([x, skip])
        x = conv_bn_relu(x, filters, f"{stage}a", bn_momentum=bn_momentum)
        x = conv_bn_relu(x, filters, f"{stage}b", bn_momentum=bn_momentum)
        if deep_supervision:
            auxiliary.append(segmentation_head(x, channels, f"aux_s{stride}", upsample=stride))
    x = layers.UpSampling2D(2, interpolation="bilinear", name="dec_s1_up")(x)
    x = conv_bn_relu(x, final_filters, "dec_s1", bn_momentum=bn_momentum)
    outputs = segmentation_head(x, channels)
    return keras.Model(inputs, [outputs, *auxiliary] if auxiliary else outputs, name=name)

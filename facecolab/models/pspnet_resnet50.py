"""PSPNet (Zhao et al., 2017) on ResNet50 stride-8 features (project 3).

Project 3 took ResNet50 features at ``conv3_block4_add`` (stride 8), a pyramid pooling
module with bins 2/4/8 and 32 filters per branch, and upsampled the scores to the input.
Pool sizes follow the feature map (``feature_size // bin``), so any input divisible by 8
works, 256×256 included (segmentation-models' PSPNet needs multiples of 48).
"""

from __future__ import annotations

import keras
from keras import layers

from facecolab.models.backbones import build_backbone, preprocess
from facecolab.models.layers import (
    ResizeTo,
    check_divisible,
    conv_bn_relu,
    head_channels,
    segmentation_head,
)

FEATURE_STRIDE = 8


def pyramid_pooling(x, bins, filters: int, bn_momentum: float, name: str = "psp"):
    """Pyramid pooling module: the input concatenated with, per bin b, an average pooling to
    about b×b cells → 1×1 conv-BN-ReLU → bilinear resize back to the input size.

    Args:
        x: features ``(B, h, w, C)`` with static h and w.
        bins: output grid sizes; a bin larger than the map pools 1×1 cells.

    Returns:
        ``(B, h, w, C + len(bins) * filters)``.
    """
    height, width = x.shape[1:3]
    branches = [x]
    for grid in bins:
        pool = (max(1, height // grid), max(1, width // grid))
        branch = layers.AveragePooling2D(pool, strides=pool, name=f"{name}_bin{grid}_pool")(x)
        branch = conv_bn_relu(
            branch, filters, f"{name}_bin{grid}", kernel_size=1, bn_momentum=bn_momentum
        )
        branch = ResizeTo(height, width, name=f"{name}_bin{grid}_resize")(branch)
        branches.append(branch)
    return layers.Concatenate(name=f"{name}_concat")(branches)


def build_pspnet_resnet50(
    input_shape=(256, 256, 3),
    num_classes: int = 8,
    bins=(2, 4, 8),
    branch_filters: int = 32,
    bottleneck_filters: int = 256,
    encoder_weights=None,
    bn_momentum: float = 0.99,
    binary_output: bool = False,
    name: str = "pspnet_resnet50",
) -> keras.Model:
    """Build PSPNet on ResNet50.

    Args:
        input_shape: ``(H, W, 3)``, H and W divisible by 8; float32 RGB in [0, 1].
        num_classes: output ``(B, H, W, C)`` softmax.
        bins: pyramid grid sizes at stride 8 (project 3: 2, 4, 8).
        branch_filters: filters of each pyramid branch (project 3: 32).
        bottleneck_filters: filters of the 1×1 conv fusing the pyramid before the head.
        encoder_weights: ``None``, ``"imagenet"`` or a local weights file of
            ``keras.applications.ResNet50(include_top=False)``.
        bn_momentum: momentum of all batch norms, encoder included.
        binary_output: one sigmoid channel when ``num_classes == 2``.
    """
    check_divisible(input_shape, FEATURE_STRIDE, "pspnet_resnet50")
    inputs = keras.Input(input_shape, name="image")
    encoder = build_backbone(
        "resnet50",
        input_shape,
        strides=(FEATURE_STRIDE,),
        weights=encoder_weights,
        bn_momentum=bn_momentum,
    )
    (x,) = encoder(preprocess(inputs, "resnet50"))
    x = pyramid_pooling(x, bins, branch_filters, bn_momentum)
    x = conv_bn_relu(x, bottleneck_filters, "psp_fuse", kernel_size=1, bn_momentum=bn_momentum)
    outputs = segmentation_head(
        x, head_channels(num_classes, binary_output), upsample=FEATURE_STRIDE
    )
    return keras.Model(inputs, outputs, name=name)

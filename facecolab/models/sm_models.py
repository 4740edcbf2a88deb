"""segmentation-models (qubvel, 1.0.1) architectures behind the facecolab registry.

Registered as ``sm_unet``, ``sm_fpn``, ``sm_linknet`` and ``sm_pspnet`` only when the package
is installed (``segmentation_models_available``). It is imported inside the builder, with
``SM_FRAMEWORK=tf.keras`` set just before (it would otherwise look for standalone Keras), so
importing facecolab has no side effect. The segmentation-models model is wrapped as one
nested layer after the backbone's input preprocessing, so it takes [0, 1] input like every
facecolab model. Its PSPNet needs H and W divisible by 48 (6 × its downsample factor 8).
"""

from __future__ import annotations

import importlib.util
import os

import keras

from facecolab.models.layers import ImageNetPreprocessing, head_channels

# Backbones offered here → ImageNetPreprocessing mode of their weights (segmentation-models'
# ``get_preprocessing``: image-classifiers ResNets normalise inside and take [0, 255]).
SM_BACKBONE_PREPROCESSING = {
    "resnet18": "uint8_range",
    "resnet34": "uint8_range",
    "resnet50": "uint8_range",
    "vgg16": "caffe",
    "mobilenetv2": "tf",
    "efficientnetb0": "torch",
}


def segmentation_models_available() -> bool:
    """Whether ``segmentation_models`` is installed (checked without importing it)."""
    return importlib.util.find_spec("segmentation_models") is not None


def _architectures():
    """segmentation-models' constructors by facecolab name (imports the package)."""
    os.environ.setdefault("SM_FRAMEWORK", "tf.keras")
    import segmentation_models as sm

    return {"sm_unet": sm.Unet, "sm_fpn": sm.FPN, "sm_linknet": sm.Linknet, "sm_pspnet": sm.PSPNet}


def build_sm_model(
    architecture: str,
    input_shape=(256, 256, 3),
    num_classes: int = 2,
    backbone: str = "resnet34",
    encoder_weights=None,
    binary_output: bool = False,
    **sm_options,
) -> keras.Model:
    """Build a segmentation-models model taking [0, 1] RGB.

    Args:
        architecture: ``"sm_unet"``, ``"sm_fpn"``, ``"sm_linknet"`` or ``"sm_pspnet"``.
        input_shape: ``(H, W, 3)``; divisible by 32 (48 for ``sm_pspnet``).
        num_classes: output ``(B, H, W, C)`` softmax, or 1 sigmoid channel for 2 classes with
            ``binary_output``.
        backbone: a ``SM_BACKBONE_PREPROCESSING`` key.
        encoder_weights: ``None`` or ``"imagenet"`` (downloaded by segmentation-models).
        **sm_options: passed to the segmentation-models constructor (e.g.
            ``decoder_filters``, ``downsample_factor``).
    """
    if backbone not in SM_BACKBONE_PREPROCESSING:
        raise ValueError(
            f"unsupported segmentation-models backbone {backbone!r}; choose from "
            f"{sorted(SM_BACKBONE_PREPROCESSING)}"
        )
    if encoder_weights not in (None, "imagenet"):
        raise ValueError(
            f"segmentation-models encoders take encoder_weights None or "
            f"'imagenet', not {encoder_weights!r}"
        )
    constructors = _architectures()
    if architecture not in constructors:
        raise ValueError(
            f"unknown segmentation-models architecture {architecture!r}; "
            f"choose from {sorted(constructors)}"
        )
    channels = head_channels(num_classes, binary_output)
    network = constructors[architecture](
        backbone,
        input_shape=tuple(input_shape),
        classes=channels,
        activation="sigmoid" if channels == 1 else "softmax",
        encoder_weights=encoder_weights,
        **sm_options,
    )
    inputs = keras.Input(input_shape, name="image")
    x = ImageNetPreprocessing(SM_BACKBONE_PREPROCESSING[backbone], name="preprocessing")(inputs)
    return keras.Model(inputs, network(x), name=f"{architecture}_{backbone}")

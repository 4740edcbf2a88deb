"""Model registry: ``build_model(name, input_shape, num_classes, **options)``.

Every builder is a plain function returning a functional ``keras.Model`` whose input is
float32 RGB in [0, 1] ``(B, H, W, 3)`` and whose output is probabilities ``(B, H, W, C)``
(softmax), or ``(B, H, W, 1)`` (sigmoid) for binary models built that way. Encoders
normalise their input inside the model. ``sm_*`` names exist only when segmentation-models
is installed; it is imported when such a model is built, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import keras

from facecolab.models import layers  # noqa: F401  (registers the custom layers for load_model)
from facecolab.models.deeplabv3plus_efficientnetb0 import build_deeplabv3plus_efficientnetb0
from facecolab.models.mc_dropout import has_mc_dropout, without_mc_dropout
from facecolab.models.mobilenetv2_unet import build_mobilenetv2_unet
from facecolab.models.pspnet_resnet50 import build_pspnet_resnet50
from facecolab.models.segnet_vgg16 import build_segnet_vgg16
from facecolab.models.sm_models import build_sm_model, segmentation_models_available
from facecolab.models.unet import build_unet

MODELS: dict[str, Callable[..., keras.Model]] = {
    "unet": build_unet,
    "mobilenetv2_unet": build_mobilenetv2_unet,
    "segnet_vgg16": build_segnet_vgg16,
    "pspnet_resnet50": build_pspnet_resnet50,
    "deeplabv3plus_efficientnetb0": build_deeplabv3plus_efficientnetb0,
}
if segmentation_models_available():
    MODELS.update(
        {
            name: partial(build_sm_model, name)
            for name in ("sm_unet", "sm_fpn", "sm_linknet", "sm_pspnet")
        }
    )


def build_model(name: str, input_shape=(256, 256, 3), num_classes: int = 2, **options):
    """Build registered model ``name``; unknown names raise ``ValueError`` listing the valid
    ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}")
    return MODELS[name](input_shape=tuple(input_shape), num_classes=num_classes, **options)


def main_output(model: keras.Model) -> keras.Model:
    """The model restricted to its first output (the full-resolution mask of a deep-supervision
    model); single-output models are returned as they are. Shares the weights."""
    if len(model.outputs) == 1:
        return model
    return keras.Model(model.inputs, model.outputs[0], name=f"{model.name}_main")


__all__ = [
    "MODELS",
    "build_model",
    "has_mc_dropout",
    "main_output",
    "without_mc_dropout",
]

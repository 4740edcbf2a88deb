"""Model registry: ``build_model(name, input_shape, num_classes, **options)``.

Every builder is a plain function returning a functional ``keras.Model`` whose input is
float32 RGB in [0, 1] ``(B, H, W, 3)`` and whose output is probabilities ``(B, H, W, C)``
(softmax), or ``(B, H, W, 1)`` (sigmoid) for binary models built that way. Encoders
normalise their input inside the model. ``sm_*`` names exist only when segmentation-models
is installed; it is imported when such a model is built, never here.
"""

from __future__ import annotations

import weakref
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
    model = MODELS[name](input_shape=tuple(input_shape), num_classes=num_classes, **options)
    _BUILT_BY[model] = (name, {"num_classes": num_classes, **options})
    return model


# The registry call that built each live model (weakly held: a model's entry goes with it).
_BUILT_BY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def builder_of(model) -> tuple[str, dict] | None:
    """``(registry name, keyword arguments but input_shape)`` of a model that
    :func:`build_model` built in this process; ``None`` for any other model."""
    call = _BUILT_BY.get(model)
    return None if call is None else (call[0], dict(call[1]))


def rebuilt_at(model, input_shape, builder: tuple[str, dict] | None = None) -> keras.Model:
    """A copy of ``model`` built for another input shape ``(H, W, 3)``, its weights copied
    from ``model`` as they are now (a fully convolutional model computes the same function at
    any size its encoder divides).

    Args:
        builder: ``(registry name, build_model keyword arguments)``; by default the call that
            built ``model`` (:func:`builder_of`). A pretrained encoder file among the
            options is not read: the weights come from ``model``.

    Raises:
        ValueError: ``model`` was not built by :func:`build_model` and no ``builder`` is
            given, or the rebuilt model's weights do not match ``model``'s.
    """
    builder = builder or builder_of(model)
    if builder is None:
        raise ValueError(f"{model.name}: not built by build_model here; pass builder=")
    name, kwargs = builder
    kwargs = {k: v for k, v in kwargs.items() if k not in ("input_shape", "encoder_weights")}
    copy = build_model(name, input_shape=input_shape, **kwargs)
    expected = [tuple(v.shape) for v in model.weights]
    if [tuple(v.shape) for v in copy.weights] != expected:
        raise ValueError(f"{model.name}: {name}(**{kwargs}) does not build this model's weights")
    copy.set_weights(model.get_weights())
    return copy


def main_output(model: keras.Model) -> keras.Model:
    """The model restricted to its first output (the full-resolution mask of a deep-supervision
    model); single-output models are returned as they are. Shares the weights."""
    if len(model.outputs) == 1:
        return model
    return keras.Model(model.inputs, model.outputs[0], name=f"{model.name}_main")


__all__ = [
    "MODELS",
    "build_model",
    "builder_of",
    "has_mc_dropout",
    "main_output",
    "rebuilt_at",
    "without_mc_dropout",
]

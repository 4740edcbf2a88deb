"""facecolab: five face-segmentation projects over one small Keras 3 library.

The public API, for notebooks and scripts::

    import facecolab

    model = facecolab.load_pretrained("p2_unet_celebamask_mini")    # a shipped model
    model = facecolab.build_model("unet", (512, 512, 3), 19)         # a new one
    facecolab.predict(model, images)          # uint8 (H, W, 3) arrays → uint8 (H, W) maps
    facecolab.evaluate(model, "prepared/celebamask", split="val")    # metrics dict
    facecolab.train(facecolab.load_config("p2_unet_celebamask_mini"), "runs/p2")
    facecolab.FORMATS, facecolab.get_format("helen")                 # the dataset registry

Importing the package is cheap: each name is imported from its layer the first time it is
used (PEP 562), so ``data_prep/load_data.py`` and ``f1_score.py`` never load TensorFlow.
The layers are described in ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import importlib

from facecolab.constants import VERSION

__version__ = VERSION

# Public name → the module that defines it.
_PUBLIC = {
    "load_pretrained": "facecolab.modelfiles.load",
    "open_model": "facecolab.modelfiles.load",
    "build_model": "facecolab.models",
    "MODELS": "facecolab.models",
    "predict": "facecolab.workflows.predict",
    "evaluate": "facecolab.workflows.evaluate",
    "train": "facecolab.workflows.train",
    "load_config": "facecolab.config",
    "FORMATS": "facecolab.data",
    "get_format": "facecolab.data",
    "SPECS": "facecolab.data",
    "get_spec": "facecolab.data",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'facecolab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

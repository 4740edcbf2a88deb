"""Every shipped model loads and predicts as when it was saved, on whichever Keras runs the
tests: the main suite (newest admitted Keras) and scripts/test_oldest.sh (the oldest admitted
TensorFlow/Keras pair, in CI) both run this file."""

from __future__ import annotations

import pytest

from facecolab.modelfiles.load import load_pretrained
from facecolab.modelfiles.manifest import model_names, pretrained_path, read_manifest
from facecolab.modelfiles.portable import (
    CHECK_ATOL,
    SUFFIX,
    check_difference,
    model_check,
    read_portable,
)

MANIFEST = read_manifest()
SHIPPED = sorted(name for name in model_names(MANIFEST) if MANIFEST[name]["sha256"] is not None)


def test_something_ships():
    assert "lfw_parts_unet" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_are_portable(name):
    """A .keras file may not load on a Keras older than the one that wrote it."""
    assert MANIFEST[name]["file"].endswith(SUFFIX), (
        f"{name}: ship a portable file: python -m facecolab export --model RUN_DIR "
        f"--out weights/{name}{SUFFIX}"
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_and_predicts_as_when_saved(name):
    entry = MANIFEST[name]
    model = load_pretrained(name, download=False)
    header, _ = read_portable(pretrained_path(name, download_missing=False))
    difference = check_difference(header["check"], model_check(model))
    assert difference <= CHECK_ATOL, f"{name}: log-probabilities moved by {difference:.3g}"
    assert tuple(model.inputs[0].shape[1:3]) == tuple(entry["input_size"])
    classes = model.outputs[0].shape[-1]
    assert classes == len(entry["class_names"]) or (classes == 1 and len(entry["class_names"]) == 2)

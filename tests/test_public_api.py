"""The public API re-exported by ``facecolab/__init__.py``: cheap to import, every name
documented, and ``predict``/``evaluate`` answering as their docstrings say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import facecolab

REPO = Path(__file__).resolve().parents[1]


def test_importing_the_package_loads_no_keras():
    code = "import sys, facecolab; print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", [name for name in facecolab.__all__ if name != "__version__"])
def test_every_public_name_resolves_and_is_documented(name):
    value = getattr(facecolab, name)
    assert value is not None
    if callable(value):
        assert (value.__doc__ or "").strip(), f"facecolab.{name} has no docstring"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'predict_everything'"):
        facecolab.predict_everything  # noqa: B018


@pytest.fixture(scope="module")
def tiny_19_class_model():
    return facecolab.build_model("unet", (64, 64, 3), 19, depth=1, base_filters=2)


def test_predict_gives_one_map_per_image_at_its_own_size(tiny_19_class_model, tmp_path):
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (40, 90, 3), dtype=np.uint8)
    tall = rng.integers(0, 256, (70, 30, 3), dtype=np.uint8)
    one = facecolab.predict(tiny_19_class_model, wide)
    assert one.shape == (40, 90) and one.dtype == np.uint8 and one.max() < 19
    both = facecolab.predict(tiny_19_class_model, [wide, tall])
    assert [label.shape for label in both] == [(40, 90), (70, 30)]
    np.testing.assert_array_equal(both[0], one)
    path = tmp_path / "tall.png"
    Image.fromarray(tall).save(path)
    np.testing.assert_array_equal(facecolab.predict(tiny_19_class_model, path), both[1])


def test_evaluate_scores_a_prepared_split(tiny_19_class_model, celebamask_prepared):
    summary = facecolab.evaluate(tiny_19_class_model, celebamask_prepared, "val")
    assert 0.0 <= summary["pixel_accuracy"] <= 1.0
    assert len(summary["classes"]) == 19


def test_evaluate_names_a_folder_it_cannot_read(tiny_19_class_model, tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path}: not a prepared folder"):
        facecolab.evaluate(tiny_19_class_model, tmp_path, "val")


def test_the_dataset_registry_is_public():
    assert "helen" in facecolab.FORMATS
    assert facecolab.get_format("helen").spec.num_classes == 11

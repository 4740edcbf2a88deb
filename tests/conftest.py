"""Shared test setup: temp dirs for Keras/matplotlib/Jupyter, quiet TensorFlow, data paths,
a prepared sample."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="facecolab-tests-"))
for variable, sub in (
    ("KERAS_HOME", "keras"),
    ("MPLCONFIGDIR", "mpl"),
    ("JUPYTER_CONFIG_DIR", "jupyter-config"),
    ("JUPYTER_DATA_DIR", "jupyter-data"),
    ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
    ("IPYTHONDIR", "ipython"),
):
    os.environ.setdefault(variable, str(_TMP / sub))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from facecolab.datasets.prepare import PrepareOptions, prepare  # noqa: E402
from facecolab.datasets.sample import write_sample  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LFW_PARTS = REPO.parent / "shared" / "data" / "lfw_parts"


@pytest.fixture(scope="session")
def lfw_parts_root() -> Path:
    """The real LFW Part Labels folder beside the checkout; tests skip when it is absent."""
    if not (LFW_PARTS / "parts_train.txt").exists():
        pytest.skip(f"LFW Part Labels not found at {LFW_PARTS} (research data, not in the repo)")
    return LFW_PARTS


@pytest.fixture(scope="session")
def celebamask_prepared(tmp_path_factory) -> Path:
    """A procedurally drawn CelebAMask-HQ sample (12 items, 19 classes with left/right pairs)
    prepared at 64×64; shared by the pipeline and training tests, so treat it as read-only."""
    root = tmp_path_factory.mktemp("celebamask")
    write_sample("celebamask_hq", root / "raw", count=12, size=64, seed=1)
    prepare(
        "celebamask_hq",
        root / "raw",
        root / "prepared",
        PrepareOptions(size=(64, 64)),
        workers=1,
        progress=False,
    )
    return root / "prepared"

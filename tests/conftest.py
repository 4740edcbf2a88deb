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

from facecolab.data.prepare import PrepareOptions, prepare  # noqa: E402
from facecolab.data.sample import write_sample  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
LFW_PARTS = SHARED_DATA / "lfw_parts"


def real_data(name: str, marker: str) -> Path:
    """``../shared/data/<name>`` (research data beside the checkout, never in the repo);
    the test skips when ``marker`` is not in it."""
    root = SHARED_DATA / name
    if not (root / marker).exists():
        pytest.skip(f"{name} not found at {root} (research data, not in the repo)")
    return root


@pytest.fixture(scope="session")
def lfw_parts_root() -> Path:
    """The real LFW Part Labels folder beside the checkout; tests skip when it is absent."""
    return real_data("lfw_parts", "parts_train.txt")


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


@pytest.fixture(scope="session")
def celebamask_mini_root() -> Path:
    """The 800 real CelebAMask-HQ faces beside the checkout."""
    return real_data("celebamask_mini", "CelebA-HQ-img")


@pytest.fixture(scope="session")
def portrait_shen_root() -> Path:
    """The 1290 real Shen et al. portraits beside the checkout."""
    return real_data("portrait_shen", "eg1800_train.txt")

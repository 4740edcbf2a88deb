"""Fixtures of the hostile-input suite: tiny data and models (32², U-Net depth 2 base 4) so
every case runs in a second or two; the helpers live in ``hostile_kit``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_kit import SIZE, TINY_UNET, tiny_config


@pytest.fixture(scope="session")
def lfw_raw(tmp_path_factory) -> Path:
    """A 6-image LFW Part Labels sample (40² images), read-only."""
    from facecolab.data.sample import write_sample

    return write_sample("lfw_parts", tmp_path_factory.mktemp("lfw") / "raw", count=6, size=40)


@pytest.fixture(scope="session")
def lfw_prepared(lfw_raw, tmp_path_factory) -> Path:
    """``lfw_raw`` prepared at 32², read-only."""
    from facecolab.data.prepare import PrepareOptions, prepare

    out = tmp_path_factory.mktemp("lfw_prepared") / "prepared"
    prepare("lfw_parts", lfw_raw, out, PrepareOptions(size=(SIZE, SIZE)), workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def helen_prepared(tmp_path_factory) -> Path:
    """A 6-image Helen sample prepared at 32² (11 classes), read-only."""
    from facecolab.data.prepare import PrepareOptions, prepare
    from facecolab.data.sample import write_sample

    root = tmp_path_factory.mktemp("helen")
    write_sample("helen", root / "raw", count=6, size=40)
    prepare(
        "helen",
        root / "raw",
        root / "prepared",
        PrepareOptions(size=(SIZE, SIZE)),
        workers=1,
        progress=False,
    )
    return root / "prepared"


@pytest.fixture
def config_file(lfw_prepared, tmp_path):
    """``write(**changes) -> path`` of a tiny training config for ``lfw_prepared``."""

    def write(**changes):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(tiny_config(lfw_prepared, **changes)))
        return path

    return write


@pytest.fixture(scope="session")
def lfw_run(lfw_prepared, tmp_path_factory) -> Path:
    """A run folder of an untrained 3-class U-Net (LFW classes) with its config, read-only."""
    from facecolab.models import build_model

    run = tmp_path_factory.mktemp("run") / "run"
    run.mkdir()
    model = build_model("unet", (SIZE, SIZE, 3), 3, **TINY_UNET["options"])
    model.save(run / "model_best.keras")
    (run / "config.json").write_text(json.dumps(tiny_config(lfw_prepared)))
    return run

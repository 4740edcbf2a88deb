"""Every shipped model has a model card in docs/models/, generated from the manifest and the
committed per-class results by scripts/make_model_cards.py, and none is stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cards():
    spec = importlib.util.spec_from_file_location(
        "make_model_cards", REPO / "scripts" / "make_model_cards.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_shipped_model_has_a_current_card(cards, capsys):
    shipped = cards.shipped(cards.read_manifest())
    assert {"p2_unet_celebamask_mini", "p5_portrait_shen_fast", "lfw_parts_unet"} <= set(shipped)
    assert "blazeface_short_range" not in shipped  # a detector, not a segmentation model
    assert cards.main(["--check"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    "section",
    [
        "## Use",
        "## Training data and terms",
        "## Validation",
        "## Intended use and limits",
        "## Reproduce",
    ],
)
def test_a_card_says_what_users_need(cards, section):
    text = (REPO / "docs" / "models" / "p2_unet_celebamask_mini.md").read_text()
    assert section in text
    assert "non-commercial" in text and "light-skinned" in text

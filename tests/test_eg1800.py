"""EG1800 as the Shen et al. photos come: ``Images/<id>.jpg`` beside ``Labels/<id>.png``,
paired by stem, and no test list (withheld): validation is carved from train."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from facecolab.data import get_format
from facecolab.data.prepare import PrepareOptions, prepare
from facecolab.data.sample import write_sample

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def shen_layout(tmp_path):
    """The sample's EG1800 layout turned into the Shen et al. one: JPEG images, PNG masks,
    list lines naming the .jpg, no eg1800_test.txt."""
    root = write_sample("eg1800", tmp_path / "shen", 12, 48, 0)
    for png in sorted((root / "Images").glob("*.png")):
        Image.open(png).convert("RGB").save(png.with_suffix(".jpg"), quality=95)
        png.unlink()
    listed = (root / "eg1800_train.txt").read_text().replace(".png", ".jpg")
    (root / "eg1800_train.txt").write_text(listed)
    (root / "eg1800_test.txt").unlink()
    return root


def test_images_and_masks_pair_by_stem(shen_layout):
    fmt = get_format("eg1800")
    train, val = (fmt.list_items(shen_layout, split) for split in ("train", "val"))
    assert train and val and not {i.key for i in train} & {i.key for i in val}
    for item in train + val:
        assert item.image_path.suffix == ".jpg" and item.image_path.exists()
        assert item.label_paths[0].suffix == ".png" and item.label_paths[0].exists()
        assert item.image_path.stem == item.label_paths[0].stem == item.key


def test_prepare_skips_the_missing_test_list_and_names_it_when_asked(shen_layout, tmp_path):
    summary = prepare(
        "eg1800", shen_layout, tmp_path / "out", PrepareOptions(size=(32, 24)), workers=1
    )
    assert not summary.bad and set(summary.counts) == {"train", "val"}
    with pytest.raises(FileNotFoundError, match="eg1800_test.txt: EG1800 test list not found"):
        get_format("eg1800").list_items(shen_layout, "test")


def test_command_line_error_is_one_line(shen_layout, tmp_path):
    shen_layout.joinpath("eg1800_train.txt").unlink()
    done = subprocess.run(
        [sys.executable, str(REPO / "data_prep" / "load_data.py"), "--dataset", "eg1800"]
        + ["--root", str(shen_layout), "--out", str(tmp_path / "o"), "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "eg1800_train.txt" in done.stderr

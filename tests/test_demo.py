"""The shipped LFW Part Labels model and the main job's photo parsing, on real images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facecolab.data.readers import get_format
from facecolab.modelfiles.load import load_pretrained
from facecolab.modelfiles.manifest import read_manifest
from facecolab.workflows.evaluate import evaluate_items
from facecolab.workflows.face_detection import FaceDetector
from facecolab.workflows.faces import FRAMINGS, crop_square, framing_box, paste_square


def _box(face) -> tuple[int, int, int, int]:
    return tuple(int(round(v)) for v in (face.top, face.left, face.height, face.width))


@pytest.fixture(scope="module")
def shipped_model():
    return load_pretrained("lfw_parts_unet")


def test_crop_and_paste_are_inverse_even_past_the_border():
    image = np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)
    box = (-5, 22, 12)  # leaves the image at the top and on the right
    crop = crop_square(image, box)
    assert crop.shape == (12, 12) and crop[:5].max() == 0 and crop[:, 8:].max() == 0
    pasted = paste_square(crop, box, image.shape)
    np.testing.assert_array_equal(pasted[:7, 22:30], image[:7, 22:30])
    assert pasted[7:].max() == 0 and pasted[:, :22].max() == 0


def test_astronaut_face_is_parsed_into_skin_and_hair(shipped_model, tmp_path):
    from facecolab.apps.demo import parse_astronaut

    overlay_path = parse_astronaut(tmp_path)
    label = np.asarray(Image.open(tmp_path / "astronaut_label.png"))
    assert Image.open(overlay_path).size == (1024, 512)
    found = FaceDetector().detect(np.asarray(Image.open(overlay_path))[:, :512])[0]
    top, left, height, width = _box(found)
    face = label[top : top + height, left : left + width]
    assert (face == 1).mean() > 0.5, "the detected face box is mostly skin"
    above = label[max(0, top - height // 2) : top, left : left + width]
    assert (above == 2).mean() > 0.4, "hair above the face"
    outside = np.ones(label.shape, bool)
    crop_top, crop_left, side = framing_box(found, *FRAMINGS["lfw_parts"])
    outside[max(crop_top, 0) : crop_top + side, max(crop_left, 0) : crop_left + side] = False
    assert label[outside].max() == 0, "nothing outside the face crop"


def test_shipped_model_meets_its_manifest_on_real_validation_images(shipped_model, lfw_parts_root):
    """The first 100 validation images at 250×250: within 1.5 points of the manifest's
    full-split pixel accuracy."""
    fmt = get_format("lfw_parts")
    items = fmt.list_items(lfw_parts_root, "val")[:100]
    result = evaluate_items(shipped_model, fmt, items, progress=False)
    recorded = read_manifest()["lfw_parts_unet"]["metrics"]
    assert result["pixel_accuracy"] > recorded["pixel_accuracy"] - 0.015
    hair = next(row for row in result["classes"] if row["name"] == "hair")
    assert hair["f1"] > 0.8


def test_a_box_entirely_outside_the_image_crops_to_nothing():
    image = np.full((10, 10), 7, np.uint8)
    assert crop_square(image, (30, 30, 5)).max() == 0
    assert paste_square(np.ones((5, 5), np.uint8), (-20, 0, 5), (10, 10)).max() == 0


def test_astronaut_with_the_19_class_model_and_recoloured_hair_and_lips(tmp_path):
    """The main job's second model: CelebAMask-HQ's 19 classes on the astronaut, framed as
    CelebAMask-HQ's aligned faces; recolouring changes hair and lips and nothing else."""
    from skimage import data

    from facecolab.apps.demo import parse_and_recolour_astronaut

    written = parse_and_recolour_astronaut(tmp_path)
    photo = data.astronaut()
    recoloured = np.asarray(Image.open(written["recoloured"]))
    changed = np.any(recoloured != photo, axis=-1)
    top, left, height, width = _box(FaceDetector().detect(photo)[0])
    above = changed[max(0, top - height // 3) : top, left : left + width]
    assert above.mean() > 0.5, "the hair above the face is recoloured"
    assert changed[top + height // 3 : top + height // 2, left : left + width].mean() < 0.2
    assert not changed[:, : left - width].any() and not changed[top + 2 * height :].any()
    assert Image.open(written["parsing"]).size == (512, 512)


@pytest.mark.slow
def test_the_main_job_ends_with_one_page_showing_every_shipped_model(tmp_path):
    """run_demo with a tiny sample run: index.html names every shipped model, shows its
    pictures (files that exist), the results table beside the seed's figures, and the sample
    training labelled as a smoke test."""
    import re

    from facecolab.apps.demo import run_demo, shipped_models

    summary = run_demo(tmp_path, epochs=1, sample_count=24, size=32)
    page = (tmp_path / "index.html").read_text()
    assert summary["page"] == str(tmp_path / "index.html")
    names = shipped_models()
    assert len(names) >= 6 and "lfw_parts_unet" in names and "p5_portrait_shen_fast" in names
    for name in names:
        assert f"<code>{name}</code>" in page
        assert name in summary["models"] and summary["models"][name]
    sources = re.findall(r"<img src='([^']+)'", page)
    assert len(sources) >= len(names)
    for source in sources:
        image = Image.open(tmp_path / source)
        assert min(image.size) >= 256, source
    assert "recoloured" in page and "cut-out" in page and "Legend" in page
    assert "Smoke test" in page and "not a result" in page
    assert "pixel_accuracy 99.0" in page  # project 1's seed, beside our p1 model's figures
    assert page.count("<tr>") == len(names) + 1

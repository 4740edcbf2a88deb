"""``facecolab serve``'s work without Gradio (``facecolab.apps.serve``): every bad upload is one
``ValueError`` a person can act on, and each tab turns a photo into a picture and a line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from facecolab.apps import serve


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


@pytest.fixture(scope="module")
def pool():
    return serve.ModelPool(
        ["p2_unet_celebamask_mini", "p5_portrait_shen_fast", serve.UNCERTAINTY_MODEL]
    )


def write_bytes(folder, name, data: bytes):
    path = folder / name
    path.write_bytes(data)
    return path


def test_reads_cmyk_16_bit_and_palette_uploads(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (40, 30, 3), np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    grey16 = (np.arange(40 * 30).reshape(40, 30) * 50).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.png")
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(tmp_path / "rgba.png")
    for name in ("cmyk.jpg", "grey16.png", "palette.png", "rgba.png"):
        photo = serve.read_upload(tmp_path / name)
        assert photo.dtype == np.uint8 and photo.shape == (40, 30, 3), name
    grey = serve.read_upload(tmp_path / "grey16.png")[..., 0]
    assert grey.max() > 200  # scaled from 16 bits, not clipped


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: None, "no image"),
        (lambda d: write_bytes(d, "empty.png", b""), r"empty \(0 bytes\)"),
        (lambda d: write_bytes(d, "notes.png", b"hello, not a picture"), "not an image"),
        (lambda d: d / "gone.png", "did not arrive"),
    ],
)
def test_bad_uploads_are_refused_in_words(tmp_path, make, message):
    with pytest.raises(ValueError, match=message) as caught:
        serve.read_upload(make(tmp_path))
    assert str(tmp_path) not in str(caught.value)  # the server's paths stay its own


def test_truncated_and_oversized_uploads(tmp_path):
    from skimage import data

    Image.fromarray(data.astronaut()).save(tmp_path / "whole.jpg")
    blob = (tmp_path / "whole.jpg").read_bytes()
    cut = write_bytes(tmp_path, "cut.jpg", blob[: len(blob) // 3])
    with pytest.raises(ValueError, match="truncated or damaged"):
        serve.read_upload(cut)
    with pytest.raises(ValueError, match="too many pixels"):
        serve.read_upload(tmp_path / "whole.jpg", max_pixels=1000)


def test_colour_picker_values():
    assert serve.colour_hex("rgba(122, 60, 255, 1)") == "#7a3cff"
    assert serve.colour_hex("#d0103a") == "#d0103a"
    assert serve.colour_hex("") is None


def test_a_request_can_only_choose_offered_models(pool):
    with pytest.raises(ValueError, match="unknown model"):
        serve.check_model("../../etc/passwd", pool.names)
    with pytest.raises(ValueError, match="not shipped"):
        serve.ModelPool(["no_such_model"])
    assert pool.parsers == ["p2_unet_celebamask_mini", serve.UNCERTAINTY_MODEL]
    assert pool.portraits == ["p5_portrait_shen_fast"]
    assert pool.recolourers("lips") == ["p2_unet_celebamask_mini"]


def test_each_tab_turns_a_photo_into_a_picture(pool, astronaut, tmp_path):
    colours, blended, parsed = serve.parse_tab(pool, astronaut, "p2_unet_celebamask_mini")
    assert colours.image.shape == (512, 512, 3) and parsed.faces == 1
    assert blended.image.shape[0] > 512  # the legend below the overlay
    assert "p2_unet_celebamask_mini" in colours.info and "ms" in colours.info
    hair_only, _ = serve.render_parse(parsed, ["hair"])
    assert len(np.unique(hair_only.reshape(-1, 3), axis=0)) == 2  # hair and background

    recoloured = serve.recolour_tab(pool, astronaut, "p2_unet_celebamask_mini")
    assert recoloured.image.shape == (512, 512, 3) and "hair" in recoloured.info

    background = tmp_path / "sky.png"
    Image.fromarray(np.full((50, 80, 3), (20, 120, 240), np.uint8)).save(background)
    for choice, extra in (("blur", None), ("image", background)):
        cut = serve.portrait_tab(pool, astronaut, "p5_portrait_shen_fast", choice, extra)
        assert cut.image.shape == (512, 512, 3) and "person" in cut.info
    alone = serve.portrait_tab(pool, astronaut, "p5_portrait_shen_fast", "transparent")
    assert alone.image.shape == (512, 512, 4)
    assert alone.image[..., 3].min() < 10 and alone.image[..., 3].max() > 245
    with pytest.raises(ValueError, match="background picture"):
        serve.portrait_tab(pool, astronaut, "p5_portrait_shen_fast", "image")

    maps = serve.uncertainty_tab(pool, astronaut, samples=3)
    assert maps.image.ndim == 3 and maps.image.std() > 10 and "3 samples" in maps.info


def test_a_photo_without_a_face(pool, tmp_path):
    sky = tmp_path / "sky.png"
    Image.fromarray(np.full((120, 160, 3), (90, 150, 230), np.uint8)).save(sky)
    _, _, parsed = serve.parse_tab(pool, sky, "p2_unet_celebamask_mini")
    assert parsed.whole_photo and "No face found" in serve.face_note(parsed)
    with pytest.raises(ValueError, match="no face found"):
        serve.uncertainty_tab(pool, sky, samples=2)


def test_help_imports_no_gradio():
    code = (
        "import sys; from facecolab.cli.main import build_parser; build_parser().format_help();"
        "sys.exit('gradio' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0

"""Hostile image files: every PIL mode goes through the one image reader and the one label-map
reader, and each is either read faithfully or refused with its name — never clipped or read
through one channel. Prepare, evaluate, predict and score all use these two readers."""

from __future__ import annotations

import numpy as np
import pytest
from hostile_kit import SIZE, facecolab, files, one_line_error
from PIL import Image

from facecolab.data.imageio import read_grey, read_image

RAMP16 = (np.arange(16 * 16).reshape(16, 16) * 257).astype(np.uint16)  # 0 … 65535
RAMP8 = (np.arange(16 * 16).reshape(16, 16)).astype(np.uint8)  # the same ramp in 8 bits


def _save(array_or_image, path, mode=None):
    image = array_or_image
    if isinstance(array_or_image, np.ndarray):
        image = Image.fromarray(array_or_image)
    if mode:
        image = image.convert(mode)
    image.save(path)
    return path


# (file, how it is written, expected uint8 (H, W, 3) or the refusal)
IMAGE_CASES = [
    ("grey16.png", lambda p: _save(RAMP16, p), np.repeat(RAMP8[..., None], 3, -1)),
    ("grey16.tif", lambda p: _save(RAMP16, p), np.repeat(RAMP8[..., None], 3, -1)),
    ("grey16.pgm", lambda p: _save(RAMP16, p), np.repeat(RAMP8[..., None], 3, -1)),
    ("grey8.png", lambda p: _save(RAMP8, p), np.repeat(RAMP8[..., None], 3, -1)),
    ("bits.png", lambda p: _save(RAMP8 > 127, p), np.repeat((RAMP8 > 127)[..., None] * 255, 3, -1)),
    ("palette.png", lambda p: _palette(RAMP8 % 16).save(p), np.dstack([(RAMP8 % 16) * 17] * 3)),
    ("rgba.png", lambda p: _save(np.dstack([RAMP8, RAMP8, RAMP8, RAMP8]), p), "rgb"),
    ("cmyk.jpg", lambda p: _save(np.dstack([RAMP8] * 3), p, "CMYK"), "close"),
    ("la.png", lambda p: _save(np.dstack([RAMP8] * 3), p, "LA"), np.dstack([RAMP8] * 3)),
    ("float.tif", lambda p: _save(RAMP8.astype(np.float32), p), r"32-bit float image"),
    ("int32.tif", lambda p: _save(RAMP16.astype(np.int32) * 100, p), r"values outside 0\.\.65535"),
    ("empty.png", lambda p: p.write_bytes(b""), r"cannot read image"),
    ("truncated.png", lambda p: p.write_bytes(_png_bytes()[:60]), r"cannot read image"),
    ("text.jpg", lambda p: p.write_text("not an image"), r"cannot read image"),
]


def _palette(indices: np.ndarray) -> Image.Image:
    """A palette image whose entry i is grey level 17·i."""
    image = Image.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette([17 * i for i in range(16) for _ in range(3)])
    return image


def _png_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(np.dstack([RAMP8] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "write", "expected"), IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES]
)
def test_image_reader_reads_faithfully_or_refuses(tmp_path, name, write, expected):
    path = tmp_path / name
    write(path)
    if isinstance(expected, str) and expected not in ("rgb", "close"):
        with pytest.raises(ValueError, match=rf"^{path}: .*{expected}"):
            read_image(path)
        return
    image = read_image(path)
    assert image.dtype == np.uint8 and image.shape == (16, 16, 3)
    if isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(image, expected)
    else:  # RGBA / CMYK round trips: the grey ramp within conversion error
        assert np.abs(image.astype(int) - RAMP8[..., None]).max() <= 2


# (file, how it is written, expected ids or the refusal)
LABEL_CASES = [
    ("ids.png", lambda p: _save(RAMP8 % 11, p), RAMP8 % 11),
    ("ids16.png", lambda p: _save((RAMP8 % 11).astype(np.uint16), p), RAMP8 % 11),
    ("bits.png", lambda p: _save(RAMP8 > 127, p), (RAMP8 > 127).astype(np.uint8)),
    ("grey_as_rgb.png", lambda p: _save(np.dstack([RAMP8 % 3] * 3), p), RAMP8 % 3),
    ("palette.png", lambda p: _save(RAMP8 % 5, p, "P"), RAMP8 % 5),
    ("la.png", lambda p: _save(RAMP8 % 4, p, "LA"), RAMP8 % 4),
    ("colour.png", lambda p: _save(np.dstack([RAMP8, RAMP8 * 0, RAMP8 * 0]), p), r"colour image"),
    ("ids16_big.png", lambda p: _save(RAMP16, p), r"mask values exceed 255"),
    ("cmyk.tif", lambda p: _save(np.dstack([RAMP8] * 3), p, "CMYK"), r"CMYK image is not a label"),
    ("float.tif", lambda p: _save(RAMP8.astype(np.float32), p), r"F image is not a label map"),
    ("text.png", lambda p: p.write_text("nope"), r"cannot read mask"),
]


@pytest.mark.parametrize(
    ("name", "write", "expected"), LABEL_CASES, ids=[c[0] for c in LABEL_CASES]
)
def test_label_reader_reads_ids_or_refuses(tmp_path, name, write, expected):
    path = tmp_path / name
    write(path)
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=rf"^{path}: .*{expected}"):
            read_grey(path)
        return
    labels = read_grey(path)
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, expected)


def test_colour_label_map_through_class_colours(tmp_path):
    colours = [(0, 0, 0), (255, 0, 0), (0, 255, 0)]
    ids = RAMP8 % 3
    path = _save(np.asarray(colours, np.uint8)[ids], tmp_path / "colour.png")
    np.testing.assert_array_equal(read_grey(path, colours), ids)
    with pytest.raises(ValueError, match=r"colours outside the label set"):
        read_grey(path, colours[:2])


def test_predict_reads_a_16_bit_photo_like_its_8_bit_copy(capsys, lfw_run, tmp_path):
    """16-bit greyscale used to be clipped (98 % of pixels 255) and predicted without a
    word: now it gives the same label map as the same picture in 8 bits."""
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (SIZE + 5, SIZE + 3)).astype(np.uint8)
    _save(grey.astype(np.uint16) * 257, photos / "deep.png")
    _save(grey, photos / "flat.png")
    code, _, err = facecolab(
        capsys, "predict", "--model", lfw_run, "--input", photos, "--out", tmp_path / "out",
        "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    deep = np.asarray(Image.open(tmp_path / "out" / "deep.png"))
    flat = np.asarray(Image.open(tmp_path / "out" / "flat.png"))
    np.testing.assert_array_equal(deep, flat)


def test_predict_refuses_a_float_photo_by_name(capsys, lfw_run, tmp_path):
    photo = _save(np.ones((SIZE, SIZE), np.float32), tmp_path / "float.tif")
    out = tmp_path / "out"
    code, _, err = facecolab(
        capsys, "predict", "--model", lfw_run, "--input", photo, "--out", out, "--no-progress"
    )
    assert code == 2
    one_line_error(err, rf"{photo}: 32-bit float image", prefix="facecolab predict: error: ")
    assert files(out) == []

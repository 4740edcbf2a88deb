"""Image and label-map files: the only readers (every PIL mode to one array form), the
label-map writer, and which suffixes count as images.

Images in memory are ``uint8 (H, W, 3)`` RGB; label maps are ``uint8 (H, W)`` class ids in
one channel (``constants.IGNORE_INDEX`` = no class). A file that cannot be read as such is a
``ValueError`` naming it; a missing one stays ``FileNotFoundError``.

numpy and PIL; writes go through ``fsutil`` (atomic, the output policy).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from facecolab.constants import MAX_PIXELS
from facecolab.fsutil import atomic_write_bytes

# The pixel limit of the readers (width × height), checked on the header before decoding; a
# command's --max-pixels sets it for its run (pixel_limit).
_MAX_PIXELS = contextvars.ContextVar("max_pixels", default=MAX_PIXELS)

# Photos a folder listing takes (predict, video frames, dataset folder layouts).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp")
# Label maps: lossless formats only (a JPEG would invent ids on every edge).
LABEL_SUFFIXES = (".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff")
# Suffixes the writers take (``save_image``): lossless first.
WRITE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")
# Those of them that keep an alpha channel (RGBA).
ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")
# Integer modes wider than 8 bits (16-bit PNG/TIFF open as "I;16", 16-bit PGM as "I"): their
# values span 0..65535, which PIL's own convert("RGB") clips to 255 instead of scaling.
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


@contextlib.contextmanager
def pixel_limit(max_pixels: int) -> Iterator[None]:
    """Within the block the readers refuse images of more than ``max_pixels`` pixels."""
    token = _MAX_PIXELS.set(int(max_pixels))
    try:
        yield
    finally:
        _MAX_PIXELS.reset(token)


def check_pixels(path, width: int, height: int) -> None:
    """``ValueError`` naming ``path`` when ``width × height`` exceeds the pixel limit."""
    limit = _MAX_PIXELS.get()
    if width * height > limit:
        raise ValueError(
            f"{path}: image of {width} x {height} = {width * height} pixels is larger than "
            f"the limit of {limit} (--max-pixels N to allow it)"
        )


def _decode(
    path: Path, what: str, to_array: Callable[[Image.Image], np.ndarray], upright: bool = False
) -> np.ndarray:
    """``to_array`` of the decoded file; ``ValueError`` naming the file if it cannot decode
    (PIL raises several types for corrupt files), is empty or is over the pixel limit (read
    from the header, before decoding). ``upright``: turned as its EXIF orientation says (a
    phone photo). A missing file stays ``FileNotFoundError``."""
    try:
        if Path(path).is_file() and Path(path).stat().st_size == 0:
            raise ValueError("empty file, 0 bytes")
        with Image.open(path) as image:
            check_pixels(path, *image.size)
            image.load()
            if upright:
                image = ImageOps.exif_transpose(image)
    except FileNotFoundError:
        raise
    except Image.DecompressionBombError:
        raise ValueError(
            f"{path}: image of more than {2 * Image.MAX_IMAGE_PIXELS} pixels is larger than "
            f"the limit of {_MAX_PIXELS.get()} (a decompression bomb?)"
        ) from None
    except Exception as error:
        if str(error).startswith(f"{path}: "):
            raise
        raise ValueError(f"{path}: cannot read {what} ({error})") from error
    return to_array(image)


def _wide_values(image: Image.Image, path: Path) -> np.ndarray:
    values = np.asarray(image).astype(np.int64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise ValueError(
            f"{path}: {image.mode} image with values outside 0..65535 "
            f"({values.min()}..{values.max()}); save it as 8 or 16 bits"
        )
    return values


def _rgb(image: Image.Image, path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)``: 16-bit grey scaled to 8 bits (65535 → 255), float images
    refused (no agreed range), every other mode through PIL's conversion."""
    if image.mode in WIDE_MODES:
        grey = ((_wide_values(image, path) * 255 + 32767) // 65535).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if image.mode == "F":
        raise ValueError(f"{path}: 32-bit float image; save it as 8 or 16-bit integers")
    try:
        return np.asarray(image.convert("RGB"))
    except ValueError as error:
        raise ValueError(f"{path}: cannot convert a {image.mode} image to RGB ({error})") from None


def _ids(image: Image.Image, path: Path, colours) -> np.ndarray:
    """``uint8 (H, W)`` class ids of a label map: one channel (grey, palette indices, 1-bit,
    16-bit holding ids); a colour image only when its channels agree (grey saved as RGB) or
    through ``colours`` (one exact colour per class)."""
    mode = image.mode
    if mode in WIDE_MODES:
        values = _wide_values(image, path)
        if values.max(initial=0) > 255:
            raise ValueError(f"{path}: mask values exceed 255")
        return values.astype(np.uint8)
    if mode in ("1", "L", "P"):
        return np.asarray(image).astype(np.uint8)
    if mode in ("LA", "PA"):
        return np.asarray(image)[..., 0]
    if mode not in ("RGB", "RGBA", "RGBX"):
        raise ValueError(f"{path}: {mode} image is not a label map (one channel of class ids)")
    rgb = np.asarray(image)[..., :3]
    if colours is not None:
        return colours_to_ids(rgb, colours, str(path))
    differ = (rgb[..., 0] != rgb[..., 1]) | (rgb[..., 0] != rgb[..., 2])
    if differ.any():
        raise ValueError(
            f"{path}: colour image ({int(differ.sum())} pixels are not grey) where a label "
            "map of class ids in one channel is expected; convert its colours to ids first"
        )
    return rgb[..., 0].copy()


def read_image(path) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB from any image file, upright as its EXIF orientation says;
    raises ``ValueError`` naming the file if it cannot decode, exceeds the pixel limit
    (:func:`pixel_limit`) or its mode has no faithful 8-bit RGB (32-bit float)."""
    path = Path(path)
    return _decode(path, "image", lambda image: _rgb(image, path), upright=True)


def read_grey(path, colours=None) -> np.ndarray:
    """``uint8 (H, W)`` class ids from a single-channel label map (grey, palette or 16-bit).

    Args:
        colours: class colours in id order; with them a colour label map is converted
            (every colour must be one of them). Without, a colour map whose channels differ
            is refused rather than read through one channel.
    """
    path = Path(path)
    return _decode(path, "mask", lambda image: _ids(image, path, colours))


def colours_to_ids(
    rgb: np.ndarray, colours: Sequence[Sequence[int]], source: str = "mask"
) -> np.ndarray:
    """``uint8 (H, W)`` ids from an ``(H, W, 3)`` colour mask with one exact colour per class.

    Raises:
        ValueError: naming ``source`` and the first unknown colours, if any pixel matches no
            class colour.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] < 3:
        raise ValueError(f"{source}: expected an RGB colour mask, got shape {rgb.shape}")
    packed = rgb[..., 0].astype(np.int32) << 16 | rgb[..., 1].astype(np.int32) << 8 | rgb[..., 2]
    ids = np.zeros(packed.shape, dtype=np.uint8)
    matched = np.zeros(packed.shape, dtype=bool)
    for class_id, (r, g, b) in enumerate(colours):
        here = packed == (r << 16 | g << 8 | b)
        ids[here] = class_id
        matched |= here
    if not matched.all():
        unknown = ~matched
        bad = np.unique(rgb[unknown][:, :3], axis=0)[:5].tolist()
        raise ValueError(
            f"{source}: {int(unknown.sum())} pixels have colours outside the label set, e.g. {bad}"
        )
    return ids


def list_images(path) -> list[Path]:
    """One image file, or the images of a folder (``IMAGE_SUFFIXES``, sorted)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such image or folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def check_alpha_format(path) -> None:
    """``ValueError`` naming ``path`` when its suffix names a format without transparency."""
    suffix = Path(path).suffix.lower()
    if suffix not in ALPHA_SUFFIXES:
        raise ValueError(
            f"{path}: {suffix or 'a file without an extension'} cannot keep transparency; "
            f"use one of {', '.join(ALPHA_SUFFIXES)}"
        )


def encode_image(array: np.ndarray, path, **options) -> bytes:
    """``uint8 (H, W[, 3 | 4])`` encoded in the format ``path``'s suffix names (PNG, JPEG,
    …); an unknown suffix, or an RGBA array for a format without transparency, is a
    ``ValueError`` naming ``path`` and the accepted suffixes."""
    suffix = Path(path).suffix.lower()
    formats = Image.registered_extensions()
    if suffix not in WRITE_SUFFIXES or suffix not in formats:
        raise ValueError(
            f"{path}: unknown image file extension {suffix or '(none)'!r}; use one of "
            f"{', '.join(WRITE_SUFFIXES)}"
        )
    if np.ndim(array) == 3 and np.shape(array)[2] == 4:
        check_alpha_format(path)
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buffer, formats[suffix], **options)
    return buffer.getvalue()


def save_image(array: np.ndarray, path, **options) -> Path:
    """Write ``uint8 (H, W[, 3 | 4])`` to ``path`` (format from the suffix), atomically."""
    data = encode_image(array, path, **options)
    atomic_write_bytes(path, data)
    return Path(path)


def save_label_map(label: np.ndarray, path) -> Path:
    """``uint8 (H, W)`` ids → single-channel PNG (ids as grey values, lossless), atomically."""
    return save_image(np.asarray(label, dtype=np.uint8), path)

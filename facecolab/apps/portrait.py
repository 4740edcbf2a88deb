"""Portrait segmentation and background replacement (project 5's ``test.py``).

``python -m facecolab.apps.portrait -i photo.jpg -m model.keras [-o out.png]
[--background blur|white|transparent|IMAGE] [--threshold 0.5] [--no-reframe]``

As in the seed's test script, the photo is resized keeping its aspect ratio and zero-padded
to the model's square input (letterbox), so people are not squashed; the padding is cut off
the prediction, which is resized back to the photo's size and thresholded at 0.5. Then the
model looks again at a window around the people it found (``facecolab.workflows.reframe``),
so a person far away fills its input; ``--no-reframe`` keeps the one pass. Writes the
composite and, beside it, ``<out stem>_mask.png`` (person 255, background 0). ``--background
transparent`` writes the person alone, the rest transparent (RGBA: PNG, WebP or TIFF).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facecolab.apps.common import (
    USER_ERRORS,
    app_inputs,
    app_parser,
    check_app_outputs,
    load_image,
    output_path,
    report_error,
    save_outputs,
)
from facecolab.console import float_in, quiet_backend
from facecolab.data.imageio import check_alpha_format, pixel_limit
from facecolab.data.resize import resize_image

ASPECT = "letterbox"
THRESHOLD = 0.5
BLUR_FRACTION = 0.03  # background blur radius as a fraction of the photo's shorter side
# The background blur divides by the share of background around each pixel, at least this
# much (deep inside the person, where the backdrop does not show).
MIN_BACKGROUND_WEIGHT = 0.05
TRANSPARENT = "transparent"  # the person alone: the photo with the mask as its alpha channel
BACKGROUNDS = ("blur", "white", TRANSPARENT)
PERSON = 1  # class id of the person in the portrait / eg1800 specs


def make_background(image: np.ndarray, background, alpha: np.ndarray | None = None) -> np.ndarray:
    """``uint8 (H, W, 3)`` background for ``image``.

    Args:
        background: ``"blur"`` (the photo blurred, the person of ``alpha`` left out:
            :func:`background_blur`), ``"white"``, an ``(r, g, b)`` colour, an image file
            path or a ``uint8 (h, w, 3)`` array (scaled to cover the photo and
            centre-cropped).
        alpha: ``float (H, W)`` person weight in [0, 1]; ``None``: nobody (a plain blur).
    """
    height, width = image.shape[:2]
    if isinstance(background, str) and background == "blur":
        alpha = np.zeros((height, width), np.float32) if alpha is None else alpha
        return np.clip(background_blur(image, alpha) + 0.5, 0, 255).astype(np.uint8)
    if isinstance(background, str) and background == "white":
        return np.full_like(image, 255)
    if isinstance(background, (str, Path)):
        background = load_image(background)
    background = np.asarray(background, dtype=np.uint8)
    if background.shape == (3,):
        return np.broadcast_to(background, image.shape).copy()
    if background.ndim != 3 or background.shape[2] != 3:
        raise ValueError(f"background image must be (H, W, 3), got shape {background.shape}")
    return resize_image(background, (height, width), aspect="crop")


def background_blur(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``float32 (H, W, 3)``: ``image`` blurred with the person left out, so the person's
    colours do not glow into the background around them. A normalised blur: each pixel is the
    average of the pixels around it weighted by ``1 − alpha`` (the background); where almost
    no background is near (``MIN_BACKGROUND_WEIGHT``), the person covers it anyway.

    Args:
        image: ``uint8 (H, W, 3)``; alpha: ``float (H, W)`` person weight in [0, 1].
    """
    from PIL import Image, ImageFilter

    height, width = image.shape[:2]
    radius = max(1.0, BLUR_FRACTION * min(height, width))
    # A wide blur at full resolution costs more than the model: blur at 1/step of the size
    # (a radius of at least 4 pixels there), then scale back up.
    step = max(1, int(radius // 4))
    weight = 1.0 - np.clip(alpha, 0.0, 1.0)[..., None]
    # The background premultiplied by its weight, and the weight, blurred as one RGBA image.
    layers = np.concatenate([image * weight, 255 * weight], axis=-1)
    picture = Image.fromarray(np.clip(layers + 0.5, 0, 255).astype(np.uint8), "RGBA")
    picture = picture.resize((max(1, width // step), max(1, height // step)), Image.BOX)
    picture = picture.filter(ImageFilter.GaussianBlur(radius / step))
    blurred = np.asarray(picture.resize((width, height), Image.BILINEAR), np.float32)
    around = np.maximum(blurred[..., 3:], 255 * MIN_BACKGROUND_WEIGHT)
    return blurred[..., :3] * (255 / around)


def composite(image: np.ndarray, mask: np.ndarray, background="blur") -> np.ndarray:
    """The person of ``image`` over ``background``.

    Args:
        image: ``uint8 (H, W, 3)``.
        mask: ``(H, W)`` person weight: 0/1 ``uint8`` (hard) or float in [0, 1] (soft edges).
        background: ``"transparent"`` (:data:`TRANSPARENT`), or see :func:`make_background`
            (``"blur"`` blurs the background alone).

    Returns:
        ``uint8 (H, W, 3)``: ``mask · image + (1 − mask) · background``; for
        ``"transparent"``, ``uint8 (H, W, 4)``: ``image`` with ``255 · mask`` as its alpha,
        black where that alpha is 0 (nothing of the photo is kept where nothing shows).
    """
    image = np.asarray(image)
    mask = np.asarray(mask)
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} and image {image.shape[:2]} sizes differ")
    alpha = np.clip(mask.astype(np.float32), 0.0, 1.0)[..., None]
    if isinstance(background, str) and background == TRANSPARENT:
        opacity = np.clip(255 * alpha + 0.5, 0, 255).astype(np.uint8)
        # The hidden pixels hold nothing of the photo (a viewer that drops alpha shows black,
        # and the file is smaller); partly opaque ones keep their colour for the edge.
        return np.concatenate([np.where(opacity > 0, image, 0), opacity], axis=-1)
    backdrop = make_background(image, background, alpha[..., 0]).astype(np.float32)
    blended = alpha * image.astype(np.float32) + (1.0 - alpha) * backdrop
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def mask_path(out: Path) -> Path:
    """Where the mask of composite ``out`` goes: ``<out stem>_mask.png`` beside it."""
    return out.with_name(f"{out.stem}_mask.png")


def add_background_options(parser: argparse.ArgumentParser) -> None:
    """``--background`` and ``--threshold``."""
    parser.add_argument(
        "--background",
        default="blur",
        help="blur, white, transparent (the person alone, RGBA: the output must be .png, .webp "
        "or .tif) or a background image file (default blur)",
    )
    parser.add_argument(
        "--threshold",
        type=float_in(0, 1),
        default=THRESHOLD,
        help=f"P(person) above which a pixel is the person's in the saved mask, 0 … 1 (default "
        f"{THRESHOLD}); the composite blends by the same hard mask",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = app_parser("portrait", __doc__, image_help="photo (any size)")
    parser.add_argument(
        "-o", "--out", help="composite image, e.g. .png (default <image stem>_portrait.png)"
    )
    add_background_options(parser)
    parser.add_argument(
        "--reframe",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="look again at a window around the people found, for people small in the photo "
        "(default on; --no-reframe: one pass over the whole photo)",
    )
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out = output_path(args.out, args.image, "portrait")
    quiet_backend(args.verbose)
    from facecolab.apps.inference import load_photo_and_model, portrait_mask

    try:
        with pixel_limit(args.max_pixels):
            check_app_outputs("portrait", args, [out, mask_path(out)])
            if args.background == TRANSPARENT:
                check_alpha_format(out)
            if args.background not in BACKGROUNDS and not Path(args.background).is_file():
                raise FileNotFoundError(
                    f"{args.background}: --background is {', '.join(BACKGROUNDS)} or an image "
                    "file, and no such file is there"
                )
            image, model, _ = load_photo_and_model(args.image, args.model)
            mask = portrait_mask(model, image, args.threshold, args.reframe)
            pictures = {
                out: composite(image, mask, args.background),
                mask_path(out): mask * np.uint8(255),
            }
            save_outputs("portrait", pictures, app_inputs(args, model), args.overwrite)
    except USER_ERRORS as error:
        return report_error("portrait", error)
    print(f"wrote {out} and {mask_path(out)} (person: {100 * mask.mean():.1f}% of the pixels)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Recolour lips or hair inside a predicted mask (project 2's experiment).

``python -m facecolab.apps.recolour -i face.jpg -m model.keras --part lips --colour '#aa0033'
-o out.png`` (or ``--hue-shift 40`` to turn the hue instead of setting a colour).

The colour changes in HSV: hue set to the target's (or turned), saturation and brightness
moved so that their mean over the part matches the target's while the texture (each pixel's
offset from that mean) is kept. The change fades in over a few pixels inside the part's
border (an inward feather, so nothing outside the part changes), and the part is then
sharpened a little, as the seed did, to restore detail lost in the colour shift. The part's
class ids come from the dataset's class names, so CelebAMask-HQ (``u_lip``, ``l_lip``,
``hair``), Helen (``ulip``, ``llip``, ``hair``) and LFW Part Labels (``hair``) models all work.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from facecolab.apps.common import (
    USER_ERRORS,
    add_dataset_option,
    add_face_crop_option,
    app_inputs,
    app_parser,
    check_app_outputs,
    output_path,
    report_error,
    save_outputs,
)
from facecolab.console import float_in, quiet_backend
from facecolab.data.imageio import pixel_limit
from facecolab.data.resize import ASPECT_MODES

PART_CLASSES: dict[str, tuple[str, ...]] = {
    "lips": ("u_lip", "l_lip", "ulip", "llip"),
    "hair": ("hair",),
}
MAX_FEATHER = 1000  # px; wider than any face part at MAX_PIXELS
SHARPEN_SIGMA = 1.0  # px; the scale of detail the unsharp mask restores
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def part_class_ids(class_names: Sequence[str], part: str) -> tuple[int, ...]:
    """Ids of ``part`` (a ``PART_CLASSES`` key) in a dataset's ``class_names``."""
    if part not in PART_CLASSES:
        raise ValueError(f"part must be one of {sorted(PART_CLASSES)}, got {part!r}")
    ids = tuple(i for i, name in enumerate(class_names) if name in PART_CLASSES[part])
    if not ids:
        raise ValueError(
            f"the model's classes {list(class_names)} have no {part} "
            f"({' / '.join(PART_CLASSES[part])})"
        )
    return ids


def parse_colour(colour) -> tuple[int, int, int]:
    """``"#aa0033"``, ``"a03"`` or an ``(r, g, b)`` triple of 0–255 ints → ``(r, g, b)``."""
    if isinstance(colour, str):
        match = _HEX_COLOUR.fullmatch(colour.strip())
        if not match:
            raise ValueError(f"colour {colour!r} is not a hex colour like '#aa0033'")
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))
    values = tuple(int(v) for v in colour)
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise ValueError(f"colour {colour!r} must be three values in 0–255")
    return values


def gaussian_blur(array: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of ``float (H, W[, C])`` over H and W (edges reflected)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = np.asarray(array, dtype=np.float32)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        windows = sliding_window_view(np.pad(out, pad, mode="reflect"), len(taps), axis=axis)
        out = windows @ taps.astype(np.float32)
    return out


def _erode(mask: np.ndarray) -> np.ndarray:
    """3×3 binary erosion; pixels beyond the image border count as inside."""
    padded = np.pad(mask, 1, mode="edge")
    height, width = mask.shape
    out = mask.copy()
    for dy in range(3):
        for dx in range(3):
            out &= padded[dy : dy + height, dx : dx + width]
    return out


def soft_mask(label: np.ndarray, class_ids: Sequence[int], feather: float) -> np.ndarray:
    """``float32 (H, W)`` weight of the change: 0 outside the parts, rising to 1 over
    ``feather`` pixels inside their border (chessboard distance), so the recoloured region
    blends into its surroundings without touching them."""
    if not 0 <= feather <= MAX_FEATHER:  # also refuses nan
        raise ValueError(f"feather must be 0 to {MAX_FEATHER} pixels, got {feather}")
    inside = np.isin(label, np.asarray(class_ids))
    steps = int(np.ceil(feather))
    if steps <= 0:
        return inside.astype(np.float32)
    depth = inside.astype(np.float32)
    eroded = inside
    for _ in range(steps - 1):
        eroded = _erode(eroded)
        if not eroded.any():  # nothing deeper: the rest of the steps add nothing
            break
        depth += eroded
    return np.minimum(depth / feather, 1.0).astype(np.float32)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    return float((values * weights).sum() / weights.sum())


def recolour(
    image: np.ndarray,
    label: np.ndarray,
    class_ids: Sequence[int],
    colour=None,
    hue_shift: float | None = None,
    strength: float = 0.8,
    feather: float | None = None,
    sharpen: float = 0.5,
) -> np.ndarray:
    """Change the colour of the pixels of ``class_ids``.

    Args:
        image: ``uint8 (H, W, 3)`` RGB photo.
        label: ``uint8 (H, W)`` class ids of the photo (e.g. from ``inference.photo_labels``).
        class_ids: the ids to recolour (``part_class_ids``).
        colour: target ``"#rrggbb"`` or ``(r, g, b)``; exactly one of ``colour`` and
            ``hue_shift``.
        hue_shift: degrees to turn the hue by, keeping saturation and brightness.
        strength: 0 (no change) … 1 (full target colour), blended in RGB.
        feather: width in pixels of the soft inner edge; default 1 % of the shorter side.
        sharpen: unsharp-mask amount applied inside the part after the colour change.

    Returns:
        ``uint8 (H, W, 3)``; pixels outside ``class_ids`` are unchanged. Without any such
        pixel the photo is returned as it is.
    """
    from matplotlib.colors import hsv_to_rgb, rgb_to_hsv

    if (colour is None) == (hue_shift is None):
        raise ValueError("give exactly one of colour and hue_shift")
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != np.shape(label):
        raise ValueError(
            f"image must be (H, W, 3) and label (H, W) of the same size; got "
            f"{image.shape} and {np.shape(label)}"
        )
    if feather is None:
        feather = max(1.0, 0.01 * min(image.shape[:2]))
    weight = soft_mask(label, class_ids, feather)
    if not weight.any():
        return image.copy()

    original = image.astype(np.float32) / 255.0
    hsv = rgb_to_hsv(original)
    if colour is None:
        hsv[..., 0] = (hsv[..., 0] + hue_shift / 360.0) % 1.0
    else:
        target = rgb_to_hsv(np.asarray(parse_colour(colour), dtype=np.float32) / 255.0)
        hsv[..., 0] = target[0]
        for channel in (1, 2):  # move the part's mean to the target's, keep the texture
            offset = target[channel] - _weighted_mean(hsv[..., channel], weight)
            hsv[..., channel] = np.clip(hsv[..., channel] + offset, 0.0, 1.0)
    alpha = (strength * weight)[..., None]
    result = original + alpha * (hsv_to_rgb(hsv) - original)
    if sharpen:
        detail = result - gaussian_blur(result, SHARPEN_SIGMA)
        result = result + sharpen * weight[..., None] * detail
    result = np.clip(result * 255.0 + 0.5, 0, 255).astype(np.uint8)
    result[weight == 0] = image[weight == 0]
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = app_parser("recolour", __doc__, image_help="face photo (any size)")
    parser.add_argument(
        "--part", required=True, choices=sorted(PART_CLASSES), help="what to recolour"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--colour", "--color", help="target colour, e.g. '#aa0033'")
    target.add_argument(
        "--hue-shift", type=float_in(-360, 360), help="turn the hue by this many degrees"
    )
    parser.add_argument("--strength", type=float_in(0, 1), default=0.8, help="0 … 1 (default 0.8)")
    parser.add_argument(
        "--feather",
        type=float_in(0, MAX_FEATHER),
        help=f"soft edge width in px, at most {MAX_FEATHER} (default 1%% of the shorter side)",
    )
    parser.add_argument(
        "--sharpen", type=float_in(0, 10), default=0.5, help="unsharp amount, 0 … 10 (0: off)"
    )
    parser.add_argument("-o", "--out", help="output image (default <stem>_<part>.png)")
    add_dataset_option(parser, "class names")
    parser.add_argument(
        "--aspect",
        default="stretch",
        choices=ASPECT_MODES,
        help="how the photo (or each face crop) is fitted to the model's input size "
        "(default stretch)",
    )
    add_face_crop_option(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    quiet_backend(args.verbose)
    from facecolab.apps.inference import load_photo_and_model, photo_labels

    try:
        with pixel_limit(args.max_pixels):
            check_app_outputs("recolour", args, [output_path(args.out, args.image, args.part)])
            image, model, spec = load_photo_and_model(args.image, args.model, args.dataset)
            if spec is None:
                raise ValueError(
                    f"{args.model}: cannot tell which dataset the model was trained "
                    "on; pass --dataset (e.g. celebamask_hq)"
                )
            ids = part_class_ids(spec.class_names, args.part)
            label = photo_labels(model, image, args.face_crop, args.aspect, args.image)
            if not np.isin(label, ids).any():
                raise ValueError(
                    f"{args.image}: the model finds no {args.part} in this photo, so there is "
                    "nothing to recolour (nothing was written)"
                )
            result = recolour(
                image,
                label,
                ids,
                colour=args.colour,
                hue_shift=args.hue_shift,
                strength=args.strength,
                feather=args.feather,
                sharpen=args.sharpen,
            )
            out = output_path(args.out, args.image, args.part)
            save_outputs("recolour", {out: result}, app_inputs(args, model), args.overwrite)
    except USER_ERRORS as error:
        return report_error("recolour", error)
    found = np.isin(label, ids).mean()
    print(f"wrote {out} ({args.part}: {100 * found:.1f}% of the pixels)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

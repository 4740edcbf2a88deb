"""Parse a face photo and save the labels as a picture (project 2's ``test.py``).

``python -m facecolab.apps.face_parsing -i face.jpg -m model.keras -v overlay [-o out.png]``

Views: ``mask`` (class colours), ``overlay`` (colours blended over the photo),
``side_by_side`` (photo | mask, with a legend of the classes found below) and ``parts``
(one panel per predicted part, with its name).
A face model parses each face it finds, cropped as its training faces were, and pastes the
labels back (``--no-face-crop``: the photo is a pre-aligned crop, parsed whole). The labels
are predicted at the model's input size and brought back to the photo's own size
(probabilities resized, then argmax), so every view has the photo's resolution.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from facecolab.apps.common import (
    USER_ERRORS,
    add_dataset_option,
    add_face_crop_option,
    app_inputs,
    app_parser,
    check_app_outputs,
    output_path,
    palette_of,
    report_error,
    save_outputs,
)
from facecolab.console import quiet_backend
from facecolab.data.imageio import pixel_limit
from facecolab.data.resize import ASPECT_MODES
from facecolab.viz import colorize, legend, overlay

VIEWS = ("mask", "overlay", "side_by_side", "parts")
DIMMED = 0.25  # brightness of the pixels outside the part in the ``parts`` view


def parts_grid(
    image: np.ndarray, label: np.ndarray, class_names: Sequence[str] = (), columns: int = 4
) -> np.ndarray:
    """``uint8 (h, w, 3)`` figure: one panel per predicted class except background (id 0),
    showing the photo with everything outside that class dimmed, titled with its name (its
    id when ``class_names`` has none for it) and share of the pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ids = [int(i) for i in np.unique(label) if i != 0]
    if not ids:
        ids = [0]  # nothing but background: show that rather than an empty figure
    rows = -(-len(ids) // columns)
    cols = min(columns, len(ids))
    height, width = label.shape
    figure = Figure(figsize=(3 * cols, 3 * rows * height / width + 0.4 * rows))
    FigureCanvasAgg(figure)
    for index, class_id in enumerate(ids, start=1):
        inside = label == class_id
        shown = np.where(inside[..., None], image, (image * DIMMED).astype(np.uint8))
        axes = figure.add_subplot(rows, cols, index)
        axes.imshow(shown)
        name = class_names[class_id] if class_id < len(class_names) else str(class_id)
        axes.set_title(f"{class_id} {name} ({100 * inside.mean():.1f}%)", fontsize=9)
        axes.axis("off")
    figure.tight_layout()
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def render(
    image: np.ndarray,
    label: np.ndarray,
    view: str,
    palette: np.ndarray,
    class_names: Sequence[str] | None = None,
) -> np.ndarray:
    """The picture of one view as ``uint8 (h, w, 3)``.

    Args:
        image: ``uint8 (H, W, 3)`` photo.
        label: ``uint8 (H, W)`` class ids.
        view: one of ``VIEWS``.
        palette: ``uint8 (256, 3)`` colour per id.
        class_names: names in id order for the ``parts`` titles and the ``side_by_side``
            legend (default: the ids).
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    if image.shape[:2] != label.shape:
        raise ValueError(f"image {image.shape[:2]} and label {label.shape} sizes differ")
    if view == "mask":
        return colorize(label, palette)
    if view == "overlay":
        return overlay(image, label, palette)
    if view == "side_by_side":
        pair = np.concatenate([image, colorize(label, palette)], axis=1)
        names = list(class_names or ())
        names += [str(i) for i in range(len(names), int(label.max()) + 1)]
        absent = [i for i in range(len(names)) if not (label == i).any()]
        swatch = max(14, pair.shape[0] // 40)
        key = legend(names, palette, pair.shape[1], swatch=swatch, skip=absent)
        width = max(pair.shape[1], key.shape[1])
        canvas = np.full((pair.shape[0] + key.shape[0], width, 3), 255, dtype=np.uint8)
        canvas[: pair.shape[0], : pair.shape[1]] = pair
        canvas[pair.shape[0] :, : key.shape[1]] = key
        return canvas
    return parts_grid(image, label, class_names or ())


def build_parser() -> argparse.ArgumentParser:
    parser = app_parser("face_parsing", __doc__, image_help="face photo (any size)")
    parser.add_argument(
        "-v",
        "--view",
        default="overlay",
        choices=VIEWS,
        help="mask (class colours), overlay (blended over the photo), side_by_side (photo | "
        "mask, with a legend) or parts (one panel per part) (default overlay)",
    )
    parser.add_argument("-o", "--out", help="output PNG (default: <image stem>_<view>.png)")
    add_dataset_option(parser, "colours, names")
    parser.add_argument(
        "--aspect",
        default="stretch",
        choices=ASPECT_MODES,
        help="how the photo is fitted to the model's input size",
    )
    add_face_crop_option(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    quiet_backend(args.verbose)
    from facecolab.apps.inference import load_photo_and_model, photo_labels

    try:
        with pixel_limit(args.max_pixels):
            check_app_outputs("face_parsing", args, [output_path(args.out, args.image, args.view)])
            image, model, spec = load_photo_and_model(args.image, args.model, args.dataset)
            label = photo_labels(model, image, args.face_crop, args.aspect, args.image)
            picture = render(
                image, label, args.view, palette_of(spec), spec.class_names if spec else None
            )
            out = output_path(args.out, args.image, args.view)
            save_outputs("face_parsing", {out: picture}, app_inputs(args, model), args.overwrite)
    except USER_ERRORS as error:
        return report_error("face_parsing", error)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Pictures for people: colour label maps, overlays, grids of them (``tile``: what the
notebooks show) with a class-colour legend, training curves (with the learning rate),
confusion matrices, uncertainty maps, reliability diagrams.

matplotlib is imported lazily and only as ``matplotlib.figure.Figure`` objects, which never
touch pyplot's global state or need a display, so the library works headless.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from facecolab.data.imageio import read_grey, read_image
from facecolab.data.prepare import dataset_spec, split_files
from facecolab.data.resize import resize_image
from facecolab.fsutil import atomic_write_bytes

MIN_TILE_HEIGHT = 160
UNCERTAINTY_QUANTILE = 0.99  # uncertainty maps saturate above this quantile
LEGEND_SWATCH = 14  # px: legend colour squares and text height
LEARNING_RATE_COLUMNS = ("learning_rate", "lr")  # how Keras callbacks name it in history.csv


def generic_palette() -> np.ndarray:
    """``uint8 (256, 3)``: a distinct colour per id (the PASCAL VOC bit-interleaving scheme:
    0 black, 1 dark red, 2 dark green, …), for models whose dataset is unknown."""
    ids = np.arange(256)
    palette = np.zeros((256, 3), dtype=np.int64)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= ((ids >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.astype(np.uint8)


def colorize(label: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """``uint8 (H, W)`` ids → ``uint8 (H, W, 3)`` via a ``(256, 3)`` palette."""
    return palette[np.asarray(label, dtype=np.uint8)]


def overlay(
    image: np.ndarray,
    label: np.ndarray,
    palette: np.ndarray,
    alpha: float = 0.5,
    skip_background: bool = True,
) -> np.ndarray:
    """Blend class colours over ``uint8 (H, W, 3)`` image; background left untouched."""
    colours = colorize(label, palette).astype(np.float32)
    blended = (1 - alpha) * image.astype(np.float32) + alpha * colours
    if skip_background:
        blended[label == 0] = image[label == 0]
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def tile(rows: Sequence[Sequence[np.ndarray]], gap: int = 4, height: int | None = None):
    """A PIL image of ``uint8 (h, w[, 3])`` pictures laid out in rows (white gaps), each
    picture scaled to ``height`` (default: the first picture's, at least
    ``MIN_TILE_HEIGHT`` so sample-size pictures stay visible)."""
    height = height or max(rows[0][0].shape[0], MIN_TILE_HEIGHT)

    def fit(picture):
        picture = np.asarray(picture, dtype=np.uint8)
        if picture.ndim == 2:
            picture = np.repeat(picture[..., None], 3, axis=-1)
        width = max(1, round(picture.shape[1] * height / picture.shape[0]))
        return resize_image(picture, (height, width))

    fitted = [[fit(p) for p in row] for row in rows]
    width = max(sum(p.shape[1] for p in row) + gap * (len(row) - 1) for row in fitted)
    canvas = np.full((len(rows) * (height + gap) - gap, width, 3), 255, dtype=np.uint8)
    for r, row in enumerate(fitted):
        x = 0
        for picture in row:
            canvas[r * (height + gap) : r * (height + gap) + height, x : x + picture.shape[1]] = (
                picture
            )
            x += picture.shape[1] + gap
    return Image.fromarray(canvas)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # scalable (Pillow >= 10.1 with FreeType)
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def legend(
    class_names: Sequence[str],
    palette: np.ndarray,
    width: int,
    swatch: int = LEGEND_SWATCH,
    skip: Sequence[int] = (),
) -> np.ndarray:
    """``uint8 (h, width, 3)``: a colour swatch and the name of each class id (white
    background), in as many columns as fit ``width``, row by row in id order.

    Args:
        class_names: name of id 0, 1, … (a ``DatasetSpec.class_names``).
        palette: ``(256, 3)`` colours by id, as the overlays use.
        skip: ids left out (e.g. the background, which overlays leave uncoloured).
    """
    from PIL import ImageDraw

    font = _font(swatch)
    skip = set(skip)
    entries = [(i, name) for i, name in enumerate(class_names) if i not in skip]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_width = max((measure.textlength(f"{i} {n}", font=font) for i, n in entries), default=0)
    column = int(swatch * 2 + text_width + swatch)
    columns = max(1, min(len(entries), width // column))
    row_height = swatch + 6
    rows = -(-len(entries) // columns)
    canvas = Image.new("RGB", (max(width, column), rows * row_height + 4), "white")
    draw = ImageDraw.Draw(canvas)
    for position, (class_id, name) in enumerate(entries):
        x = (position % columns) * column + 4
        y = (position // columns) * row_height + 4
        colour = tuple(int(c) for c in palette[class_id])
        draw.rectangle([x, y, x + swatch, y + swatch], fill=colour, outline=(90, 90, 90))
        draw.text((x + swatch + 5, y - 1), f"{class_id} {name}", fill=(40, 40, 40), font=font)
    return np.asarray(canvas)


def with_legend(picture, class_names: Sequence[str], palette: np.ndarray, gap: int = 4):
    """``picture`` (a PIL image or ``uint8 (H, W, 3)``) with :func:`legend` below it, as one
    PIL image of the same width (the background, left uncoloured by overlays, is left out)."""
    picture = np.asarray(picture, dtype=np.uint8)
    key = legend(class_names, palette, picture.shape[1], skip=(0,))
    width = max(picture.shape[1], key.shape[1])
    canvas = np.full((picture.shape[0] + gap + key.shape[0], width, 3), 255, dtype=np.uint8)
    canvas[: picture.shape[0], : picture.shape[1]] = picture
    canvas[picture.shape[0] + gap :, : key.shape[1]] = key
    return Image.fromarray(canvas)


def sample_grid(prepared_dir, split: str = "train", count: int = 4, show_legend: bool = True):
    """A PIL image of the first ``count`` samples of a prepared split: images on top, label
    overlays below, then (``show_legend``) the dataset's class colours."""
    spec = dataset_spec(prepared_dir)
    palette = spec.palette()
    image_paths, label_paths = split_files(prepared_dir, split)
    images = [read_image(path) for path in image_paths[:count]]
    labels = [read_grey(path) for path in label_paths[:count]]
    overlays = [overlay(i, label, palette) for i, label in zip(images, labels, strict=True)]
    grid = tile([images, overlays])
    return with_legend(grid, spec.class_names, palette) if show_legend else grid


def prediction_grid(
    predictions: Sequence, palette: np.ndarray, class_names: Sequence[str] | None = None
):
    """A PIL image of predictions against the truth
    (``facecolab.workflows.evaluate.ItemPrediction``:
    ``image``, ``label``, ``truth_at_image_size``): photos on top, predicted labels, then the
    ground truth (overlays); with ``class_names``, a legend of the class colours below."""
    grid = tile(
        [
            [p.image for p in predictions],
            [overlay(p.image, p.label, palette) for p in predictions],
            [overlay(p.image, p.truth_at_image_size, palette) for p in predictions],
        ]
    )
    return grid if class_names is None else with_legend(grid, class_names, palette)


def training_curves(run_dir):
    """A training run's ``curves.png`` as a PIL image; ``None`` without one (a pretrained
    model has no run folder: ``run_dir`` ``None``)."""
    if run_dir is None or not (Path(run_dir) / "curves.png").is_file():
        return None
    return Image.open(Path(run_dir) / "curves.png")


def _save_figure(figure, out_path) -> Path:
    out_path = Path(out_path)
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=100, format=out_path.suffix.lstrip(".") or "png")
    atomic_write_bytes(out_path, buffer.getvalue())
    return out_path


def read_history(history_csv) -> list[dict[str, float]]:
    """The rows of a Keras ``CSVLogger`` file as floats (``[]`` when it is missing)."""
    history_csv = Path(history_csv)
    if not history_csv.exists():
        return []
    with history_csv.open(newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def history_figure(rows: Sequence[Mapping[str, float]]):
    """One panel per loss or metric (train vs ``val_``), and a learning-rate panel (log scale)
    when the rows have a ``learning_rate`` or ``lr`` column (:func:`read_history` rows).

    Returns:
        a ``matplotlib.figure.Figure`` (not attached to pyplot).
    """
    from matplotlib.figure import Figure

    rate = next((k for k in LEARNING_RATE_COLUMNS if k in rows[0]), None)
    skipped = ("epoch", *LEARNING_RATE_COLUMNS)
    names = [k for k in rows[0] if k not in skipped and not k.startswith("val_")]
    panels = len(names) + (rate is not None)
    figure = Figure(figsize=(4 * panels, 3.2))
    axes = figure.subplots(1, panels, squeeze=False)[0]
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for ax, name in zip(axes, names, strict=False):
        ax.plot(epochs, [r[name] for r in rows], label="train")
        if f"val_{name}" in rows[0]:
            ax.plot(epochs, [r[f"val_{name}"] for r in rows], label="val")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    if rate is not None:
        ax = axes[-1]
        ax.plot(epochs, [r[rate] for r in rows], color="tab:green", marker=".")
        ax.set_yscale("log")
        ax.set_title("learning rate")
        ax.set_xlabel("epoch")
    figure.tight_layout()
    return figure


def plot_history(history_csv, out_path) -> Path | None:
    """:func:`history_figure` of a Keras ``CSVLogger`` file saved to ``out_path``; ``None``
    (nothing written) when the file is missing or holds no epochs yet."""
    rows = read_history(history_csv)
    return _save_figure(history_figure(rows), out_path) if rows else None


def plot_confusion_matrix(cm: np.ndarray, class_names, out_path, title: str | None = None) -> Path:
    """Row-normalised confusion matrix (each truth row sums to 100 %) as a heat map.

    Rows are truth, columns prediction, as ``facecolab.measures.metrics.confusion_matrix`` returns;
    cells are annotated with percentages when there are at most 20 classes.
    """
    from matplotlib.figure import Figure

    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    percent = np.divide(100 * cm, rows, out=np.zeros_like(cm), where=rows > 0)
    count = len(class_names)
    side = max(4.0, 0.5 * count + 2)
    figure = Figure(figsize=(side + 1, side))
    axes = figure.add_subplot()
    image = axes.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    figure.colorbar(image, ax=axes, label="% of true pixels")
    axes.set(
        xticks=range(count),
        yticks=range(count),
        xlabel="predicted",
        ylabel="true",
        title=title or "confusion matrix",
    )
    axes.set_xticklabels(class_names, rotation=45, ha="right")
    axes.set_yticklabels(class_names)
    if count <= 20:
        for (row, col), value in np.ndenumerate(percent):
            axes.text(
                col,
                row,
                f"{value:.1f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > 50 else "black",
            )
    figure.tight_layout()
    return _save_figure(figure, out_path)


def display_range(values: np.ndarray, quantile: float = UNCERTAINTY_QUANTILE):
    """``(0, top)`` for showing a non-negative map: ``top`` is its ``quantile`` (so the few
    largest values saturate instead of darkening everything else), or its maximum when the
    quantile is 0, or a tiny positive number for an all-zero map."""
    values = np.asarray(values, dtype=np.float64)
    top = float(np.quantile(values, quantile)) if values.size else 0.0
    if top <= 0:
        top = float(values.max()) if values.size else 0.0
    return 0.0, max(top, np.finfo(np.float32).tiny)


def plot_uncertainty(
    image: np.ndarray,
    labels: np.ndarray,
    entropy: np.ndarray,
    mutual_information: np.ndarray,
    out_path,
    palette: np.ndarray | None = None,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Path:
    """:func:`uncertainty_figure` written to ``out_path`` (PNG)."""
    figure = uncertainty_figure(
        image, labels, entropy, mutual_information, palette, title, class_names
    )
    return _save_figure(figure, out_path)


def uncertainty_figure(
    image: np.ndarray,
    labels: np.ndarray,
    entropy: np.ndarray,
    mutual_information: np.ndarray,
    palette: np.ndarray | None = None,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
):
    """Four panels: ``uint8 (H, W, 3)`` image, label overlay, predictive entropy and mutual
    information (``float (H, W)``, nats) with their colour bars, each map scaled by
    :func:`display_range` so a few very uncertain pixels do not leave the rest black.
    ``class_names``: a legend of the classes the overlay shows (else their ids)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    palette = generic_palette() if palette is None else palette
    height, width = labels.shape
    figure = Figure(figsize=(4 * 4, 4 * height / width + 0.6))
    panels = (
        ("image", image, None),
        ("labels", overlay(image, labels, palette), None),
        ("entropy (nats)", entropy, "magma"),
        ("mutual information (nats)", mutual_information, "magma"),
    )
    for index, (name, values, cmap) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, 4, index)
        vmin, vmax = (None, None) if cmap is None else display_range(values)
        shown = axes.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
        if cmap is not None:
            figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.04)
        axes.set_title(name)
        axes.axis("off")
        if name == "labels":
            present = [int(i) for i in np.unique(labels) if i != 0]
            names = list(class_names or ())
            handles = [
                Patch(color=palette[i] / 255, label=names[i] if i < len(names) else str(i))
                for i in present
            ]
            if handles:
                axes.legend(
                    handles=handles,
                    loc="upper center",
                    bbox_to_anchor=(0.5, -0.01),
                    ncol=min(4, len(handles)),
                    fontsize=7,
                    frameon=False,
                )
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def figure_array(figure) -> np.ndarray:
    """``uint8 (h, w, 3)`` pixels of a matplotlib ``Figure`` (drawn by Agg, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def plot_reliability(diagrams: Mapping, title: str | None = None):
    """Reliability curves (accuracy against confidence) with their ECE, e.g.
    ``{"MC mean (50)": ..., "single pass": ...}`` of
    ``facecolab.workflows.uncertainty.ReliabilityDiagram``.

    Returns:
        a ``matplotlib.figure.Figure`` (not attached to pyplot; save with ``fig.savefig``).
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 5))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    for name, diagram in diagrams.items():
        filled = diagram.counts > 0
        axes.plot(
            diagram.confidence[filled],
            diagram.accuracy[filled],
            marker="o",
            label=f"{name} (ECE {100 * diagram.ece:.2f}%)",
        )
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="confidence",
        ylabel="accuracy",
        title=title or "reliability diagram",
    )
    axes.legend(loc="upper left")
    return figure

"""Pictures for people: colour label maps, overlays, grids of them (``tile``: what the
notebooks show), training curves, confusion matrices, uncertainty maps, reliability diagrams.

matplotlib is imported lazily and only as ``matplotlib.figure.Figure`` objects, which never
touch pyplot's global state or need a display, so the library works headless.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .datasets.prepare import dataset_spec, split_files
from .imageio import read_grey, read_image
from .resize import resize_image

MIN_TILE_HEIGHT = 160


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


def sample_grid(prepared_dir, split: str = "train", count: int = 4):
    """A PIL image of the first ``count`` samples of a prepared split: images on top, label
    overlays below."""
    palette = dataset_spec(prepared_dir).palette()
    image_paths, label_paths = split_files(prepared_dir, split)
    images = [read_image(path) for path in image_paths[:count]]
    labels = [read_grey(path) for path in label_paths[:count]]
    overlays = [overlay(i, label, palette) for i, label in zip(images, labels, strict=True)]
    return tile([images, overlays])


def prediction_grid(predictions: Sequence, palette: np.ndarray):
    """A PIL image of predictions against the truth (``facecolab.evaluate.ItemPrediction``:
    ``image``, ``label``, ``truth_at_image_size``): photos on top, predicted labels, then the
    ground truth (overlays)."""
    return tile(
        [
            [p.image for p in predictions],
            [overlay(p.image, p.label, palette) for p in predictions],
            [overlay(p.image, p.truth_at_image_size, palette) for p in predictions],
        ]
    )


def training_curves(run_dir):
    """A training run's ``curves.png`` as a PIL image; ``None`` without one (a pretrained
    model has no run folder: ``run_dir`` ``None``)."""
    if run_dir is None or not (Path(run_dir) / "curves.png").is_file():
        return None
    return Image.open(Path(run_dir) / "curves.png")


def _save_figure(figure, out_path) -> Path:
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_path, dpi=100)
    return out_path


def plot_history(history_csv, out_path) -> Path | None:
    """Loss and metric curves from a Keras ``CSVLogger`` file, train vs validation; ``None``
    (nothing written) when the file is missing or holds no epochs yet."""
    from matplotlib.figure import Figure

    history_csv = Path(history_csv)
    if not history_csv.exists():
        return None
    with history_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return None
    names = [k for k in rows[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    figure = Figure(figsize=(4 * len(names), 3.2))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for ax, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        ax.plot(epochs, [float(r[name]) for r in rows], label="train")
        if f"val_{name}" in rows[0]:
            ax.plot(epochs, [float(r[f"val_{name}"]) for r in rows], label="val")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    figure.tight_layout()
    return _save_figure(figure, out_path)


def plot_confusion_matrix(cm: np.ndarray, class_names, out_path, title: str | None = None) -> Path:
    """Row-normalised confusion matrix (each truth row sums to 100 %) as a heat map.

    Rows are truth, columns prediction, as ``facecolab.metrics.confusion_matrix`` returns;
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


def plot_uncertainty(
    image: np.ndarray,
    labels: np.ndarray,
    entropy: np.ndarray,
    mutual_information: np.ndarray,
    out_path,
    palette: np.ndarray | None = None,
    title: str | None = None,
) -> Path:
    """Four panels: ``uint8 (H, W, 3)`` image, label overlay, predictive entropy and mutual
    information (``float (H, W)``, nats) with their colour bars."""
    from matplotlib.figure import Figure

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
        shown = axes.imshow(values, cmap=cmap)
        if cmap is not None:
            figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.04)
        axes.set_title(name)
        axes.axis("off")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return _save_figure(figure, out_path)


def plot_reliability(diagrams: Mapping, title: str | None = None):
    """Reliability curves (accuracy against confidence) with their ECE, e.g.
    ``{"MC mean (50)": ..., "single pass": ...}`` of
    ``facecolab.uncertainty.ReliabilityDiagram``.

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

"""The few steps every project notebook shares, so the notebooks hold no logic.

A notebook picks a project config, runs it on the bundled sample (``data_root=None``: a
miniature copy of the dataset in its real on-disk layout, drawn by
``facecolab.datasets.sample``) or on the real dataset, trains (or loads pretrained weights),
then evaluates and predicts with the library. Everything it writes goes under one work
folder::

    WORK/sample/<dataset>/                   the bundled sample, raw layout (sample mode)
    WORK/prepared/[sample_]<dataset>_<H>x<W>/ prepared data
    WORK/runs/<config name>-<hash>/          training run (one folder per distinct config)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..compat import check_model_classes
from ..config import config_file, load_config
from ..datasets import get_format
from ..datasets.prepare import dataset_spec, split_files
from ..datasets.readers.base import Item
from ..datasets.sample import write_sample
from ..evaluate import flatten_metrics
from ..export import load_model_any, load_pretrained
from ..imageio import read_grey, read_image, save_label_map
from ..metrics import percent_cell
from ..predict import OVERLAY_FOLDER, predict_labels
from ..resize import resize_image, resize_mask
from ..train import CHECKPOINT, train
from ..viz import overlay
from .common import save_image

SAMPLE_COUNT = 24
MIN_TILE_HEIGHT = 160
HEADLINE_METRICS = ("pixel_accuracy", "mean_iou", "mean_class_accuracy", "mean_f1_no_background")


def _size(image_size) -> list[int]:
    if isinstance(image_size, int):
        return [image_size, image_size]
    return [int(side) for side in image_size]


def project_config(
    config_name,
    data_root=None,
    work_dir="outputs/notebook",
    *,
    epochs: int | None = None,
    image_size=None,
    batch_size: int | None = None,
    imagenet: bool = True,
    sample_count: int = SAMPLE_COUNT,
    overrides: Sequence[str] = (),
) -> dict:
    """A project config set up for a notebook run.

    Args:
        config_name: a shipped config (e.g. ``"p2_unet_celebamask_hq.json"``) or a path.
        data_root: the raw dataset folder; ``None`` writes the bundled sample (``sample_count``
            images drawn at the training size) and uses that.
        work_dir: where samples, prepared data and runs go.
        epochs, image_size, batch_size: replace the config's values (``None`` keeps them);
            ``image_size`` is an int (square) or ``(H, W)``.
        imagenet: ``False`` replaces ImageNet encoder weights by random ones (no download).
        overrides: more ``"key.sub=value"`` overrides, as on the command line.

    Returns:
        The resolved config (``facecolab.config.load_config``).
    """
    path = config_file(config_name)
    config = load_config(path)
    dataset = config["data"]["dataset"]
    size = _size(image_size) if image_size is not None else config["data"]["image_size"]
    work_dir = Path(work_dir)
    prefix = "sample_" if data_root is None else ""
    if data_root is None:
        data_root = write_sample(
            dataset, work_dir / "sample" / dataset, count=sample_count, size=max(size)
        )
    changes = [
        f"data.root={data_root}",
        f"data.prepared={work_dir / 'prepared' / f'{prefix}{dataset}_{size[0]}x{size[1]}'}",
        f"data.image_size={json.dumps(size)}",
    ]
    if prefix:
        changes.append("callbacks.tensorboard=false")
    changes += [
        f"{key}={value}"
        for key, value in (("epochs", epochs), ("batch_size", batch_size))
        if value is not None
    ]
    if not imagenet and config["model"]["options"].get("encoder_weights") == "imagenet":
        changes.append("model.options.encoder_weights=null")
    return load_config(path, [*changes, *overrides])


def run_dir_for(config: dict, work_dir) -> Path:
    """``WORK/runs/<name>-<8 hex digits of the config>``: the same settings always map to
    the same folder (so a rerun resumes), different settings never share one."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    return Path(work_dir) / "runs" / f"{config['name']}-{digest}"


def train_or_resume(config: dict, work_dir) -> Path:
    """Train ``config`` into :func:`run_dir_for`, resuming that run if it exists (after a
    Colab disconnect, or to reload a finished run); returns the run folder."""
    run_dir = run_dir_for(config, work_dir)
    resume = (run_dir / CHECKPOINT / "state.json").exists()
    train(config, run_dir, resume=resume)
    return run_dir


def load_or_train(
    config: dict, work_dir, pretrained: bool = False, pretrained_name: str | None = None
):
    """``(model, run_dir)``: the pretrained model when asked for and available (``run_dir``
    ``None``), else the best model of a training run of ``config``.

    With ``pretrained=True`` and no usable weights, ``facecolab.export.load_pretrained``'s
    message (which says how to get or train them) is printed and the config is trained
    instead, so a notebook runs through either way.
    """
    if pretrained:
        name = pretrained_name or config["name"]
        try:
            return load_pretrained(name), None
        except (ValueError, FileNotFoundError, ConnectionError) as error:
            print(f"PRETRAINED weights {name!r} unavailable: {error}\nTraining instead.")
    run_dir = train_or_resume(config, work_dir)
    return load_model_any(run_dir), run_dir


def training_curves(run_dir):
    """The run's loss/metric curves as a PIL image (``None`` for a pretrained model)."""
    from PIL import Image

    if run_dir is None or not (Path(run_dir) / "curves.png").exists():
        return None
    return Image.open(Path(run_dir) / "curves.png")


def split_items(config: dict, split: str, limit: int | None = None) -> list:
    """Raw ``Item``\\ s of a split of the config's dataset (at most ``limit``)."""
    data = config["data"]
    items = get_format(data["dataset"]).list_items(
        data["root"], split, seed=config["seed"], **data["format_options"]
    )
    return items[:limit]


@dataclass
class Prediction:
    """One predicted raw image: ``image`` ``uint8 (H, W, 3)``, ``label`` and ``truth``
    ``uint8 (H, W)`` at the image's own size (the truth resized nearest if its file has
    another size), ``path`` the label-map PNG written."""

    item: Item
    image: np.ndarray
    label: np.ndarray
    truth: np.ndarray
    path: Path


def predict_split(
    model,
    config: dict,
    split: str,
    out_dir,
    limit: int | None = None,
    palette: np.ndarray | None = None,
) -> list[Prediction]:
    """Predict raw images of ``split`` at their original size (probabilities resized back,
    then argmax); write ``OUT/<key>.png`` label maps (ids, named by item key so they pair
    with the ground truth) and, with a palette, ``OUT/overlays/<key>.jpg``."""
    fmt = get_format(config["data"]["dataset"])
    check_model_classes(model, fmt.spec.class_names, f"dataset {fmt.spec.name}")
    items = split_items(config, split, limit)
    images = [read_image(item.image_path) for item in items]
    out_dir = Path(out_dir)
    predictions = []
    labels = predict_labels(model, images, aspect=config["data"]["aspect"])
    for item, image, label in zip(items, images, labels, strict=True):
        path = save_label_map(label, out_dir / f"{item.key}.png")
        if palette is not None:
            save_image(overlay(image, label, palette), out_dir / OVERLAY_FOLDER / f"{item.key}.jpg")
        # CelebAMask-HQ's masks are half the image size: bring the truth to the photo's.
        truth = resize_mask(fmt.load_label(item), image.shape[:2])
        predictions.append(Prediction(item, image, label, truth, path))
    return predictions


def prediction_grid(predictions: Sequence[Prediction], palette: np.ndarray):
    """A PIL image: photos on top, predicted labels, then the ground truth (overlays)."""
    return tile(
        [
            [p.image for p in predictions],
            [overlay(p.image, p.label, palette) for p in predictions],
            [overlay(p.image, p.truth, palette) for p in predictions],
        ]
    )


def comparison_table(results: Mapping[str, Mapping], reference: Mapping | None = None) -> str:
    """Markdown table of several models' evaluations (``facecolab.evaluate`` results by
    model name), one row per headline metric and per ``reference["metrics"]`` name, with the
    reference column when given. Values in %."""
    flat = {name: flatten_metrics(result) for name, result in results.items()}
    wanted = dict(reference.get("metrics", {})) if reference else {}
    names = list(dict.fromkeys([*HEADLINE_METRICS, *wanted]))

    header = ["metric", *results] + (["reference"] if reference else [])
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for metric in names:
        row = [metric, *(percent_cell(flat[name].get(metric)) for name in results)]
        if reference:
            row.append(percent_cell(wanted.get(metric)))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _read_prepared(prepared_dir, split: str, limit: int | None = None):
    """``(images, labels)``: lists of the first ``limit`` ``uint8 (H, W, 3)`` images and
    ``uint8 (H, W)`` label maps of a prepared split."""
    image_paths, label_paths = split_files(prepared_dir, split)
    images = [read_image(Path(p)) for p in image_paths[:limit]]
    labels = [read_grey(Path(p)) for p in label_paths[:limit]]
    return images, labels


def prepared_arrays(prepared_dir, split: str, image_size=None, limit: int | None = None):
    """``(images float32 (N, H, W, 3) in [0, 1], labels uint8 (N, H, W))`` of a prepared
    split, resized to ``image_size`` (images bilinear, labels nearest)."""
    images, labels = _read_prepared(prepared_dir, split, limit)
    if image_size is not None:
        images = [resize_image(image, image_size) for image in images]
        labels = [resize_mask(label, image_size) for label in labels]
    return np.stack(images).astype(np.float32) / 255.0, np.stack(labels)


def tile(rows: Sequence[Sequence[np.ndarray]], gap: int = 4, height: int | None = None):
    """A PIL image of ``uint8 (h, w[, 3])`` pictures laid out in rows (white gaps), each
    picture scaled to ``height`` (default: the first picture's, at least
    ``MIN_TILE_HEIGHT`` so sample-size pictures stay visible)."""
    from PIL import Image

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
    """A PIL image of ``count`` prepared samples: images on top, label overlays below."""
    palette = dataset_spec(prepared_dir).palette()
    images, labels = _read_prepared(prepared_dir, split, count)
    overlays = [overlay(i, label, palette) for i, label in zip(images, labels, strict=True)]
    return tile([images, overlays])

"""A project config pointed at its data, or at the bundled sample: what the notebooks and the
demo share.

:func:`project_config` loads a shipped config and points it at a raw dataset folder; without
one (``data_root=None``, sample mode) it first writes the bundled sample — a miniature copy
of the dataset in its real on-disk layout, drawn procedurally by
``facecolab.data.sample`` — and uses that, so every step runs as on the real data, in
minutes on a CPU. Everything goes under one work folder::

    WORK/sample/<dataset>/                     the bundled sample, raw layout (sample mode)
    WORK/prepared/[sample_]<dataset>_<H>x<W>/  prepared data
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from pathlib import Path

from facecolab.config import config_file, load_config
from facecolab.data import DatasetFormat, Item, get_format
from facecolab.data.sample import write_sample
from facecolab.modelfiles.load import load_pretrained
from facecolab.modelfiles.manifest import entry_config, read_manifest
from facecolab.models import MODELS
from facecolab.viz import overlay, prediction_grid, tile, with_legend
from facecolab.workflows.evaluate import format_reference, predict_items
from facecolab.workflows.predict import predict

SAMPLE_COUNT = 24
# A run on the sample is short: tens of steps, where the configs' settings are made for
# thousands. Two of them do not survive that: batch-norm moving statistics at momentum 0.99
# still hold their initial values after 30 steps (0.99^30 = 0.74), so the model evaluates as
# noise (project 1 predicted "face" everywhere on validation at 88 % train accuracy), and Adam
# at 1e-4 (projects 4 and 5) has barely moved. Sample mode follows the last few batches and
# raises Adam's rate; ``short_run=False`` keeps the config's values.
SHORT_RUN_BN_MOMENTUM = 0.5
SHORT_RUN_ADAM_LR = 3e-3


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
    sample_size: int | None = None,
    overrides: Sequence[str] = (),
    short_run: bool | None = None,
) -> dict:
    """A project config pointed at its data.

    Args:
        config_name: a shipped config (e.g. ``"p2_unet_celebamask_hq.json"``) or a path.
        data_root: the raw dataset folder; ``None`` writes the bundled sample
            (``sample_count`` images of side ``sample_size``, default the training size) and
            uses that.
        work_dir: where the sample and the prepared data go.
        epochs, image_size, batch_size: replace the config's values (``None`` keeps them);
            ``image_size`` is an int (square) or ``(H, W)``.
        imagenet: ``False`` replaces ImageNet encoder weights by random ones (no download).
        overrides: more ``"key.sub=value"`` overrides, as on the command line (applied last,
            so they win over everything here).
        short_run: apply :func:`short_run_overrides` (default: in sample mode only).

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
            dataset,
            work_dir / "sample" / dataset,
            count=sample_count,
            size=sample_size or max(size),
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
    if prefix if short_run is None else short_run:
        changes += short_run_overrides(config)
    return load_config(path, [*changes, *overrides])


def short_run_overrides(config: dict) -> list[str]:
    """Overrides that let a run of tens of steps learn (see ``SHORT_RUN_BN_MOMENTUM``): the
    batch-norm momentum of models whose builder takes ``bn_momentum``, and Adam's learning
    rate raised to ``SHORT_RUN_ADAM_LR`` when lower."""
    changes = []
    builder = MODELS.get(config["model"]["name"])
    if builder is not None and "bn_momentum" in inspect.signature(builder).parameters:
        changes.append(f"model.options.bn_momentum={SHORT_RUN_BN_MOMENTUM}")
    optimizer = config["optimizer"]
    if optimizer["name"] == "adam" and optimizer["learning_rate"] < SHORT_RUN_ADAM_LR:
        changes.append(f"optimizer.learning_rate={SHORT_RUN_ADAM_LR}")
    return changes


def raw_format(config: dict) -> DatasetFormat:
    """The reader of the config's raw data, its label maps in the ids the config trains on
    (``data.dataset`` relabelled by ``data.relabel``)."""
    return get_format(config["data"]["dataset"], config["data"]["relabel"])


def split_items(config: dict, split: str, limit: int | None = None) -> list[Item]:
    """The raw items of ``split`` of the config's data (at most ``limit``), listed as
    preparation lists them (the config's seed and format options)."""
    data = config["data"]
    items = raw_format(config).list_items(
        data["root"], split, seed=config["seed"], **data["format_options"]
    )
    return items[:limit]


SMOKE_CHECK = (
    "**A smoke check, not a result.** These scores are on the bundled sample: faces drawn "
    "procedurally, a few dozen of them, trained for minutes. They show that every step runs "
    "end to end and are **not comparable with the paper's figures**. The shipped model's "
    "validation figures on real photos are in the section *The shipped model on real photos*."
)
REPOSITORY = Path(__file__).resolve().parents[2]


def score_notes(result: dict, config: dict, data_root) -> str:
    """Markdown for under an evaluation table: on real data (``data_root`` set), the seed's
    reported figures beside ours; on the bundled sample, :data:`SMOKE_CHECK` instead (a
    difference to a paper's figure would mean nothing)."""
    if data_root is None:
        return SMOKE_CHECK
    return format_reference(result, config["reference"])


def shipped_figures(name: str) -> str:
    """Markdown: what ``weights/manifest.json`` records of shipped model ``name``'s
    validation (the figures, the split they were measured on, the command)."""
    entry = read_manifest()[name]
    metrics = entry.get("metrics") or {}
    figures = {key: value for key, value in metrics.items() if isinstance(value, float)}
    rows = "\n".join(f"| {key} | {100 * value:.2f} |" for key, value in figures.items())
    tta = metrics.get("flip TTA") or {}
    tta_rows = "\n".join(f"| {key}, flip TTA | {100 * value:.2f} |" for key, value in tta.items())
    return (
        f"**{name}**: {entry.get('trained_on', '')}\n\n"
        f"Validation: {metrics.get('evaluated_on', 'not recorded')}\n\n"
        f"| metric | % |\n|---|---:|\n{rows}\n{tta_rows}\n\n"
        f"Measured by `{metrics.get('command', 'not recorded')}`."
    )


def real_validation_items(name: str, limit: int = 3):
    """``(format, items, aspect)``: up to ``limit`` validation items of the real data shipped
    model ``name`` was trained on, when that folder (its config's ``data.root``, relative to
    the repository) is on this machine; else ``None``."""
    config = entry_config(name, read_manifest()[name])
    data = config.get("data") or {}
    if not data.get("root"):
        return None
    root = (REPOSITORY / data["root"]).resolve()
    if not root.is_dir():
        return None
    fmt = get_format(data["dataset"], data.get("relabel"))
    split = data.get("val_split", "val")
    options = data.get("format_options") or {}
    items = fmt.list_items(root, split, seed=config.get("seed", 0), **options)[:limit]
    return fmt, items, data.get("aspect", "stretch")


def shipped_on_real_photos(name: str, limit: int = 3) -> list:
    """Pictures (PIL) of shipped model ``name`` on real photos, whatever a notebook trained:
    a few of its validation photos against their ground truth when that data is on this
    machine (:func:`real_validation_items`), and NASA's public-domain portrait of Eileen
    Collins (``skimage.data.astronaut()``) parsed as ``facecolab.predict`` parses any photo
    (faces found and framed as the model's training faces; a portrait model letterboxed),
    with a legend."""
    from skimage import data as skimage_data

    model = load_pretrained(name)
    config = entry_config(name, read_manifest()[name])
    dataset, relabel = config["data"]["dataset"], config["data"].get("relabel")
    spec = get_format(dataset, relabel).spec
    pictures = []
    real = real_validation_items(name, limit)
    if real is not None:
        fmt, items, aspect = real
        predictions = list(predict_items(model, fmt, items, aspect))
        pictures.append(prediction_grid(predictions, spec.palette(), spec.class_names))
    photo = skimage_data.astronaut()
    label = predict(model, photo, dataset=spec.name)  # default_aspect: letterbox for people
    picture = tile([[photo, overlay(photo, label, spec.palette())]])
    pictures.append(with_legend(picture, spec.class_names, spec.palette()))
    return pictures

"""Label maps of images of any size: probabilities from a ``facecolab.modelfiles.runner.Runner``
(resized in, resized back to the original size), then argmax — so label maps line up with
the input pixel for pixel.

:func:`predict_files` and :func:`predict_mc_files` are the file-to-file workflows behind
``facecolab predict`` and ``facecolab uncertainty``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from facecolab.console import progress_bar
from facecolab.data.imageio import read_image, save_label_map
from facecolab.modelfiles.runner import (
    as_runner,
    model_input_size,
    model_inputs,
    restore_probabilities,
)
from facecolab.models.mc_dropout import require_mc_dropout
from facecolab.viz import overlay, plot_uncertainty
from facecolab.workflows.uncertainty import predict_mc

OVERLAY_FOLDER = "overlays"


def predict_probabilities(
    model, images: Iterable[np.ndarray], aspect: str = "stretch", batch_size: int = 8
):
    """Yield ``float32 (H, W, C)`` class probabilities for each ``uint8 (H, W, 3)`` image at
    the image's own size (a sigmoid model's one channel becomes two); ``model`` is a
    ``facecolab.modelfiles.runner.Runner`` or a ``keras.Model``."""
    return as_runner(model).iter_probabilities(images, aspect, batch_size)


def predict_labels(
    model, images: Iterable[np.ndarray], aspect: str = "stretch", batch_size: int = 8
):
    """Yield ``uint8 (H, W)`` label maps at each image's own size (``model`` as in
    :func:`predict_probabilities`)."""
    for probs in predict_probabilities(model, images, aspect, batch_size):
        yield probs.argmax(-1).astype(np.uint8)


def predict(model, images, *, aspect: str = "stretch", batch_size: int = 8):
    """Label maps of photos, each at its photo's own size (the public ``facecolab.predict``).

    Args:
        model: a ``keras.Model``, a ``facecolab.modelfiles.runner.Runner``, a model file
            (``.keras``, ``.weights.npz``, ``.tflite``), a run folder or a shipped name
            (``"p2_unet_celebamask_mini"``).
        images: one image (``uint8 (H, W, 3)`` array or a path) or a sequence of them.
        aspect: how a photo meets the model's input: ``stretch``, ``letterbox`` or ``crop``.

    Returns:
        ``uint8 (H, W)`` class ids: one map for one image, else a list in input order.
    """
    single = isinstance(images, str | Path) or (isinstance(images, np.ndarray) and images.ndim == 3)
    batch = [images] if single else list(images)
    arrays = [read_image(item) if isinstance(item, str | Path) else item for item in batch]
    labels = list(predict_labels(as_runner(model), arrays, aspect, batch_size))
    return labels[0] if single else labels


def _check_unique_names(paths: Sequence[Path], names: Sequence[str]) -> None:
    """Outputs are named by ``names`` (stems by default), so ``a.jpg`` and ``a.png`` would
    overwrite each other."""
    seen: dict[str, Path] = {}
    for path, name in zip(paths, names, strict=True):
        if name in seen:
            raise ValueError(
                f"{seen[name]} and {path} would both be written as {name}.png; rename one"
            )
        seen[name] = path


def predict_files(
    model,
    paths: Sequence[Path],
    out_dir,
    aspect: str = "stretch",
    batch_size: int = 8,
    palette: np.ndarray | None = None,
    progress: bool = True,
    names: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``OUT/<name>.png`` label maps (uint8 ids, each image's own size) and, with a
    ``(256, 3)`` ``palette``, colour overlays ``OUT/overlays/<name>.jpg``.

    Args:
        names: the output names, one per path (default: each image's stem), e.g. dataset
            item keys so the label maps pair with the ground truth (``facecolab.measures.score``).

    Returns:
        The label-map paths, in input order.
    """
    tqdm = progress_bar()

    paths = [Path(p) for p in paths]
    names = [p.stem for p in paths] if names is None else list(names)
    if len(names) != len(paths):
        raise ValueError(f"{len(names)} output names for {len(paths)} images")
    _check_unique_names(paths, names)
    out_dir = Path(out_dir)
    written = []
    # Each image is read once: the overlay gets the copy the model saw (tee keeps at most a
    # batch of them alive).
    model_images, images = itertools.tee(read_image(p) for p in paths)
    labels = predict_labels(model, model_images, aspect, batch_size)
    for name, image, label in tqdm(
        zip(names, images, labels, strict=True),
        total=len(paths),
        disable=not progress,
        desc="predict",
    ):
        written.append(save_label_map(label, out_dir / f"{name}.png"))
        if palette is not None:
            target = out_dir / OVERLAY_FOLDER / f"{name}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(overlay(image, label, palette)).save(target, quality=92)
    return written


def predict_mc_files(
    model,
    paths: Sequence[Path],
    out_dir,
    samples: int = 50,
    aspect: str = "stretch",
    batch_size: int = 8,
    palette: np.ndarray | None = None,
    progress: bool = True,
) -> list[Path]:
    """Monte-Carlo dropout maps per image, at the image's own size.

    Writes ``OUT/<stem>.npz`` (``mean`` float32 (H, W, C) mean probabilities, ``labels`` uint8
    (H, W) argmax of the mean, ``entropy`` and ``mutual_information`` float32 (H, W) in nats,
    ``variance`` float32 (H, W, C), ``samples``) and ``OUT/<stem>.png``, a figure of the
    image, the labels, the entropy and the mutual information.

    Images go through the model ``batch_size`` at a time, so memory stays bounded for any
    number of files. Raises ``ValueError`` when the model has no MC-dropout layers.

    Returns:
        The ``.npz`` paths, in input order.
    """
    tqdm = progress_bar()

    require_mc_dropout(model)  # before any work or progress output
    paths = [Path(p) for p in paths]
    _check_unique_names(paths, [p.stem for p in paths])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    size = model_input_size(model)
    written = []
    for start in tqdm(range(0, len(paths), batch_size), disable=not progress, desc="mc dropout"):
        chunk = paths[start : start + batch_size]
        images = [read_image(p) for p in chunk]
        result = predict_mc(
            model, model_inputs(images, size, aspect), samples=samples, batch_size=batch_size
        )
        classes = result.mean.shape[-1]
        for i, (path, image) in enumerate(zip(chunk, images, strict=True)):
            # One resize for all maps: channels [mean (C), variance (C), entropy, MI].
            stacked = np.concatenate(
                [
                    result.mean[i],
                    result.variance[i],
                    result.entropy[i][..., None],
                    result.mutual_information[i][..., None],
                ],
                axis=-1,
            )
            maps = restore_probabilities(stacked, image.shape[:2], aspect)
            mean = maps[..., :classes]
            arrays = {
                "mean": mean,
                "labels": mean.argmax(-1).astype(np.uint8),
                "entropy": maps[..., -2],
                "mutual_information": maps[..., -1],
                "variance": maps[..., classes : 2 * classes],
                "samples": np.int64(samples),
            }
            np.savez_compressed(out_dir / f"{path.stem}.npz", **arrays)
            plot_uncertainty(
                image,
                arrays["labels"],
                arrays["entropy"],
                arrays["mutual_information"],
                out_dir / f"{path.stem}.png",
                palette=palette,
                title=f"{path.name}: {samples} MC samples",
            )
            written.append(out_dir / f"{path.stem}.npz")
    return written

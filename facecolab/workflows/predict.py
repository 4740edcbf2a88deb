"""Label maps of images of any size: probabilities from a ``facecolab.modelfiles.runner.Runner``
(resized in, resized back to the original size), then argmax — so label maps line up with
the input pixel for pixel.

:func:`predict_files` and :func:`predict_mc_files` are the file-to-file workflows behind
``facecolab predict`` and ``facecolab uncertainty``. With ``face_crop`` (the default) a face
model parses each detected face cropped as its training faces were
(:func:`parse_faces`, ``facecolab.workflows.faces``); a photo without a face is parsed whole,
with a warning naming it.
"""

from __future__ import annotations

import io
import itertools
import json
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from facecolab.console import progress_bar
from facecolab.data.imageio import read_image, save_image, save_label_map
from facecolab.data.specs import SPECS, get_spec
from facecolab.fsutil import atomic_write_bytes
from facecolab.modelfiles.runner import (
    as_runner,
    model_input_size,
    model_inputs,
    restore_probabilities,
)
from facecolab.models.mc_dropout import require_mc_dropout
from facecolab.viz import overlay, plot_uncertainty
from facecolab.workflows.face_detection import FaceDetector
from facecolab.workflows.faces import (
    WHOLE_PHOTO_DATASETS,
    FaceParse,
    crop_square,
    face_crops,
    framing_of,
    paste_crops,
    paste_labels,
)
from facecolab.workflows.uncertainty import predict_mc

OVERLAY_FOLDER = "overlays"
FACES_FILE = "faces.json"  # per output name: faces, crops, fallback (face_crop runs)


class NoFaceWarning(UserWarning):
    """A photo given to a face model held no face; it was parsed whole."""


def no_face_message(what) -> str:
    return f"{what}: no face found; parsed the whole image (pre-aligned crop? --no-face-crop)"


def default_aspect(dataset: str | None, run_config: dict | None = None) -> str:
    """How a photo meets a model when the caller does not say: ``letterbox`` for a person /
    background model (whole photos of any shape, never squashed), else the model's training
    config's aspect, else ``stretch``."""
    if dataset in WHOLE_PHOTO_DATASETS:
        return "letterbox"
    return ((run_config or {}).get("data") or {}).get("aspect") or "stretch"


def face_framing(model, face_crop: bool = True, dataset: str | None = None):
    """The framing :func:`parse_faces` crops with for ``model`` (``facecolab.workflows.faces.
    framing_of`` of ``dataset``, else the model's), or ``None``: ``face_crop`` off, or a
    whole-photo model."""
    if not face_crop:
        return None
    runner = as_runner(model)
    return framing_of(runner.run_config, dataset or runner.dataset)


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


def parse_faces(
    model, image: np.ndarray, detector: FaceDetector, framing, aspect: str = "stretch"
) -> FaceParse:
    """Parse the faces of one ``uint8 (H, W, 3)`` photo: each detected face cropped per
    ``framing`` (:func:`face_framing`), parsed at the model's size, pasted back; no face: the
    whole photo, parsed with ``aspect`` and flagged ``fallback``."""
    faces, boxes = face_crops(image, detector, framing)
    if not faces:
        (label,) = predict_labels(model, [image], aspect, batch_size=1)
        return FaceParse(label, (), (), True)
    crops = [crop_square(image, box) for box in boxes]
    labels = list(predict_labels(model, crops, "stretch", batch_size=len(crops)))
    return FaceParse(paste_labels(labels, boxes, image.shape), faces, tuple(boxes), False)


def predict(
    model,
    images,
    *,
    aspect: str | None = None,
    batch_size: int = 8,
    face_crop: bool = True,
    dataset: str | None = None,
    details: bool = False,
):
    """Label maps of photos, each at its photo's own size (the public ``facecolab.predict``).

    Args:
        model: a ``keras.Model``, a ``facecolab.modelfiles.runner.Runner``, a model file
            (``.keras``, ``.weights.npz``, ``.tflite``), a run folder or a shipped name
            (``"p2_unet_celebamask_mini"``).
        images: one image (``uint8 (H, W, 3)`` array or a path) or a sequence of them.
        aspect: how a photo meets the model's input: ``stretch``, ``letterbox`` or ``crop``;
            default :func:`default_aspect` (``letterbox`` for a portrait model).
        face_crop: a face model parses each face found, cropped as its training faces were
            (:func:`parse_faces`); a photo without a face is parsed whole with a
            :class:`NoFaceWarning`. ``False`` for pre-aligned face crops. Whole-photo
            (portrait) models ignore it.
        dataset: the label set the model was trained on, which decides how faces are
            framed (``facecolab.workflows.faces.FRAMINGS``); needed for a bare
            ``keras.Model`` (``facecolab.load_pretrained``), else read from the model's run
            or manifest entry (LFW's framing when unknown).
        details: return :class:`facecolab.workflows.faces.FaceParse` results (label, faces,
            crops, ``fallback``) instead of bare label maps (needs a face model and
            ``face_crop``).

    Returns:
        ``uint8 (H, W)`` class ids: one map for one image, else a list in input order.
    """
    single = isinstance(images, str | Path) or (isinstance(images, np.ndarray) and images.ndim == 3)
    batch = [images] if single else list(images)
    arrays = [read_image(item) if isinstance(item, str | Path) else item for item in batch]
    runner = as_runner(model)
    aspect = aspect or default_aspect(dataset or runner.dataset, runner.run_config)
    framing = face_framing(runner, face_crop, dataset)
    if framing is None:
        if details:
            raise ValueError("details=True needs face_crop=True and a face model")
        labels = list(predict_labels(runner, arrays, aspect, batch_size))
        return labels[0] if single else labels
    detector = FaceDetector()
    results = []
    for index, (item, array) in enumerate(zip(batch, arrays, strict=True)):
        result = parse_faces(runner, array, detector, framing, aspect)
        if result.fallback:
            what = item if isinstance(item, str | Path) else f"image {index}"
            warnings.warn(no_face_message(what), NoFaceWarning, stacklevel=2)
        results.append(result if details else result.label)
    return results[0] if single else results


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
    face_crop: bool = True,
) -> list[Path]:
    """Write ``OUT/<name>.png`` label maps (uint8 ids, each image's own size) and, with a
    ``(256, 3)`` ``palette``, colour overlays ``OUT/overlays/<name>.jpg``.

    Args:
        names: the output names, one per path (default: each image's stem), e.g. dataset
            item keys so the label maps pair with the ground truth (``facecolab.measures.score``).
        face_crop: parse the faces found (:func:`parse_faces`; a face model only) and write
            ``OUT/faces.json``: per name its faces ``[top, left, height, width, score]``, crops
            ``[top, left, side]`` and ``fallback`` (no face: parsed whole, and a warning line
            on stderr names the file). ``False`` for aligned crops (dataset folders).

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
    framing = face_framing(model, face_crop)
    record: dict[str, dict] = {}
    if framing is None:
        labels = predict_labels(model, model_images, aspect, batch_size)
    else:
        labels = _parsed_faces(
            as_runner(model), paths, names, model_images, framing, aspect, record
        )
    for name, image, label in tqdm(
        zip(names, images, labels, strict=True),
        total=len(paths),
        disable=not progress,
        desc="predict",
    ):
        written.append(save_label_map(label, out_dir / f"{name}.png"))
        if palette is not None:
            target = out_dir / OVERLAY_FOLDER / f"{name}.jpg"
            save_image(overlay(image, label, palette), target, quality=92)
    if framing is not None:
        atomic_write_bytes(out_dir / FACES_FILE, json.dumps(record, indent=1).encode())
    return written


def _parsed_faces(runner, paths, names, images, framing, aspect, record: dict):
    """Yield the label map of each image (:func:`parse_faces`), filling ``record[name]``
    (:func:`face_record`); a warning line on stderr for each image without a face."""
    detector = FaceDetector()
    for path, name, image in zip(paths, names, images, strict=True):
        result = parse_faces(runner, image, detector, framing, aspect)
        if result.fallback:
            print(f"warning: {no_face_message(path)}", file=sys.stderr)
        record[name] = face_record(result)
        yield result.label


def face_record(result: FaceParse) -> dict:
    """The JSON of one :class:`facecolab.workflows.faces.FaceParse`, less its label map."""
    return {
        "faces": [
            [
                round(f.top, 1),
                round(f.left, 1),
                round(f.height, 1),
                round(f.width, 1),
                round(f.score, 3),
            ]
            for f in result.faces
        ],
        "crops": [list(box) for box in result.crops],
        "fallback": result.fallback,
    }


def predict_mc_files(
    model,
    paths: Sequence[Path],
    out_dir,
    samples: int = 50,
    aspect: str = "stretch",
    batch_size: int = 8,
    palette: np.ndarray | None = None,
    progress: bool = True,
    face_crop: bool = True,
    dataset: str | None = None,
) -> list[Path]:
    """Monte-Carlo dropout maps per image, at the image's own size.

    Writes ``OUT/<stem>.npz`` (``mean`` float32 (H, W, C) mean probabilities, ``labels`` uint8
    (H, W) argmax of the mean, ``entropy`` and ``mutual_information`` float32 (H, W) in nats,
    ``variance`` float32 (H, W, C), ``samples``, ``faces`` found and ``fallback``) and
    ``OUT/<stem>.png``, a figure of the image, the labels, the entropy and the mutual
    information. With ``face_crop`` (a face model) each face is sampled on its crop as in
    :func:`parse_faces` and pasted back; outside the crops the maps say background, certain
    (``dataset``: the label set that decides the framing, for a bare ``keras.Model``).
    An image without a face is sampled whole (``fallback``, a warning line on stderr).

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
    framing = face_framing(model, face_crop, dataset)
    detector = FaceDetector() if framing is not None else None
    written = []
    class_names = get_spec(dataset).class_names if dataset in SPECS else None
    bar = tqdm(total=len(paths), disable=not progress, desc="mc dropout", unit="image")
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        images = [read_image(p) for p in chunk]
        if detector is None:
            found = _mc_whole(model, images, samples, aspect, batch_size)
        else:
            found = [
                _mc_faces(model, path, image, detector, framing, samples, aspect, batch_size)
                for path, image in zip(chunk, images, strict=True)
            ]
        for path, image, (maps, faces, fallback) in zip(chunk, images, found, strict=True):
            classes = (maps.shape[-1] - 2) // 2
            mean = maps[..., :classes]
            arrays = {
                "mean": mean,
                "labels": mean.argmax(-1).astype(np.uint8),
                "entropy": maps[..., -2],
                "mutual_information": maps[..., -1],
                "variance": maps[..., classes : 2 * classes],
                "samples": np.int64(samples),
                "faces": np.int64(faces),
                "fallback": np.bool_(fallback),
            }
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **arrays)
            atomic_write_bytes(out_dir / f"{path.stem}.npz", buffer.getvalue())
            plot_uncertainty(
                image,
                arrays["labels"],
                arrays["entropy"],
                arrays["mutual_information"],
                out_dir / f"{path.stem}.png",
                palette=palette,
                title=f"{path.name}: {samples} MC samples",
                class_names=class_names,
            )
            written.append(out_dir / f"{path.stem}.npz")
        bar.update(len(chunk))
    bar.close()
    return written


def _mc_stacks(model, images, size, samples, aspect, batch_size) -> list[np.ndarray]:
    """Per image ``float32 (H, W, 2C + 2)`` at its own size: mean (C), variance (C),
    entropy, mutual information (one resize for all maps)."""
    result = predict_mc(
        model, model_inputs(images, size, aspect), samples=samples, batch_size=batch_size
    )
    stacks = []
    for i, image in enumerate(images):
        stacked = np.concatenate(
            [
                result.mean[i],
                result.variance[i],
                result.entropy[i][..., None],
                result.mutual_information[i][..., None],
            ],
            axis=-1,
        )
        stacks.append(restore_probabilities(stacked, image.shape[:2], aspect))
    return stacks


def _mc_whole(model, images, samples, aspect, batch_size):
    stacks = _mc_stacks(model, images, model_input_size(model), samples, aspect, batch_size)
    return [(maps, 0, False) for maps in stacks]


def _mc_faces(model, path, image, detector, framing, samples, aspect, batch_size):
    """``(maps, faces, fallback)`` of one image sampled face by face (:func:`parse_faces`)."""
    faces, boxes = face_crops(image, detector, framing)
    if not faces:
        print(f"warning: {no_face_message(path)}", file=sys.stderr)
        ((maps, _, _),) = _mc_whole(model, [image], samples, aspect, batch_size)
        return maps, 0, True
    crops = [crop_square(image, box) for box in boxes]
    stacks = _mc_stacks(model, crops, model_input_size(model), samples, "stretch", batch_size)
    classes = (stacks[0].shape[-1] - 2) // 2
    fill = np.zeros(stacks[0].shape[-1], np.float32)
    fill[0] = 1.0  # background, certain
    foreground = [maps[..., :classes].argmax(-1) != 0 for maps in stacks]
    return paste_crops(stacks, boxes, image.shape, fill, foreground), len(faces), False

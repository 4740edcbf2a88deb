"""The model side of the apps: a model with the spec that says what its ids mean, a photo's
labels (faces found and framed by default), P(person) of a portrait model, and the webcam
loop. The app scripts' command-line parts (``build_parser``, ``main`` and the helpers
without a model) import no Keras; their ``main`` imports this module once the arguments are
checked, so ``--help`` and usage errors are instant."""

from __future__ import annotations

import sys
import time

import numpy as np

from facecolab.apps.common import load_image
from facecolab.apps.portrait import ASPECT, PERSON, THRESHOLD
from facecolab.apps.webcam import DEFAULT_SMOOTHING, FrameRate, MaskSmoother, Summary, render
from facecolab.constants import DEFAULT_THREADS
from facecolab.data.specs import SPECS, DatasetSpec, get_spec
from facecolab.modelfiles.runner import as_runner, load_runner
from facecolab.workflows.face_detection import FaceDetector
from facecolab.workflows.predict import face_framing, no_face_message, parse_faces, predict_labels
from facecolab.workflows.reframe import MIN_REGION_SHARE, reframed


def spec_for_model(model, dataset: str | None = None) -> DatasetSpec | None:
    """The spec whose ids the model predicts: ``dataset`` (a ``facecolab.data`` name)
    when known, else the only registered spec with the model's class count. Binary datasets
    all mean (background, foreground) but name the foreground differently, so a binary model
    without ``dataset`` gets ``None``.

    Args:
        model: a ``facecolab.modelfiles.runner.Runner`` or a ``keras.Model``.

    Returns:
        the spec, or ``None`` when nothing identifies it (callers fall back to ids and a
        generic palette).

    Raises:
        ValueError: ``dataset`` is unknown or has a different class count than the model.
    """
    num_classes = as_runner(model).num_classes
    if dataset is not None:
        spec = get_spec(dataset)
        if spec.num_classes != num_classes:
            raise ValueError(
                f"dataset {dataset!r} has {spec.num_classes} classes but the model "
                f"predicts {num_classes}"
            )
        return spec
    matches = [spec for spec in SPECS.values() if spec.num_classes == num_classes]
    return matches[0] if len(matches) == 1 else None


def load_app_model(name_or_path, dataset: str | None = None, threads: int | None = None):
    """``(Runner, DatasetSpec | None)`` from a ``.tflite`` or Keras model file, a run folder
    or a name in ``weights/manifest.json`` (``facecolab.modelfiles.runner.load_runner``;
    ``threads``:
    TFLite CPU threads, default ``constants.DEFAULT_THREADS``). The spec comes from
    ``dataset``, else the run's config or the manifest entry, else the class count."""
    runner = load_runner(name_or_path, threads or DEFAULT_THREADS)
    return runner, spec_for_model(runner, dataset or runner.dataset)


def load_photo_and_model(image_path, model, dataset: str | None = None):
    """``(photo uint8 (H, W, 3), Runner, DatasetSpec | None)`` for an app's ``--image``
    and ``--model`` (see :func:`load_app_model`); the photo first, so a wrong path fails
    before the slow model load."""
    image = load_image(image_path)
    return (image, *load_app_model(model, dataset))


def photo_labels(model, image: np.ndarray, face_crop: bool, aspect: str, name) -> np.ndarray:
    """``uint8 (H, W)`` class ids of a photo: with ``face_crop`` and a face model, each face
    found parsed on its crop (``facecolab.workflows.predict.parse_faces``; no face: the whole
    photo, and a warning line on stderr naming ``name``); else the whole photo."""
    framing = face_framing(model, face_crop)
    if framing is None:
        return parse_face(model, image, aspect)
    result = parse_faces(model, image, FaceDetector(), framing, aspect)
    if result.fallback:
        print(f"warning: {no_face_message(name)}", file=sys.stderr)
    return result.label


def parse_face(model, image: np.ndarray, aspect: str = "stretch") -> np.ndarray:
    """``uint8 (H, W, 3)`` photo, parsed whole → ``uint8 (H, W)`` class ids at its size."""
    return next(predict_labels(model, [image], aspect=aspect, batch_size=1))


def portrait_probability(
    model, image: np.ndarray, reframe: bool = False, min_region_share: float = MIN_REGION_SHARE
) -> np.ndarray:
    """``float32 (H, W)`` P(person) at the photo's size, from a binary model (one sigmoid
    channel or a 2-way softmax; a ``facecolab.modelfiles.runner.Runner`` or a ``keras.Model``) fed
    the letterboxed photo. Resized back bilinearly, it is the soft alpha mask of the person.
    ``reframe``: a second pass on a window around the people found
    (``facecolab.workflows.reframe``, framing regions of at least ``min_region_share`` of the
    largest one's area), for people small in the frame."""
    runner = as_runner(model)
    if runner.num_classes != 2:
        raise ValueError(
            f"portrait models are binary (person / background); this one "
            f"predicts {runner.num_classes} classes"
        )

    def probability(photo: np.ndarray) -> np.ndarray:
        return runner.probabilities(photo, aspect=ASPECT, channel=PERSON)

    if not reframe:
        return probability(image)
    shapes = [runner.input_size] + ([runner.input_size[::-1]] if runner.turned else [])
    return reframed(probability, image, shapes, min_region_share=min_region_share)


def portrait_mask(
    model, image: np.ndarray, threshold: float = THRESHOLD, reframe: bool = False
) -> np.ndarray:
    """``uint8 (H, W)``: 1 where P(person) > ``threshold``, else 0 (``image`` is
    ``uint8 (H, W, 3)`` RGB of any size; ``reframe``: see :func:`portrait_probability`)."""
    return (portrait_probability(model, image, reframe) > threshold).astype(np.uint8)


def person_alpha(
    runner, frame: np.ndarray, smoother: MaskSmoother | None = None, reframe: bool = False
) -> np.ndarray:
    """``float32 (H, W)`` soft person mask of one ``uint8 (H, W, 3)`` RGB frame at its full
    resolution (P(person) of a binary portrait model, a ``facecolab.modelfiles.runner.Runner`` or
    ``keras.Model``; ``reframe``: see :func:`portrait_probability`), smoothed by the sequence's
    ``smoother`` when given."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    alpha = portrait_probability(runner, frame, reframe)
    return alpha if smoother is None else smoother.update(alpha, frame)


def run(
    runner,
    frames,
    mode: str = "blur",
    background="white",
    smoothing: float = DEFAULT_SMOOTHING,
    sink=None,
    window=None,
    max_frames: int | None = None,
    clock=time.perf_counter,
) -> Summary:
    """Segment and composite every frame of ``frames`` (an iterable of RGB frames, e.g. a
    ``facecolab.workflows.video`` source), writing each to ``sink`` and showing it in ``window``
    (either
    may be ``None``) with the measured frame rate drawn on it.

    Memory stays flat however long the stream: one smoothed mask is kept, nothing per frame.

    Returns:
        The :class:`facecolab.apps.webcam.Summary`; stops at the end of ``frames``, after
        ``max_frames``, or when the window's quit key is pressed.
    """
    smoother = MaskSmoother(smoothing)
    rate = FrameRate(clock=clock)
    count, segment_seconds, start = 0, 0.0, clock()
    for frame in frames:
        if max_frames is not None and count >= max_frames:
            break
        before = clock()
        alpha = person_alpha(runner, frame, smoother)
        segment_seconds += clock() - before
        shown = render(frame, alpha, mode, background, rate.tick())
        count += 1
        if sink is not None:
            sink.write(shown)
        if window is not None and not window.show(shown):
            break
    return Summary(count, clock() - start, segment_seconds)

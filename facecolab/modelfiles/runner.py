"""One inference runner for every model file: Keras, TFLite or ONNX by file suffix, one API.

:func:`load_runner` opens ``.tflite`` files with the TFLite interpreter, ``.onnx`` files with
ONNX Runtime (the optional extra ``facecolab[onnx]``) and everything else
(``.keras``, ``.h5``, ``.weights.h5``, a run folder, a ``weights/manifest.json`` name) with
Keras through ``facecolab.modelfiles.load.open_model``. Either way the :class:`Runner` takes
``uint8 (H, W, 3)`` RGB images of any size and returns class probabilities at each image's
own size: the image is fitted to the model input by ``facecolab.data.resize.resize_image`` (aspect
mode ``stretch``, ``letterbox`` or ``crop``), and the probabilities — never the argmax, so
boundaries stay smooth — are resized back bilinearly (:func:`restore_probabilities`). A
sigmoid model's one channel becomes two (``[1 − p, p]``), so callers always get
``(…, C ≥ 2)``.

The TFLite interpreter is ``tf.lite.Interpreter``: it ships with every TensorFlow this package
supports (2.16–2.21, Colab's included), needs no network and no second install. TensorFlow
marks it deprecated in favour of the ``ai-edge-litert`` package, which has the same API; its
warning is silenced here, since nothing is to be done about it within these versions.
"""

from __future__ import annotations

import functools
import itertools
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facecolab.console import filtered_native_stderr, log_level
from facecolab.constants import DEFAULT_THREADS
from facecolab.data.resize import fit_geometry, resize_image, resize_probabilities
from facecolab.measures.metrics import class_probabilities
from facecolab.modelfiles.load import builder_call, open_model
from facecolab.modelfiles.onnx_export import ONNX_SUFFIX
from facecolab.models import builder_of, rebuilt_at
from facecolab.models.mc_dropout import deterministic, require_mc_dropout

TFLITE_SUFFIX = ".tflite"
# The turned copy of each live model (weakly held), so every runner over one model shares it:
# no rebuild and no retrace per runner, only its weights refreshed.
_TURNED_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def model_input_size(model) -> tuple[int, int]:
    """``(H, W)`` a Keras model takes; ``ValueError`` for a model built without a fixed size."""
    height, width = model.input_shape[1:3]
    if height is None or width is None:
        raise ValueError("model has no fixed input size; pass size=(H, W)")
    return int(height), int(width)


def main_probabilities(outputs) -> np.ndarray:
    """The probabilities of a model's (main) output as numpy: deep-supervision models return
    a list whose full-resolution output comes first. (``facecolab.models.main_output`` is the
    model counterpart: a model restricted to that output.)"""
    return np.asarray(outputs[0] if isinstance(outputs, (list, tuple)) else outputs)


def model_inputs(images: Sequence[np.ndarray], size, aspect: str = "stretch") -> np.ndarray:
    """``uint8 (H, W, 3)`` images of any sizes → the model's ``float32 (B, h, w, 3)`` in [0, 1]."""
    return np.stack([resize_image(image, size, aspect) for image in images]) / np.float32(255)


def restore_probabilities(probs: np.ndarray, original_hw, aspect: str = "stretch") -> np.ndarray:
    """Undo the input resize of ``resize_image(image, probs.shape[:2], aspect)``.

    Args:
        probs: float ``(h, w, C)`` at the model's resolution (probabilities, or any per-pixel
            map such as entropy with ``C = 1``).
        original_hw: ``(H, W)`` of the image before resizing.

    Returns:
        float32 ``(H, W, C)``. Values are resized bilinearly (not the argmax), so boundaries
        stay smooth. ``letterbox``: the padding is cut off first; ``crop``: the cropped-away
        border gets the values of the nearest kept pixel.
    """
    original_hw = (int(original_hw[0]), int(original_hw[1]))
    size = probs.shape[:2]
    (nh, nw), (top, left) = fit_geometry(original_hw, size, aspect)
    if aspect == "letterbox":
        probs = probs[top : top + nh, left : left + nw]
    elif aspect == "crop":  # the canvas is a window at (-top, -left) of the scaled image
        pad = ((-top, nh - size[0] + top), (-left, nw - size[1] + left), (0, 0))
        probs = np.pad(probs, pad, mode="edge")
    probs = np.asarray(probs, dtype=np.float32)
    if probs.shape[:2] == original_hw:
        return probs
    return resize_probabilities(probs, original_hw)


@dataclass
class Runner:
    """A model ready for inference, whatever it was loaded from.

    Attributes:
        forward: ``float32 (B, h, w, 3)`` in [0, 1] at ``input_size`` → the model's output
            ``(B, h, w, C)`` probabilities (or ``(B, h, w, 1)`` sigmoid; a list whose first
            item is that, for deep-supervision models).
        input_size: ``(h, w)`` of the model input.
        output_channels: ``C`` of the model output (1 for a sigmoid model).
        backend: ``"keras"``, ``"tflite"`` or ``"onnx"``.
        path: the file it was loaded from, if any.
        dataset: the dataset spec name it was trained on, if known.
        run_config: its training config, if known.
        model: the ``keras.Model`` (Keras backend only), for work that needs Keras itself
            (Monte-Carlo dropout, conversion).
        flip_classes: flip test-time augmentation when set: the probabilities are averaged
            with those of the mirrored image, mirrored back, whose class ``c`` is read from
            channel ``flip_classes[c]`` (left/right classes swapped; :func:`with_flip`).
        turned: for a model with a non-square input that can also run at the transposed
            size ``(w, h)`` (a fully convolutional Keras model, rebuilt): returns that
            forward, built once on first use. A letterboxed image whose orientation differs
            from the input's (a landscape photo into a portrait input) then runs turned, so it
            fills the input instead of a band of it: the same pixel count, people 4/3 larger
            in a 4:3 photo. ``None``: every image is fitted into ``input_size``.
    """

    forward: Callable[[np.ndarray], object]
    input_size: tuple[int, int]
    output_channels: int
    backend: str
    path: Path | None = None
    dataset: str | None = None
    run_config: dict | None = None
    model: object | None = None
    flip_classes: np.ndarray | None = None
    turned: Callable[[], Callable[[np.ndarray], object]] | None = None

    @property
    def num_classes(self) -> int:
        """Classes predicted; one sigmoid channel counts as two."""
        return 2 if self.output_channels == 1 else self.output_channels

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """``float32 (B, h, w, 3)`` model inputs → ``float32 (B, h, w, num_classes)``."""
        probs = self._forward_probabilities(batch)
        if self.flip_classes is None:
            return probs
        mirrored = self._forward_probabilities(np.ascontiguousarray(batch[:, :, ::-1]))
        return (probs + mirrored[:, :, ::-1][..., self.flip_classes]) / 2

    def _forward_probabilities(self, batch: np.ndarray) -> np.ndarray:
        turned = self.turned is not None and batch.shape[1:3] == tuple(self.input_size[::-1])
        forward = self.turned() if turned else self.forward
        return np.asarray(class_probabilities(main_probabilities(forward(batch))), np.float32)

    def fitted_size(self, image_hw, aspect: str = "stretch") -> tuple[int, int]:
        """``(h, w)`` the model runs at for an image of ``image_hw``: ``input_size``, or
        its transpose for a letterboxed image of the other orientation when the runner can
        turn (:attr:`turned`)."""
        height, width = self.input_size
        image_height, image_width = image_hw[:2]
        if (
            self.turned is None
            or aspect != "letterbox"
            or height == width
            or image_height == image_width
            or (image_height > image_width) == (height > width)
        ):
            return self.input_size
        return width, height

    def iter_probabilities(
        self,
        images: Iterable[np.ndarray],
        aspect: str = "stretch",
        batch_size: int = 8,
        channel: int | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield ``float32 (H, W, num_classes)`` for each ``uint8 (H, W, 3)`` image, at the
        image's own size; images may differ in size and are read lazily, ``batch_size`` at
        a time (each batch runs once per :meth:`fitted_size` among its images). ``channel``:
        that class's ``(H, W)`` map alone, the only one resized back (half the resizing of a
        binary model, whose probabilities at full resolution cost more than its forward pass
        on a camera frame)."""
        if channel is not None and not 0 <= channel < self.num_classes:
            raise ValueError(
                f"channel {channel} is not a class of a {self.num_classes}-class model"
            )
        images = iter(images)
        while batch := list(itertools.islice(images, batch_size)):
            sizes = [self.fitted_size(image.shape, aspect) for image in batch]
            outputs = [None] * len(batch)
            for size in dict.fromkeys(sizes):
                picked = [index for index, fitted in enumerate(sizes) if fitted == size]
                probs = self.infer(model_inputs([batch[i] for i in picked], size, aspect))
                if channel is not None:
                    probs = probs[..., channel : channel + 1]
                for index, output in zip(picked, probs, strict=True):
                    outputs[index] = output
            for probs, image in zip(outputs, batch, strict=True):
                restored = restore_probabilities(probs, image.shape[:2], aspect)
                yield restored if channel is None else restored[..., 0]

    def probabilities(
        self,
        images: np.ndarray,
        aspect: str = "stretch",
        batch_size: int = 8,
        channel: int | None = None,
    ) -> np.ndarray:
        """Class probabilities at the input's size.

        Args:
            images: ``uint8 (H, W, 3)`` RGB, or a batch ``uint8 (B, H, W, 3)``.
            aspect: how images are fitted to the model input (``facecolab.data.resize``).
            channel: return that class's probability alone (see :meth:`iter_probabilities`).

        Returns:
            ``float32 (H, W, num_classes)``, or ``(B, H, W, num_classes)`` for a batch;
            ``(H, W)`` / ``(B, H, W)`` with ``channel``.
        """
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim not in (3, 4) or images.shape[-1] != 3:
            raise ValueError(
                f"images must be uint8 RGB (H, W, 3) or (B, H, W, 3); got {images.dtype} "
                f"{images.shape}"
            )
        if images.ndim == 3:
            return next(self.iter_probabilities([images], aspect, 1, channel))
        return np.stack(list(self.iter_probabilities(images, aspect, batch_size, channel)))


def keras_runner(model, mc_samples: int = 1, builder=None, **info) -> Runner:
    """A :class:`Runner` over a ``keras.Model`` through ``predict_on_batch`` (Keras' own
    inference step; at batch 1 on this project's CPU faster than calling the model in a
    ``tf.function``); ``info`` fills ``path``, ``dataset``, ``run_config``.

    A model with Monte-Carlo dropout (Bayesian SegNet) predicts deterministically, dropout
    off, unless ``mc_samples > 1``: then its probabilities are the mean of that many
    stochastic passes (MC averaging). ``runner.model`` keeps the sampling model either way.

    ``builder`` (``(registry name, build_model keyword arguments)``; by default the call that
    built ``model`` here, ``facecolab.models.builder_of``) lets a model with a non-square
    input turn for letterboxed images of the other orientation (:attr:`Runner.turned`, a
    copy taking ``model``'s weights as they are when first needed, so a runner is for a
    model that has stopped training); without one, or with ``mc_samples > 1``, it never turns.
    """
    if mc_samples < 1:
        raise ValueError(f"mc_samples must be at least 1, got {mc_samples}")
    if mc_samples > 1:
        require_mc_dropout(model)

        def forward(batch):
            passes = (main_probabilities(model.predict_on_batch(batch)) for _ in range(mc_samples))
            return sum(passes) / mc_samples

    else:
        forward = deterministic(model).predict_on_batch

    channels = int(model.outputs[0].shape[-1])
    size = model_input_size(model)
    builder = builder or builder_of(model)  # an explicit call wins over the registry's
    turned = None
    if builder is not None and size[0] != size[1] and mc_samples == 1:

        @functools.cache
        def turned():
            return turned_copy(model, builder).predict_on_batch

    return Runner(forward, size, channels, "keras", model=model, turned=turned, **info)


def turned_copy(model, builder: tuple[str, dict]):
    """``model`` rebuilt at its transposed input size (Monte-Carlo dropout off), holding
    ``model``'s weights as they are now: built on the first call for a model, later calls
    copy the weights into the same copy."""
    copy = _TURNED_COPIES.get(model)
    if copy is None:
        height, width = model_input_size(model)
        copy = deterministic(rebuilt_at(model, (width, height, 3), builder))
        _TURNED_COPIES[model] = copy
    else:
        copy.set_weights(model.get_weights())
    return copy


def with_flip(runner: Runner, flip_lut: np.ndarray) -> Runner:
    """``runner`` with flip test-time augmentation; ``flip_lut`` is the label set's
    ``DatasetSpec.flip_lut()`` (left/right ids swapped)."""
    return replace(runner, flip_classes=np.asarray(flip_lut)[: runner.num_classes].astype(int))


def open_interpreter(path, threads: int = DEFAULT_THREADS):
    """``tf.lite.Interpreter`` over ``path`` (XNNPACK, ``threads`` CPU threads), tensors
    allocated, after checking that every input and output is float32 (what ``facecolab
    export`` writes, and what the shipped face detector takes).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a TFLite model, ``threads < 1``, or a tensor that is not float32.
    """
    import tensorflow as tf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    # TFLite's own "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." filtered as
    # TF_CPP_MIN_LOG_LEVEL asks (facecolab.console.hidden).
    with warnings.catch_warnings(), filtered_native_stderr(log_level()):
        warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated")
        try:
            interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=threads)
        except ValueError as error:
            raise ValueError(f"{path}: not a readable TFLite model ({error})") from None
        interpreter.allocate_tensors()
    for details in interpreter.get_input_details() + interpreter.get_output_details():
        if details["dtype"] != np.float32:
            raise ValueError(
                f"{path}: {details['name']} is {np.dtype(details['dtype']).name}; the runner "
                "takes TFLite models with float32 input and output (facecolab export writes those)"
            )
    return interpreter


def tflite_runner(path, threads: int = DEFAULT_THREADS) -> Runner:
    """A :class:`Runner` over a ``.tflite`` file with float32 input and output (what
    ``facecolab.modelfiles.export`` writes for every quantisation), run by the TFLite interpreter
    (XNNPACK) on ``threads`` CPU threads, one image per invoke."""
    path = Path(path)
    interpreter = open_interpreter(path, threads)
    (source,) = interpreter.get_input_details()
    target = interpreter.get_output_details()[0]

    def forward(batch: np.ndarray) -> np.ndarray:
        outputs = []
        for image in batch:
            interpreter.set_tensor(source["index"], image[None])
            interpreter.invoke()
            outputs.append(interpreter.get_tensor(target["index"])[0])
        return np.stack(outputs)

    height, width = (int(side) for side in source["shape"][1:3])
    return Runner(forward, (height, width), int(target["shape"][-1]), "tflite", path=path)


def onnx_runner(path, threads: int = DEFAULT_THREADS) -> Runner:
    """A :class:`Runner` over an ``.onnx`` file (``facecolab export --format onnx``: float32
    NHWC input in [0, 1], probabilities out) run by ONNX Runtime on the CPU with ``threads``
    threads, one image per run (``pip install 'facecolab[onnx]'``)."""
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f"{path}: running ONNX models needs onnxruntime: pip install 'facecolab[onnx]' "
            f"({error})"
        ) from None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime's own exception types
        raise ValueError(f"{path}: not a readable ONNX model ({error})") from None
    (source,) = session.get_inputs()
    target = session.get_outputs()[0]

    def forward(batch: np.ndarray) -> np.ndarray:
        outputs = [session.run([target.name], {source.name: image[None]})[0][0] for image in batch]
        return np.stack(outputs)

    height, width = (int(side) for side in source.shape[1:3])
    return Runner(forward, (height, width), int(target.shape[-1]), "onnx", path=path)


def load_runner(
    name_or_path, threads: int = DEFAULT_THREADS, config=None, mc_samples: int = 1
) -> Runner:
    """A :class:`Runner` for a ``.tflite`` file (TFLite interpreter, ``threads`` CPU threads),
    an ``.onnx`` file (ONNX Runtime) or anything ``facecolab.modelfiles.load.open_model``
    opens (Keras: a model file, a run folder or a ``weights/manifest.json`` name; ``config``
    describes a weights-only file; ``mc_samples`` as in :func:`keras_runner`)."""
    suffix = Path(name_or_path).suffix.lower()
    if suffix in (TFLITE_SUFFIX, ONNX_SUFFIX):
        if mc_samples != 1:
            raise ValueError(f"{name_or_path}: Monte-Carlo sampling needs the Keras model")
        if suffix == ONNX_SUFFIX:
            return onnx_runner(name_or_path, threads)
        return tflite_runner(name_or_path, threads)

    opened = open_model(name_or_path, config)
    builder = builder_for(opened)
    runner = keras_runner(
        opened.model,
        mc_samples,
        builder,
        path=opened.path,
        dataset=opened.dataset,
        run_config=opened.run_config,
    )
    if runner.turned is not None and builder_of(opened.model) is None:
        try:  # a run's config may not describe this model: find out now, not mid-folder
            runner.turned()
        except ValueError as error:
            warnings.warn(
                f"{opened.path}: photos of the other orientation are letterboxed into the "
                f"model's {runner.input_size} input; its training config does not rebuild "
                f"it turned ({error})",
                stacklevel=2,
            )
            runner = replace(runner, turned=None)
    return runner


def builder_for(opened) -> tuple[str, dict] | None:
    """The builder call of an ``OpenedModel``: the one that built it here, else the one its
    training config describes (:func:`run_builder`)."""
    return builder_of(opened.model) or run_builder(opened.run_config, opened.path)


def run_builder(run_config: dict | None, path) -> tuple[str, dict] | None:
    """The builder call a training config describes (a ``.keras`` file of a run keeps no
    other), or ``None`` without a config or from one that describes no registry model: the
    runner then never turns."""
    if run_config is None:
        return None
    try:
        return builder_call(run_config, str(path))
    except (KeyError, TypeError, ValueError):
        return None


def as_runner(model) -> Runner:
    """``model`` itself when it is a :class:`Runner`; a model file, run folder or shipped
    name (``str`` or ``Path``) opened by :func:`load_runner`; else a Keras runner over it."""
    if isinstance(model, Runner):
        return model
    if isinstance(model, str | Path):
        return load_runner(model)
    return keras_runner(model)

"""The work behind ``facecolab serve`` (the browser demo), as plain functions: a photo file in,
a picture and a line of text out, without Gradio (``facecolab.apps.serve_ui`` is the page, a
thin layer over these).

Every tab's function takes the path of an uploaded file (or a webcam snapshot), reads it with
:func:`read_upload` (which turns every way a file can be unusable into one ``ValueError``
whose message a person can act on), runs a shipped model from :class:`ModelPool` and returns
``Result(image, info)``: ``uint8 (H, W, 3)`` and a Markdown line naming the model, its
validation figures from ``weights/manifest.json`` and the request's latency.

Nothing here reads a file other than the upload it is given, and models are looked up by
their name in the manifest only (:func:`check_model`), so a request can never name a path.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from facecolab.apps import portrait
from facecolab.apps.demo import PORTRAIT_DATASETS, metric_figures, shipped_models
from facecolab.apps.inference import person_alpha
from facecolab.apps.portrait import composite
from facecolab.apps.recolour import PART_CLASSES, recolour
from facecolab.apps.webcam import MaskSmoother
from facecolab.data.imageio import read_image
from facecolab.data.specs import DatasetSpec, get_spec
from facecolab.modelfiles.manifest import read_manifest
from facecolab.modelfiles.runner import Runner, load_runner
from facecolab.viz import colorize, figure_array, overlay, uncertainty_figure, with_legend
from facecolab.workflows.face_detection import FaceDetector
from facecolab.workflows.faces import framing_of
from facecolab.workflows.predict import parse_faces
from facecolab.workflows.uncertainty import face_uncertainty

MAX_PIXELS = 24_000_000  # an upload larger than this (a 6000 × 4000 photo) is refused
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # what the server accepts at all (Gradio's max_file_size)
UNCERTAINTY_MODEL = "p1_segnet_celebamask_face"  # the Bayesian SegNet (MC dropout)
DEFAULT_PARSER = "p2_unet_celebamask_mini"  # 19 classes, hair and lips among them
DEFAULT_PORTRAIT = "p5_portrait_people_fast"  # everyday photos: people small, whole, several
MAX_SAMPLES = 50  # MC-dropout passes the uncertainty tab allows (Bayesian SegNet's count)
DEFAULT_SAMPLES = 10
BACKGROUNDS = (*portrait.BACKGROUNDS, "image")  # the portrait tab's choices


_RGB_FUNCTION = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)")


def server_environment(temp_dir=None) -> Path:
    """Set up the process for a Gradio server before Gradio is imported (it reads these at
    import): uploads and outputs in ``temp_dir`` (default: a fresh temporary folder, removed
    when the process ends), the only folder it reads and serves files from; no usage
    statistics sent. Returns the folder."""
    if temp_dir is None:
        temp_dir = tempfile.mkdtemp(prefix="facecolab-serve-")
        atexit.register(shutil.rmtree, temp_dir, ignore_errors=True)
    folder = Path(temp_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    return folder


def colour_hex(colour: str | None) -> str | None:
    """A colour picker's value (``"#rrggbb"`` or ``"rgb(r, g, b)"`` / ``"rgba(…)"``) as
    ``"#rrggbb"``; ``None`` or empty stays ``None``."""
    if not colour:
        return None
    match = _RGB_FUNCTION.match(colour.strip())
    if match:
        return "#" + "".join(f"{min(255, round(float(v))):02x}" for v in match.groups())
    return colour.strip()


@dataclass(frozen=True)
class Result:
    """What a tab shows: ``image`` ``uint8 (H, W, 3)`` and ``info``, Markdown."""

    image: np.ndarray
    info: str


@dataclass(frozen=True)
class Parsed:
    """A parsed photo: ``photo`` ``uint8 (H, W, 3)``, ``label`` ``uint8 (H, W)`` ids, the
    model's label set, and what the face search found (``faces``; 0: parsed whole)."""

    photo: np.ndarray
    label: np.ndarray
    spec: DatasetSpec
    faces: int
    whole_photo: bool


def read_upload(path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB of an uploaded file, or a ``ValueError`` saying what is wrong
    with it: nothing uploaded, an empty file, a file too large in bytes or pixels (checked
    from the header, before decoding), not an image, truncated. Every PIL mode converts as
    ``facecolab.data.imageio.read_image`` does (CMYK, palette, 16-bit grey scaled to 8 bits);
    transparency is dropped. Messages name the file by its own name, not the server's path."""
    if path is None or str(path) == "":
        raise ValueError("no image: upload a photo or take a webcam snapshot first")
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"{name}: the upload did not arrive; try again")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{name}: the file is empty (0 bytes)")
    if size > MAX_UPLOAD_BYTES:
        raise ValueError(
            f"{name}: {size / 2**20:.0f} MB is over the {MAX_UPLOAD_BYTES >> 20} MB limit"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                width, height = image.size
        except Image.DecompressionBombError:
            width = height = None
        except Exception:
            raise ValueError(
                f"{name}: not an image this server can read (JPEG, PNG, WebP, BMP, …)"
            ) from None
        if width is None or width * height > max_pixels:
            shape = "" if width is None else f" ({width} × {height})"
            raise ValueError(
                f"{name}: too many pixels{shape}; the limit is {max_pixels / 1e6:.0f} megapixels, "
                "scale it down first"
            )
        try:
            photo = read_image(path)
        except ValueError as error:
            reason = str(error).replace(str(path), name)
            if "truncated" in reason:
                reason = f"{name}: the file is truncated or damaged (the upload may be incomplete)"
            raise ValueError(reason) from None
    if min(photo.shape[:2]) < 8:
        raise ValueError(f"{name}: {photo.shape[1]} × {photo.shape[0]} px is too small a picture")
    return photo


def check_model(name: str, allowed: Sequence[str]) -> str:
    """``name`` when it is one of ``allowed`` (shipped model names), else a ``ValueError``
    listing them: a request may only choose among the models the server offers."""
    if name not in allowed:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(allowed)}")
    return name


def model_card(name: str, latency: float | None = None, note: str = "") -> str:
    """One Markdown line: the model, its validation figures (``demo.metric_figures`` of its
    manifest entry, in percent) and ``latency`` in seconds."""
    entry = read_manifest()[name]
    metrics = entry.get("metrics") or {}
    line = f"**{name}** ({entry.get('dataset', '?')}) · validation: {metric_figures(metrics)}"
    if metrics.get("evaluated_on"):
        line += f" on {metrics['evaluated_on']}"
    if latency is not None:
        line += f" · last request **{1000 * latency:.0f} ms**"
    return line + (f"  \n{note}" if note else "")


class ModelPool:
    """The shipped models a server offers, each loaded once on first use (``load_runner``,
    CPU) and run under one lock: a 2-core CPU gains nothing from two models at once, and a
    Keras model's first call builds its predict function, which two threads must not race.

    Args:
        names: the manifest names offered (default: every shipped model).
    """

    def __init__(self, names: Sequence[str] | None = None):
        shipped = shipped_models()
        names = list(names) if names else shipped
        unknown = [n for n in names if n not in shipped]
        if unknown:
            raise ValueError(
                f"not shipped models: {', '.join(unknown)}; choose from {', '.join(shipped)}"
            )
        manifest = read_manifest()
        self.names = names
        self.datasets = {n: manifest[n]["dataset"] for n in names}
        self.lock = threading.RLock()
        self._runners: dict[str, Runner] = {}
        self.detector = FaceDetector()

    @property
    def parsers(self) -> list[str]:
        """Face-parsing models (every offered model that is not a portrait model)."""
        return [n for n in self.names if self.datasets[n] not in PORTRAIT_DATASETS]

    @property
    def portraits(self) -> list[str]:
        return [n for n in self.names if self.datasets[n] in PORTRAIT_DATASETS]

    def recolourers(self, part: str) -> list[str]:
        """Parsing models whose classes include ``part`` (``recolour.PART_CLASSES``)."""
        return [
            n
            for n in self.parsers
            if set(get_spec(self.datasets[n]).class_names) & set(PART_CLASSES[part])
        ]

    def runner(self, name: str) -> Runner:
        check_model(name, self.names)
        with self.lock:
            if name not in self._runners:
                self._runners[name] = load_runner(name)
            return self._runners[name]

    def warm(self, names: Sequence[str] | None = None) -> None:
        """Load ``names`` (default all) and run each once on a grey picture, so the first
        request does not pay for loading and tracing."""
        grey, wide = np.full((64, 64, 3), 128, np.uint8), np.full((48, 64, 3), 128, np.uint8)
        for name in names or self.names:
            with self.lock:
                runner = self.runner(name)
                runner.probabilities(grey)
                if runner.turned is not None:  # and the copy landscape photos run through
                    runner.probabilities(wide, "letterbox")
        with self.lock:
            self.detector.detect(grey)


def default_choice(preferred: str, names: Sequence[str]) -> str | None:
    """``preferred`` when offered, else the first of ``names`` (``None`` when empty)."""
    return preferred if preferred in names else (names[0] if names else None)


def parse_photo(pool: ModelPool, path, model: str) -> Parsed:
    """Parse the faces of an uploaded photo with parsing model ``model``: each face BlazeFace
    finds, framed as the model's training faces (``workflows.predict.parse_faces``); a photo
    without a face is parsed whole, and :class:`Parsed` says so."""
    check_model(model, pool.parsers)
    photo = read_upload(path)
    runner = pool.runner(model)
    spec = get_spec(pool.datasets[model])
    with pool.lock:
        result = parse_faces(runner, photo, pool.detector, framing_of(dataset=spec.name))
    return Parsed(photo, result.label, spec, len(result.faces), result.fallback)


def face_note(parsed: Parsed) -> str:
    if parsed.whole_photo:
        return "No face found: the whole photo was parsed (the models expect a face)."
    return f"{parsed.faces} face{'s' * (parsed.faces != 1)} found."


def part_names(spec: DatasetSpec) -> list[str]:
    """The toggleable parts of a label set: every class but the background."""
    return list(spec.class_names[1:])


def render_parse(parsed: Parsed, shown: Sequence[str] | None = None, alpha: float = 0.5):
    """``(colour label map, overlay with legend)``, both ``uint8``; ``shown``: the part
    names drawn (default all), the others left as background."""
    names = parsed.spec.class_names
    keep = np.zeros(256, bool)
    keep[[i for i, n in enumerate(names) if shown is None or n in shown]] = True
    keep[0] = True
    label = np.where(keep[parsed.label], parsed.label, 0).astype(np.uint8)
    palette = parsed.spec.palette()
    blended = overlay(parsed.photo, label, palette, alpha)
    return colorize(label, palette), np.asarray(with_legend(blended, names, palette))


def parse_tab(pool: ModelPool, path, model: str, shown=None) -> tuple[Result, Result, Parsed]:
    """The **Parse a face** tab: ``(label map, overlay with legend, parsed)``."""
    start = time.perf_counter()
    parsed = parse_photo(pool, path, model)
    colours, blended = render_parse(parsed, shown)
    info = model_card(model, time.perf_counter() - start, face_note(parsed))
    return Result(colours, info), Result(blended, info), parsed


def recolour_tab(
    pool: ModelPool,
    path,
    model: str,
    hair: str | None = "#7a3cff",
    lips: str | None = "#d0103a",
    strength: float = 0.8,
    feather: float | None = None,
) -> Result:
    """The **Recolour** tab: hair and lips set to ``hair`` / ``lips`` (``"#rrggbb"``; ``None``
    or empty leaves that part), blended at ``strength``, faded in over ``feather`` px."""
    start = time.perf_counter()
    parsed = parse_photo(pool, path, model)
    picture = parsed.photo
    done = []
    for part, colour in (("hair", colour_hex(hair)), ("lips", colour_hex(lips))):
        ids = [i for i, n in enumerate(parsed.spec.class_names) if n in PART_CLASSES[part]]
        if colour and ids:
            picture = recolour(picture, parsed.label, ids, colour, None, strength, feather)
            share = 100 * float(np.isin(parsed.label, ids).mean())
            done.append(f"{part} {share:.1f} % of the pixels")
    note = face_note(parsed) + " Recoloured: " + (", ".join(done) or "nothing") + "."
    return Result(picture, model_card(model, time.perf_counter() - start, note))


def portrait_tab(
    pool: ModelPool,
    path,
    model: str,
    background: str = "blur",
    background_path=None,
    smoother: MaskSmoother | None = None,
) -> Result:
    """The **Portrait** tab: the person over ``background`` (``"blur"``, ``"white"``,
    ``"transparent"``: an RGBA picture of the person alone, or ``"image"``: the uploaded
    ``background_path``) with the model's soft alpha as edge, the people found looked at
    again (``facecolab.workflows.reframe``);
    ``smoother`` (a webcam stream's) averages the mask over frames."""
    start = time.perf_counter()
    check_model(model, pool.portraits)
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    photo = read_upload(path)
    backdrop = background
    if background == "image":
        if background_path is None:
            raise ValueError("background 'image': upload a background picture too")
        backdrop = read_upload(background_path)
    return portrait_frame(pool, photo, model, backdrop, smoother, start, reframe=True)


def portrait_frame(
    pool, frame, model, backdrop="blur", smoother=None, start=None, reframe=False
) -> Result:
    """:func:`portrait_tab` for a ``uint8 (H, W, 3)`` frame already in memory (the webcam
    stream: one pass per frame, unless ``reframe``); ``backdrop`` as
    ``apps.portrait.make_background`` takes it, never a path."""
    start = time.perf_counter() if start is None else start
    if isinstance(backdrop, (str, Path)) and backdrop not in portrait.BACKGROUNDS:
        raise ValueError(f"a background must be one of {portrait.BACKGROUNDS} or a picture")
    runner = pool.runner(check_model(model, pool.portraits))
    with pool.lock:
        alpha = person_alpha(runner, frame, smoother, reframe)
    picture = composite(frame, alpha, backdrop)
    note = f"person {100 * float((alpha > 0.5).mean()):.0f} % of the picture"
    return Result(picture, model_card(model, time.perf_counter() - start, note))


def uncertainty_tab(pool: ModelPool, path, samples: int = DEFAULT_SAMPLES) -> Result:
    """The **Uncertainty** tab: ``samples`` MC-dropout passes of the Bayesian SegNet over the
    most confident face: the face, the mean prediction's labels, predictive entropy and
    mutual information (``viz.uncertainty_figure``)."""
    start = time.perf_counter()
    samples = int(samples)
    if not 1 <= samples <= MAX_SAMPLES:
        raise ValueError(f"samples must be 1 … {MAX_SAMPLES}, got {samples}")
    photo = read_upload(path)
    runner = pool.runner(check_model(UNCERTAINTY_MODEL, pool.names))
    spec = get_spec(pool.datasets[UNCERTAINTY_MODEL])
    with pool.lock:
        try:
            crop, mc = face_uncertainty(
                runner.model, photo, framing_of(dataset=spec.name), samples, pool.detector
            )
        except ValueError as error:
            if "no face" in str(error):
                raise ValueError(
                    "no face found in the photo: the uncertainty maps are of a face"
                ) from None
            raise
    figure = uncertainty_figure(
        crop,
        mc.labels[0],
        mc.entropy[0],
        mc.mutual_information[0],
        spec.palette(),
        f"{samples} MC-dropout samples",
    )
    note = (
        f"{samples} samples · mean entropy {float(mc.entropy[0].mean()):.3f} nats, "
        f"mean mutual information {float(mc.mutual_information[0].mean()):.4f} nats"
    )
    return Result(
        figure_array(figure), model_card(UNCERTAINTY_MODEL, time.perf_counter() - start, note)
    )

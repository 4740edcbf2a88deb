"""Real-time portrait segmentation of a camera, a video file or a folder of frames (project
5's ``webcam.py``).

``python -m facecolab.apps.webcam -m MODEL [--source 0|video.mp4|frames_dir] [--out out.mp4]
[--no-window] [--smooth ALPHA] [--mode blur|replace|cutout|mask]`` (also ``facecolab webcam``)

Each frame is fitted to the model like ``facecolab.apps.portrait`` (letterbox); P(person),
resized back to the frame's full resolution, is the soft alpha mask of the person. It is
smoothed over time (an exponential moving average: ``--smooth ALPHA`` keeps that share of the
previous mask, 0 turns it off) against flicker, then used to composite: ``blur`` the
background, ``replace`` it by ``--background`` (an image or a colour), ``cutout`` the person
onto green, or show the ``mask`` itself. The measured frame rate is drawn in the corner and
a summary printed at the end. ``q`` in the window quits.

Models: any file ``facecolab.modelfiles.runner.load_runner`` opens; a ``.tflite`` export runs
fastest on
a CPU. OpenCV is needed for a camera, a video file and the window only; a frames folder in and
a frames folder out (``--out DIR --no-window``) work without it.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecolab.apps.common import (
    USER_ERRORS,
    app_inputs,
    app_parser,
    load_image,
    report_error,
)
from facecolab.apps.portrait import composite
from facecolab.apps.recolour import parse_colour
from facecolab.console import add_threads_option, float_in, int_in, quiet_backend
from facecolab.data.imageio import pixel_limit
from facecolab.fsutil import held_output_file, output_folder
from facecolab.workflows.video import Window, open_sink, open_source

MODES = ("blur", "replace", "cutout", "mask")
CUTOUT_GREEN = (0, 177, 64)  # chroma-key green
DEFAULT_SMOOTHING = 0.5
# A scene cut: mean grey difference of two frames' THUMBNAIL² thumbnails above this (in [0, 1]).
CUT_THRESHOLD = 0.12
THUMBNAIL = 16
WINDOW = "facecolab portrait (q quits)"


class FrameRate:
    """Frames per second, smoothed exponentially so the overlay does not flicker."""

    def __init__(self, smoothing: float = 0.9, clock=time.perf_counter):
        self.smoothing = smoothing
        self.clock = clock
        self.last: float | None = None
        self.fps: float | None = None

    def tick(self) -> float | None:
        """Record a frame; the smoothed rate so far (``None`` after the first frame)."""
        now = self.clock()
        if self.last is not None and now > self.last:
            current = 1.0 / (now - self.last)
            self.fps = (
                current
                if self.fps is None
                else (self.smoothing * self.fps + (1 - self.smoothing) * current)
            )
        self.last = now
        return self.fps


class MaskSmoother:
    """Exponential moving average of the person mask over frames:
    ``shown = alpha · previous + (1 − alpha) · current``. ``alpha = 0`` passes masks through.

    It starts afresh, so no ghost of the last scene lingers, on a change of frame size and on
    a scene cut: when a small grey thumbnail of the frame differs from the previous frame's
    by more than ``cut_threshold`` on average (in [0, 1]; a cut in a video, or the next
    unrelated photo of a folder)."""

    def __init__(self, alpha: float = DEFAULT_SMOOTHING, cut_threshold: float = CUT_THRESHOLD):
        if not 0 <= alpha < 1:
            raise ValueError(f"smoothing must be in [0, 1), got {alpha}")
        self.alpha, self.cut_threshold = alpha, cut_threshold
        self.state: np.ndarray | None = None
        self.thumbnail: np.ndarray | None = None

    def is_cut(self, frame: np.ndarray | None) -> bool:
        """Whether ``frame`` (``uint8 (H, W, 3)``) starts a new scene; remembers it."""
        if frame is None:
            return False
        frame = np.asarray(frame)
        rows = np.linspace(0, frame.shape[0] - 1, THUMBNAIL).astype(int)
        cols = np.linspace(0, frame.shape[1] - 1, THUMBNAIL).astype(int)
        # The THUMBNAIL² pixels only: nothing per frame scales with the frame's size.
        thumbnail = frame[np.ix_(rows, cols)].astype(np.float32).mean(-1) / 255
        previous, self.thumbnail = self.thumbnail, thumbnail
        return previous is not None and np.abs(thumbnail - previous).mean() > self.cut_threshold

    def update(self, mask: np.ndarray, frame: np.ndarray | None = None) -> np.ndarray:
        """``float32 (H, W)`` this frame's mask → the smoothed mask (same shape); ``frame``,
        the picture the mask is of, lets a scene cut restart the average."""
        mask = np.asarray(mask, dtype=np.float32)
        cut = self.is_cut(frame)
        if cut or self.state is None or self.state.shape != mask.shape or self.alpha == 0:
            self.state = mask.copy()
        else:
            self.state *= self.alpha
            self.state += (1 - self.alpha) * mask
        return self.state


def draw_label(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with ``text`` in a dark box at the top-left corner (PIL, no OpenCV)."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(frame)
    draw = ImageDraw.Draw(picture)
    *_, right, bottom = draw.textbbox((6, 4), text)
    draw.rectangle((0, 0, right + 6, bottom + 4), fill=(0, 0, 0))
    draw.text((6, 4), text, fill=(255, 255, 255))
    return np.asarray(picture)


def parse_background(text: str):
    """``--background``: ``"white"``, ``"#rrggbb"`` (a colour) or an image file (loaded
    once here, not every frame)."""
    if text == "white":
        return text
    if text.startswith("#"):
        return parse_colour(text)
    return load_image(text)


def render(
    frame: np.ndarray,
    alpha: np.ndarray,
    mode: str,
    background="white",
    fps: float | None = None,
) -> np.ndarray:
    """The shown picture of one frame.

    Args:
        frame: ``uint8 (H, W, 3)`` RGB.
        alpha: ``float32 (H, W)`` person weight in [0, 1] (the soft mask).
        mode: one of ``MODES``.
        background: for ``replace``: ``"white"``, an ``(r, g, b)`` colour or an RGB image
            (``facecolab.apps.portrait.make_background``).
        fps: drawn in the corner when given.

    Returns:
        ``uint8 (H, W, 3)`` RGB.
    """
    backgrounds = {"blur": "blur", "replace": background, "cutout": CUTOUT_GREEN}
    if mode == "mask":
        grey = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        shown = np.repeat(grey[..., None], 3, axis=-1)
    elif mode in backgrounds:
        shown = composite(frame, alpha, backgrounds[mode])
    else:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return shown if fps is None else draw_label(shown, f"{fps:.1f} FPS")


@dataclass
class Summary:
    """What a run measured: ``frames`` shown in ``seconds`` of wall time (reading, model,
    compositing, writing, showing), and the seconds spent segmenting (resize, model,
    resize back, smoothing)."""

    frames: int
    seconds: float
    segment_seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        segment_ms = 1000 * self.segment_seconds / max(self.frames, 1)
        return (
            f"{self.frames} frames in {self.seconds:.1f} s: {self.fps:.1f} FPS measured "
            f"(segmentation {segment_ms:.1f} ms per frame)"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = app_parser("webcam", __doc__)
    parser.add_argument(
        "--source",
        default="0",
        help="camera index, video file or folder of frames (default 0: the first camera)",
    )
    parser.add_argument(
        "--out", help="write the shown frames: a video (.mp4, …) or a folder of PNG frames"
    )
    parser.add_argument("--no-window", action="store_true", help="show nothing (headless)")
    parser.add_argument(
        "--mode",
        default="blur",
        choices=MODES,
        help="blur the background, replace it by --background, cut the person out onto "
        "green, or show the mask itself (default blur)",
    )
    parser.add_argument(
        "--background",
        default="white",
        help="replace mode: an image file, white or '#rrggbb' (default white)",
    )
    parser.add_argument(
        "--smooth",
        default=DEFAULT_SMOOTHING,
        type=float_in(0, 1, high_open=True),
        metavar="ALPHA",
        help="share of the previous mask kept in each frame's, against flicker (0: off; "
        f"default {DEFAULT_SMOOTHING})",
    )
    add_threads_option(parser)
    parser.add_argument("--max-frames", type=int_in(1, 10**9), help="stop after this many frames")
    return parser


def held_output(out: Path, inputs, overwrite: bool):
    """The output policy for ``--out`` (``fsutil``): a video file, or a folder of frames
    whose existing ``frame_*.png`` this command must have written (else ``--overwrite``)."""
    if out.suffix:
        return held_output_file(out, inputs, overwrite=overwrite, command="webcam")
    frames = sorted(path.name for path in out.glob("frame_*.png")) if out.is_dir() else []
    return output_folder(out, command="webcam", inputs=inputs, outputs=frames, overwrite=overwrite)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    source = sink = window = None
    complete = False
    quiet_backend(args.verbose)
    from facecolab.apps.inference import load_app_model, run

    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(pixel_limit(args.max_pixels))
            background = parse_background(args.background) if args.mode == "replace" else "white"
            # Everything that can fail fast (camera, file, OpenCV) before the slow model load.
            source = open_source(args.source)
            stack.callback(source.close)
            if args.out:
                sink = open_sink(args.out, source.fps)  # writes nothing before a frame
                with held_output(Path(args.out), app_inputs(args), args.overwrite):
                    pass  # checked now, held below (the model's own file is an input too)
            elif args.no_window:
                raise ValueError("--no-window without --out would show and write nothing")
            window = None if args.no_window else Window(WINDOW)
            runner, _ = load_app_model(args.model, threads=args.threads)
            if args.out:
                inputs = app_inputs(args, runner)
                stack.enter_context(held_output(Path(args.out), inputs, args.overwrite))
            try:
                summary = run(
                    runner,
                    source,
                    args.mode,
                    background,
                    args.smooth,
                    sink,
                    window,
                    args.max_frames,
                )
                complete = summary.frames > 0
            finally:
                if window is not None:
                    window.close()
                if sink is not None:
                    sink.close(complete)
    except (ImportError, *USER_ERRORS) as error:
        return report_error("webcam", error)
    if summary.frames == 0:
        return report_error("webcam", ValueError(f"{args.source}: no frame could be read"))
    written = f"; wrote {args.out}" if args.out else ""
    print(f"{summary}{written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

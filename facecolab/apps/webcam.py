"""Real-time portrait segmentation from a webcam (project 5's ``webcam.py``).

``python -m facecolab.apps.webcam -m model.keras [--camera 0] [--background blur|white|IMAGE]``

Each frame is segmented like ``facecolab.apps.portrait`` (letterbox, threshold 0.5), the
background replaced, and the frame rate drawn in the corner; press ``q`` in the window to
quit. OpenCV is needed only for the camera and the window (``pip install opencv-python``);
:func:`process_frame` is plain numpy and works on any frame.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .common import USER_ERRORS, app_parser, load_app_model, load_image, report_error
from .portrait import BACKGROUNDS, THRESHOLD, add_background_options, composite, portrait_mask

CV2_MISSING = (
    "the webcam demo needs OpenCV for the camera and the window: pip install opencv-python "
    "(or pip install 'facecolab[webcam]')"
)
QUIT_KEY = "q"
WINDOW = "facecolab portrait (q quits)"


def require_cv2():
    """The ``cv2`` module, or ``ImportError`` saying how to install it."""
    try:
        import cv2
    except ImportError:
        raise ImportError(CV2_MISSING) from None
    return cv2


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


def draw_label(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with ``text`` in a dark box at the top-left corner (PIL, no OpenCV)."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(frame)
    draw = ImageDraw.Draw(picture)
    *_, right, bottom = draw.textbbox((6, 4), text)
    draw.rectangle((0, 0, right + 6, bottom + 4), fill=(0, 0, 0))
    draw.text((6, 4), text, fill=(255, 255, 255))
    return np.asarray(picture)


def process_frame(
    model,
    frame_bgr: np.ndarray,
    background="blur",
    threshold: float = THRESHOLD,
    fps: float | None = None,
) -> np.ndarray:
    """One camera frame in, the displayed frame out.

    Args:
        model: a binary portrait model (see ``facecolab.apps.portrait``).
        frame_bgr: ``uint8 (H, W, 3)`` in OpenCV's BGR channel order.
        background: ``"blur"``, ``"white"``, a colour or an image (see
            ``portrait.make_background``; arrays are RGB).
        fps: drawn in the corner when given.

    Returns:
        ``uint8 (H, W, 3)`` BGR: the person over the new background.
    """
    frame_bgr = np.asarray(frame_bgr)
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (H, W, 3), got {frame_bgr.dtype} {frame_bgr.shape}")
    rgb = np.ascontiguousarray(frame_bgr[..., ::-1])
    shown = composite(rgb, portrait_mask(model, rgb, threshold), background)
    if fps is not None:
        shown = draw_label(shown, f"{fps:.1f} FPS")
    return np.ascontiguousarray(shown[..., ::-1])


def run(model, camera: int = 0, background="blur", threshold: float = THRESHOLD) -> int:
    """Show segmented camera frames until ``q`` is pressed; returns the frame count."""
    cv2 = require_cv2()
    if isinstance(background, str) and background not in BACKGROUNDS:
        background = load_image(background)  # once, not every frame
    capture = cv2.VideoCapture(camera)
    if not capture.isOpened():
        raise ValueError(f"camera {camera} cannot be opened (is it connected and free?)")
    rate = FrameRate()
    frames = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            cv2.imshow(WINDOW, process_frame(model, frame, background, threshold, rate.tick()))
            frames += 1
            if cv2.waitKey(1) & 0xFF == ord(QUIT_KEY):
                break
    finally:
        capture.release()
        cv2.destroyAllWindows()
    return frames


def build_parser() -> argparse.ArgumentParser:
    parser = app_parser("webcam", __doc__)
    parser.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    add_background_options(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        require_cv2()  # before the slow model load
        model, _ = load_app_model(args.model)
        frames = run(model, args.camera, args.background, args.threshold)
    except (ImportError, *USER_ERRORS) as error:
        return report_error("webcam", error)
    print(f"showed {frames} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

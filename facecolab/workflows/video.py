"""Frames in and out: a camera, a video file or a folder of images as a source; a video file
or a folder of PNGs as a sink; a window to show them.

Frames are ``uint8 (H, W, 3)`` RGB everywhere (OpenCV's BGR stays inside this module).
Folders need only PIL; cameras, video files and windows need OpenCV
(``pip install opencv-python``, or ``opencv-python-headless`` without windows), imported only
when one of them is opened, so the message says how to install it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from facecolab.data.imageio import check_pixels, list_images, read_image, save_image
from facecolab.fsutil import atomic_path

CV2_MISSING = (
    "needs OpenCV: pip install opencv-python (or pip install 'facecolab[webcam]'); "
    "a folder of frames works without it"
)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")
FOURCC = {".avi": "MJPG", ".mkv": "MJPG"}  # everything else: "mp4v"
FOLDER_FPS = 25.0  # nominal rate of a folder of frames (written videos play at this speed)


def require_cv2(what: str):
    """The ``cv2`` module, or ``ImportError`` saying that ``what`` needs it and how to
    install it."""
    try:
        import cv2
    except ImportError:
        raise ImportError(f"{what} {CV2_MISSING}") from None
    return cv2


class FolderSource:
    """The images of a folder, in file-name order (``facecolab.data.imageio.IMAGE_SUFFIXES``)."""

    def __init__(self, folder):
        self.paths = list_images(folder)
        self.fps = FOLDER_FPS
        self.description = f"{len(self.paths)} frames of {folder}"

    def __iter__(self) -> Iterator[np.ndarray]:
        for path in self.paths:
            yield read_image(path)

    def close(self) -> None:
        """Nothing to release (symmetry with :class:`CaptureSource`)."""


class CaptureSource:
    """A camera (``int`` index) or a video file read by ``cv2.VideoCapture``.

    Raises:
        ValueError: the camera cannot be opened, or the file is not a readable video.
    """

    def __init__(self, source: int | Path):
        what = f"camera {source}" if isinstance(source, int) else f"video {source}"
        cv2 = require_cv2(f"reading a {what.split()[0]}")
        self.capture = cv2.VideoCapture(source if isinstance(source, int) else str(source))
        if not self.capture.isOpened():
            self.capture.release()
            if isinstance(source, int):
                raise ValueError(f"camera {source} cannot be opened (is it connected and free?)")
            raise ValueError(f"{source}: cannot be read as a video (unknown or damaged format)")
        width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        try:
            check_pixels(source, width, height)
        except ValueError:
            self.capture.release()
            raise
        rate = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(rate) if rate and rate > 0 else FOLDER_FPS
        self.description = what
        self._cv2 = cv2

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            ok, frame = self.capture.read()
            if not ok:
                return
            yield self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self.capture.release()


def open_source(source: str):
    """A frame source for ``--source``: digits → camera index, a folder → its images, a file
    → a video. Iterate it for RGB frames; ``.fps`` is its nominal rate; ``.close()`` it.

    Raises:
        FileNotFoundError: ``source`` names neither a camera nor an existing file or folder.
        ValueError, ImportError: see :class:`CaptureSource`, :class:`FolderSource`.
    """
    text = str(source)
    if text.isdigit():
        return CaptureSource(int(text))
    path = Path(text)
    if path.is_dir():
        return FolderSource(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file or frames folder")
    return CaptureSource(path)


class VideoSink:
    """Frames written to a video file by ``cv2.VideoWriter``, opened at the first frame (whose
    size every frame must have), into a temporary file that :meth:`close` renames to
    ``path`` (``fsutil.atomic_path``): ``close(complete=False)`` (an error) removes it."""

    def __init__(self, path, fps: float):
        self.path = Path(path)
        self.fps = fps
        self._cv2 = require_cv2(f"writing {self.path.suffix} video")
        self._writer = None
        self._atomic = None

    def write(self, frame: np.ndarray) -> None:
        cv2 = self._cv2
        if self._writer is None:
            self._atomic = atomic_path(self.path, keep_suffix=True)
            tmp = self._atomic.__enter__()
            code = FOURCC.get(self.path.suffix.lower(), "mp4v")
            height, width = frame.shape[:2]
            self._writer = cv2.VideoWriter(
                str(tmp), cv2.VideoWriter_fourcc(*code), self.fps, (width, height)
            )
            if not self._writer.isOpened():
                self.close(complete=False)
                raise ValueError(f"{self.path}: OpenCV cannot write this video format")
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def close(self, complete: bool = True) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._atomic is not None:
            atomic, self._atomic = self._atomic, None
            if complete:
                atomic.__exit__(None, None, None)
            else:
                stop = RuntimeError("video not finished")
                atomic.__exit__(type(stop), stop, None)


class FolderSink:
    """Frames written as ``frame_000000.png``, ``frame_000001.png``, … in a folder."""

    def __init__(self, folder):
        self.path = Path(folder)
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        save_image(frame, self.path / f"frame_{self.count:06d}.png")
        self.count += 1

    def close(self, complete: bool = True) -> None:
        """Nothing to release (symmetry with :class:`VideoSink`)."""


def open_sink(out, fps: float = FOLDER_FPS):
    """A video file for a video suffix (``VIDEO_SUFFIXES``, OpenCV), else a folder of PNGs;
    ``.write(rgb_frame)``, then ``.close()``."""
    path = Path(out)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoSink(path, fps)
    if path.suffix:
        raise ValueError(
            f"{path}: write a video ({', '.join(VIDEO_SUFFIXES)}) or a folder of frames "
            "(a name without a suffix)"
        )
    return FolderSink(path)


class Window:
    """An OpenCV window; :meth:`show` returns ``False`` once ``quit_key`` is pressed."""

    def __init__(self, title: str, quit_key: str = "q"):
        self._cv2 = require_cv2("showing a window")
        self.title = title
        self.quit_key = quit_key
        self.opened = False

    def show(self, frame: np.ndarray) -> bool:
        cv2 = self._cv2
        try:
            cv2.imshow(self.title, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        except cv2.error:
            raise ValueError(
                "cannot open a window (no display, or an OpenCV without GUI support such as "
                "opencv-python-headless); pass --no-window and --out"
            ) from None
        self.opened = True
        return cv2.waitKey(1) & 0xFF != ord(self.quit_key)

    def close(self) -> None:
        if self.opened:
            self._cv2.destroyAllWindows()

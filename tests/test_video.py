"""Frame sources and sinks, and the webcam app headless on a generated video and a frames
folder (OpenCV: the headless wheel of requirements-dev.txt)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from facecolab.apps import webcam
from facecolab.cli.main import main as facecolab_main
from facecolab.data.imageio import read_image
from facecolab.fsutil import RECORD_NAME
from facecolab.modelfiles.export import export_tflite
from facecolab.models import build_model
from facecolab.workflows import video

HEIGHT, WIDTH, FRAMES = 48, 64, 6


def frame(index: int) -> np.ndarray:
    """A bright square (the 'person') moving right on a dark background."""
    image = np.full((HEIGHT, WIDTH, 3), 30, np.uint8)
    image[10:40, 4 + 4 * index : 28 + 4 * index] = 220
    return image


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The same frames as an .avi video (lossless-enough MJPG) and a PNG folder."""
    folder = tmp_path_factory.mktemp("clip")
    path = folder / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (WIDTH, HEIGHT))
    frames = folder / "frames"
    frames.mkdir()
    for index in range(FRAMES):
        writer.write(cv2.cvtColor(frame(index), cv2.COLOR_RGB2BGR))
        Image.fromarray(frame(index)).save(frames / f"{index:03d}.png")
    writer.release()
    return {"video": path, "frames": frames}


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A small binary MobileNetV2 U-Net as .keras and as float .tflite."""
    folder = tmp_path_factory.mktemp("models")
    model = build_model(
        "mobilenetv2_unet", (32, 32, 3), 2, alpha=0.35, decoder_filters=(8, 8), final_filters=0
    )
    model.save(folder / "portrait.keras")
    export_tflite(model, folder / "portrait.tflite")
    return {"keras": folder / "portrait.keras", "tflite": folder / "portrait.tflite"}


def test_video_source_gives_rgb_frames(clip):
    source = video.open_source(str(clip["video"]))
    frames = list(source)
    source.close()
    assert len(frames) == FRAMES and source.fps == pytest.approx(10.0)
    for index, image in enumerate(frames):
        assert image.shape == (HEIGHT, WIDTH, 3) and image.dtype == np.uint8
        assert np.abs(image.astype(int) - frame(index)).mean() < 6  # JPEG-coded, RGB order


def test_folder_source_needs_no_opencv(clip, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    frames = list(video.open_source(str(clip["frames"])))
    assert len(frames) == FRAMES
    np.testing.assert_array_equal(frames[2], frame(2))


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("missing.mp4", None, FileNotFoundError, "no such video file or frames folder"),
        ("junk.mp4", b"not a video", ValueError, "cannot be read as a video"),
    ],
)
def test_unreadable_sources_are_clear_errors(tmp_path, name, content, error, message):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(error, match=message):
        video.open_source(str(tmp_path / name))


def test_missing_camera_is_a_clear_error():
    with pytest.raises(ValueError, match="camera 63 cannot be opened"):
        video.open_source("63")


@pytest.mark.parametrize(
    ("name", "kind"), [("out.mp4", video.VideoSink), ("out", video.FolderSink)]
)
def test_open_sink_by_suffix(tmp_path, name, kind):
    assert isinstance(video.open_sink(tmp_path / name), kind)
    with pytest.raises(ValueError, match="a folder of frames"):
        video.open_sink(tmp_path / "out.txt")


@pytest.mark.parametrize("kind", ["keras", "tflite"])
def test_webcam_headless_on_a_video_writes_every_frame(clip, model_files, tmp_path, capsys, kind):
    out = tmp_path / "out.mp4"
    argv = ["-m", model_files[kind], "--source", clip["video"], "--out", out, "--no-window"]
    assert webcam.main([str(a) for a in argv + ["--smooth", "0.3", "--threads", "1"]]) == 0
    printed = capsys.readouterr().out
    assert f"{FRAMES} frames in" in printed and "FPS measured" in printed
    written = cv2.VideoCapture(str(out))
    count = 0
    while written.read()[0]:
        count += 1
    written.release()
    assert count == FRAMES


def test_webcam_frames_folder_to_frames_folder_without_opencv(
    clip, model_files, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "cv2", None)
    out = tmp_path / "shown"
    argv = ["webcam", "-m", model_files["tflite"], "--source", clip["frames"], "--out", out]
    argv += ["--no-window", "--mode", "mask", "--max-frames", "4"]
    assert facecolab_main([str(a) for a in argv]) == 0
    shown = sorted(p for p in out.iterdir() if p.name != RECORD_NAME)
    assert [p.name for p in shown] == [f"frame_{i:06d}.png" for i in range(4)]
    assert read_image(shown[0]).shape == (HEIGHT, WIDTH, 3)
    assert "4 frames in" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--source", "nowhere.mp4"], "nowhere.mp4: no such video file"),
        (["--source", "{junk}"], "cannot be read as a video"),
        (["--source", "63"], "camera 63 cannot be opened"),
        (["--source", "{frames}", "--out", "x.txt"], "a folder of frames"),
        (["--source", "{frames}"], "--no-window without --out would show and write nothing"),
    ],
)
def test_webcam_errors_exit_non_zero_with_one_line(clip, tmp_path, capsys, extra, message):
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    values = {"junk": tmp_path / "junk.mp4", "frames": clip["frames"]}
    argv = ["-m", str(tmp_path / "unused.keras"), "--no-window"]
    argv += [a.format(**values) for a in extra]
    assert webcam.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("webcam: error:")


def test_window_without_a_display_says_to_pass_no_window(clip, model_files, capsys, monkeypatch):
    def no_gui(*_):  # what a headless OpenCV, or one without a display, does
        raise cv2.error("The function is not implemented")

    monkeypatch.setattr(cv2, "imshow", no_gui)
    argv = ["-m", str(model_files["keras"]), "--source", str(clip["frames"])]
    assert webcam.main(argv) == 2
    assert "--no-window" in capsys.readouterr().err

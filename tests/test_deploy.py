"""Deployed files through the runtimes people deploy with, as those take them: the fast
portrait model and the 19-class parsing model exported to TFLite (with model metadata) and
ONNX, run by MediaPipe Tasks' ImageSegmenter, LiteRT's interpreter and ONNX Runtime on real
validation images, masks checked against Keras'; MediaPipe also runs the ready ``.tflite``
files that ship in weights/.

Every runtime sees the same pixels: each photo resized to the model input by
``facecolab.data.resize.resize_image`` (MediaPipe gets those ``uint8`` pixels and normalises
them by the file's metadata; LiteRT and ONNX Runtime get them divided by 255), so the test
measures the export, not each runtime's own resizing. Figures are printed (``-s``).

The clients are optional: ``ai-edge-litert``, ``onnxruntime`` and ``tf2onnx`` (the extra
``facecolab[deploy]``, in requirements-dev.txt) and MediaPipe in its own virtual environment
``.cache/mediapipe-venv`` (``scripts/setup_mediapipe.sh``; mediapipe pins its protobuf and
numpy, so it never shares TensorFlow's). A missing one skips its test with the reason.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from facecolab.data.imageio import read_image
from facecolab.data.readers import get_format
from facecolab.data.resize import resize_image
from facecolab.measures.metrics import confusion_matrix, mean_iou
from facecolab.modelfiles.export import deploy_model, export_onnx, export_tflite, segmenter_metadata
from facecolab.modelfiles.load import load_pretrained
from facecolab.modelfiles.manifest import pretrained_export, read_manifest
from facecolab.modelfiles.tflite_metadata import read_metadata

REPO = Path(__file__).resolve().parents[1]
MEDIAPIPE_PYTHON = REPO / ".cache" / "mediapipe-venv" / "bin" / "python"
MEDIAPIPE_CLIENT = Path(__file__).resolve().parent / "clients" / "mediapipe_segmenter.py"
# model name -> (raw layout, conftest fixture of its real data)
MODELS = {
    "p5_portrait_shen_fast": ("eg1800", "portrait_shen_root"),
    "p2_unet_celebamask_mini": ("celebamask_hq", "celebamask_mini_root"),
}
IMAGES = 8  # first validation images per model
MIN_AGREEMENT, MIN_MIOU = 0.995, 0.99


@pytest.fixture(scope="module", params=sorted(MODELS))
def deployed(request, tmp_path_factory):
    """One model: Keras, its deployed files, validation images at its input size and
    Keras' probabilities on them."""
    name = request.param
    layout, fixture = MODELS[name]
    root = request.getfixturevalue(fixture)
    items = get_format(layout).list_items(root, "val")[:IMAGES]
    model = load_pretrained(name)
    size = tuple(model.input_shape[1:3])
    images = [resize_image(read_image(item.image_path), size) for item in items]
    reference = deploy_model(model)
    probabilities = [
        reference.predict_on_batch(image[None] / np.float32(255))[0] for image in images
    ]
    folder = tmp_path_factory.mktemp(name)
    metadata = segmenter_metadata(model, name)
    return {
        "name": name,
        "model": model,
        "metadata": metadata,
        "images": images,
        "keras": np.stack(probabilities),
        "tflite": export_tflite(model, folder / f"{name}.tflite", metadata=metadata),
        "folder": folder,
    }


def compare(name: str, runtime: str, keras_probs: np.ndarray, labels, probs=None) -> dict:
    """Label agreement, mIoU against Keras' labels and the largest probability difference;
    printed and returned."""
    truth = keras_probs.argmax(-1)
    labels = np.asarray(labels)
    classes = keras_probs.shape[-1]
    scores = {
        "agreement": float((labels == truth).mean()),
        "mean_iou": float(mean_iou(confusion_matrix(truth, labels, classes))),
        "max_abs_prob": None if probs is None else float(np.abs(probs - keras_probs).max()),
    }
    print(f"\n{name} {runtime} vs Keras: {json.dumps(scores)}")
    return scores


def check(scores: dict) -> None:
    assert scores["agreement"] >= MIN_AGREEMENT
    assert scores["mean_iou"] >= MIN_MIOU


def test_tflite_carries_the_metadata_mediapipe_reads(deployed):
    found = read_metadata(deployed["tflite"].read_bytes())
    entry = read_manifest()[deployed["name"]]
    assert found["labels"] == entry["class_names"]
    assert found["input"]["mean"] == [0.0] and found["input"]["std"] == [255.0]
    assert found["input"]["color_space"] == "RGB"
    assert found["input"]["size"] == tuple(entry["input_size"])
    assert found["activation"] == "none" and found["min_parser_version"] == "1.5.0"
    assert found["name"] == deployed["name"] and found["license"] == entry["license"]
    assert entry["sha256"][:12] in found["version"]


def test_litert_interpreter(deployed):
    litert = pytest.importorskip(
        "ai_edge_litert.interpreter", reason="LiteRT (ai-edge-litert) is not installed"
    )
    interpreter = litert.Interpreter(model_path=str(deployed["tflite"]), num_threads=2)
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    (target,) = interpreter.get_output_details()
    outputs = []
    for image in deployed["images"]:
        interpreter.set_tensor(source["index"], image[None] / np.float32(255))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(target["index"])[0])
    probs = np.stack(outputs)
    check(compare(deployed["name"], "LiteRT", deployed["keras"], probs.argmax(-1), probs))


def test_onnx_runtime(deployed):
    pytest.importorskip("tf2onnx", reason="ONNX export needs tf2onnx (facecolab[onnx])")
    runtime = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    path = export_onnx(deployed["model"], deployed["folder"] / "model.onnx", deployed["metadata"])
    session = runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (source,) = session.get_inputs()
    assert source.name == "image" and source.shape == [1, *deployed["images"][0].shape]
    props = session.get_modelmeta().custom_metadata_map
    assert json.loads(props["class_names"]) == list(deployed["metadata"].class_names)
    probs = np.stack(
        [
            session.run(None, {"image": image[None] / np.float32(255)})[0][0]
            for image in deployed["images"]
        ]
    )
    check(compare(deployed["name"], "ONNX Runtime", deployed["keras"], probs.argmax(-1), probs))


@pytest.mark.parametrize("which", ["fresh export", "shipped file"])
def test_mediapipe_image_segmenter(deployed, which):
    """MediaPipe Tasks' ImageSegmenter on the export just written and on the ready ``.tflite``
    that ships in weights/ (float16 weights for the 19-class model)."""
    if not MEDIAPIPE_PYTHON.exists():
        pytest.skip(
            f"MediaPipe's venv {MEDIAPIPE_PYTHON} is missing: bash scripts/setup_mediapipe.sh"
        )
    if which == "fresh export":
        tflite = deployed["tflite"]
    else:
        tflite = pretrained_export(deployed["name"], "tflite")
    folder = deployed["folder"]
    images = {f"image{index}": image for index, image in enumerate(deployed["images"])}
    np.savez(folder / "images.npz", **images)
    done = subprocess.run(
        [MEDIAPIPE_PYTHON, MEDIAPIPE_CLIENT, tflite, folder / "images.npz", folder / "mp.npz"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["labels"] == list(deployed["metadata"].class_names)
    with np.load(folder / "mp.npz") as masks:
        labels = np.stack([masks[key] for key in images])
        probs = np.stack([masks[f"{key}_confidence"] for key in images])
    runtime = f"MediaPipe ImageSegmenter ({which})"
    check(compare(deployed["name"], runtime, deployed["keras"], labels, probs))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shipped_tflite_predicts_the_keras_masks(name, request):
    """The ready ``.tflite`` in weights/ (sha256 checked) gives the Keras model's masks, run by
    TensorFlow's own interpreter (no extra needed)."""
    from facecolab.modelfiles.export import agreement
    from facecolab.modelfiles.runner import keras_runner, tflite_runner

    layout, fixture = MODELS[name]
    root = request.getfixturevalue(fixture)
    path = pretrained_export(name, "tflite")
    found = read_metadata(path.read_bytes())
    assert found["labels"] == read_manifest()[name]["class_names"]
    items = get_format(layout).list_items(root, "val")[:IMAGES]
    images = [read_image(item.image_path) for item in items]
    scores = agreement(keras_runner(load_pretrained(name)), tflite_runner(path), images)
    print(f"\n{name} shipped .tflite vs Keras: {json.dumps(scores)}")
    assert scores["pixel_agreement"] >= MIN_AGREEMENT and scores["mean_iou"] >= MIN_MIOU


def test_export_command_is_quiet_and_writes_metadata(capsys, tmp_path):
    """``facecolab export`` prints what it wrote, not Keras' signature dump."""
    from facecolab.cli.main import main

    out = tmp_path / "fast.tflite"
    assert main(["export", "--model", "p5_portrait_shen_fast", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "TensorSpec" not in printed.out + printed.err
    assert printed.out.startswith(f"wrote {out}")
    assert read_metadata(out.read_bytes())["labels"] == ["background", "person"]

"""Exports: TFLite float gives Keras' masks; quantised TFLite reports its cost; SavedModel;
``facecolab export`` on the command line."""

from __future__ import annotations

import numpy as np
import pytest

from facecolab.cli.main import main
from facecolab.data import get_format
from facecolab.data.imageio import read_image
from facecolab.data.sample import write_sample
from facecolab.modelfiles.export import (
    agreement,
    export_format,
    export_model,
    export_saved_model,
    export_tflite,
    to_tflite,
)
from facecolab.modelfiles.runner import keras_runner, load_runner
from facecolab.models import build_model

SIZE = 64
# The fast portrait builder, scaled down: what the benchmark times, at test size.
PORTRAIT_OPTIONS = {"alpha": 0.35, "decoder_filters": (16, 8, 8, 8), "final_filters": 8}


@pytest.fixture(scope="module")
def portrait(tmp_path_factory):
    """The bundled portrait sample (drawn people, 80² photos) with its validation split, a
    small MobileNetV2 U-Net of project 5's builder saved as .keras, and its calibration
    folder (the training photos)."""
    root = tmp_path_factory.mktemp("portrait")
    raw = write_sample("portrait", root / "raw", count=16, size=80)
    fmt = get_format("portrait")
    model = build_model("mobilenetv2_unet", (SIZE, SIZE, 3), 2, **PORTRAIT_OPTIONS)
    model.save(root / "portrait.keras")
    return {
        "root": root,
        "model": model,
        "path": root / "portrait.keras",
        "val": [read_image(item.image_path) for item in fmt.list_items(raw, "val")],
        "calib": raw / "train" / "data",
    }


def test_tflite_float_gives_the_keras_masks_on_the_validation_split(portrait):
    path = export_tflite(portrait["model"], portrait["root"] / "float.tflite")
    scores = agreement(keras_runner(portrait["model"]), load_runner(path), portrait["val"])
    assert scores["images"] == len(portrait["val"]) >= 2
    assert scores["mean_iou"] >= 0.99
    assert scores["pixel_agreement"] >= 0.99


@pytest.mark.parametrize("quantize", ["float16", "dynamic"])  # int8: through the CLI below
def test_quantised_exports_run_and_report_their_cost(portrait, quantize):
    path = export_tflite(
        portrait["model"],
        portrait["root"] / f"{quantize}.tflite",
        quantize,
    )
    runner = load_runner(path)
    assert runner.probabilities(portrait["val"][0]).shape == (*portrait["val"][0].shape[:2], 2)
    scores = agreement(portrait["model"], runner, portrait["val"])
    assert 0.0 <= scores["mean_iou"] <= 1.0 and 0.0 <= scores["pixel_agreement"] <= 1.0


def test_int8_needs_calibration_images(portrait):
    with pytest.raises(ValueError, match="--calib DIR"):
        to_tflite(portrait["model"], "int8")
    with pytest.raises(ValueError, match="quantize must be one of"):
        to_tflite(portrait["model"], "int4")


def test_saved_model_serves_the_keras_probabilities(portrait, tmp_path):
    import tensorflow as tf

    path = export_model(portrait["model"], tmp_path / "portrait_saved_model", "saved_model")
    served = tf.saved_model.load(str(path)).signatures["serving_default"]
    x = np.random.default_rng(0).random((2, SIZE, SIZE, 3), dtype=np.float32)
    (output,) = served(tf.constant(x)).values()
    np.testing.assert_allclose(output.numpy(), portrait["model"].predict(x, verbose=0), atol=1e-5)
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(portrait["model"], path)
    stamp = (path / "saved_model.pb").stat().st_mtime_ns
    export_saved_model(portrait["model"], path, overwrite=True)  # written whole, then swapped
    assert (path / "saved_model.pb").stat().st_mtime_ns != stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portrait_saved_model"]  # no leftovers


@pytest.mark.parametrize(
    ("destination", "fmt", "expected"),
    [
        ("m.keras", None, "keras"),
        ("m.tflite", None, "tflite"),
        ("exports/m", None, "saved_model"),
        ("m.tflite", "tflite", "tflite"),
        ("m.onnx", None, "onnx"),
        ("m.pb", None, "say --format"),
        ("m.keras", "tflite", "tflite exports are written to .tflite"),
        ("m.tflite", "saved_model", "a folder name without a suffix"),
    ],
)
def test_export_format_follows_or_checks_the_suffix(destination, fmt, expected):
    if expected in ("keras", "tflite", "onnx", "saved_model"):
        assert export_format(destination, fmt) == expected
    else:
        with pytest.raises(ValueError, match=expected):
            export_format(destination, fmt)


def test_quantisation_applies_to_tflite_only(portrait, tmp_path):
    with pytest.raises(ValueError, match="TFLite exports only"):
        export_model(portrait["model"], tmp_path / "m.keras", quantize="float16")


def test_cli_exports_tflite_and_reports_the_miou_cost(portrait, tmp_path, capsys):
    out = tmp_path / "portrait_int8.tflite"
    argv = ["export", "--model", portrait["path"], "--format", "tflite", "--quantize", "int8"]
    argv += ["--calib", portrait["calib"], "--compare", portrait["calib"], "--out", out]
    assert main([str(a) for a in argv]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    assert "TFLite (int8) vs Keras on 13 images" in printed and "mIoU" in printed
    assert load_runner(out).backend == "tflite"


def test_cli_export_defaults_to_a_keras_copy_in_exports(portrait, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--model", str(portrait["path"])]) == 0
    assert (tmp_path / "exports" / "portrait.keras").is_file()
    assert "wrote exports/portrait.keras" in capsys.readouterr().out


def test_a_model_with_ops_tflite_lacks_names_them():
    import keras
    import tensorflow as tf

    inputs = keras.Input((8, 8, 3))
    bits = keras.layers.Lambda(lambda x: tf.bitwise.bitwise_and(tf.cast(x, "int32"), 3))(inputs)
    with pytest.raises(ValueError, match="TFLite has no kernel for BitwiseAnd"):
        to_tflite(keras.Model(inputs, bits))


def test_segnet_argmax_pooling_converts_and_matches():
    import keras
    import tensorflow as tf

    from facecolab.models.layers import MaxPoolWithArgmax, MaxUnpoolWithArgmax

    inputs = keras.Input((8, 8, 3))
    pooled, position = MaxPoolWithArgmax()(inputs)
    model = keras.Model(inputs, MaxUnpoolWithArgmax()(pooled, position))
    interpreter = tf.lite.Interpreter(model_content=to_tflite(model))
    interpreter.allocate_tensors()
    x = np.random.default_rng(0).random((1, 8, 8, 3)).astype("float32")
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    result = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(result, model.predict(x, verbose=0), atol=1e-6)

"""Inference at original size, MC-dropout files, dataset-level evaluation with known answers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from facecolab.data.imageio import list_images
from facecolab.data.readers.base import DatasetFormat, Item
from facecolab.data.resize import ASPECT_MODES, resize_mask
from facecolab.data.specs import DatasetSpec
from facecolab.modelfiles.runner import restore_probabilities
from facecolab.models import build_model
from facecolab.viz import generic_palette
from facecolab.workflows.evaluate import (
    comparison_table,
    evaluate_dataset,
    evaluate_items,
    flatten_metrics,
    format_reference,
    write_evaluation,
)
from facecolab.workflows.predict import (
    predict_files,
    predict_labels,
    predict_mc_files,
    predict_probabilities,
)

SPEC = DatasetSpec("toy", ("background", "skin", "hair"), ((0, 0, 0), (0, 255, 0), (255, 0, 0)))
ODD_SIZES = [(77, 53), (53, 77), (31, 200)]


def oracle_model(size=(16, 16), num_classes=3) -> keras.Model:
    """Predicts the class whose RGB channel is brightest: an image painted with one-hot
    colours gives known predictions, so metrics have exact expected values."""
    inputs = keras.Input((*size, 3))
    conv = keras.layers.Conv2D(num_classes, 1, use_bias=False, activation="softmax")
    outputs = conv(inputs)
    conv.set_weights([20 * np.eye(3, num_classes, dtype="float32")[None, None]])
    return keras.Model(inputs, outputs)


def paint(label: np.ndarray) -> np.ndarray:
    """uint8 (H, W) ids in {0, 1, 2} → uint8 (H, W, 3) with channel ``id`` at 255."""
    return (np.eye(3, dtype=np.uint8)[label] * 255).astype(np.uint8)


def toy_label(height, width) -> np.ndarray:
    """Class 1 on the right half, class 2 in a middle band of rows, else 0."""
    label = np.zeros((height, width), np.uint8)
    label[:, width // 2 :] = 1
    label[int(0.4 * height) : int(0.6 * height)] = 2
    return label


@pytest.mark.parametrize("aspect", ASPECT_MODES)
@pytest.mark.parametrize("original", ODD_SIZES)
@pytest.mark.parametrize("model_size", [(32, 32), (48, 64)])
def test_restore_probabilities_round_trip(aspect, original, model_size):
    """A perfect model's one-hot output at model size maps back onto the original pixels."""
    label = toy_label(*original)
    resized = resize_mask(label, model_size, aspect)  # 255 where letterbox pads
    probs = np.eye(3, dtype=np.float32)[np.minimum(resized, 2)]
    probs[resized == 255] = 1 / 3
    restored = restore_probabilities(probs, original, aspect)
    assert restored.shape == (*original, 3) and restored.dtype == np.float32
    agreement = (restored.argmax(-1) == label).mean()
    assert agreement > 0.95, agreement  # only boundary pixels may move


def test_restore_probabilities_keeps_same_size_input():
    probs = np.random.default_rng(0).random((20, 30, 4), dtype=np.float32)
    np.testing.assert_array_equal(restore_probabilities(probs, (20, 30), "stretch"), probs)


@pytest.mark.parametrize("aspect", ASPECT_MODES)
def test_predict_labels_with_oracle_at_original_size(aspect):
    labels = [toy_label(*size) for size in ODD_SIZES]
    predicted = list(predict_labels(oracle_model((64, 64)), (paint(x) for x in labels), aspect, 2))
    for label, prediction in zip(labels, predicted, strict=True):
        assert prediction.shape == label.shape and prediction.dtype == np.uint8
        assert (prediction == label).mean() > 0.9


def test_sigmoid_model_gives_two_class_probabilities():
    model = build_model("unet", (32, 32, 3), 2, depth=1, base_filters=2, binary_output=True)
    assert model.output_shape[-1] == 1
    (probs,) = predict_probabilities(model, [np.zeros((40, 30, 3), np.uint8)])
    assert probs.shape == (40, 30, 2)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for index, (height, width) in enumerate(ODD_SIZES):
        suffix = ".png" if index % 2 else ".jpg"
        Image.fromarray(paint(toy_label(height, width))).save(folder / f"img{index}{suffix}")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_predict_files_writes_label_maps_and_overlays(image_folder, tmp_path):
    paths = list_images(image_folder)
    assert [p.name for p in paths] == ["img0.jpg", "img1.png", "img2.jpg"]
    written = predict_files(
        oracle_model((64, 64)),
        paths,
        tmp_path / "out",
        "letterbox",
        2,
        palette=generic_palette(),
        progress=False,
    )
    assert [p.name for p in written] == ["img0.png", "img1.png", "img2.png"]
    for path, (height, width) in zip(written, ODD_SIZES, strict=True):
        with Image.open(path) as image:
            assert image.mode == "L" and image.size == (width, height)
            assert (np.asarray(image) == toy_label(height, width)).mean() > 0.9
        with Image.open(tmp_path / "out" / "overlays" / f"{path.stem}.jpg") as overlay:
            assert overlay.size == (width, height)


def test_predict_files_refuses_clashing_stems(tmp_path):
    for name in ("a.jpg", "a.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    with pytest.raises(ValueError, match=r"a\.jpg and .*a\.png"):
        predict_files(oracle_model(), list_images(tmp_path), tmp_path / "out", progress=False)


def test_predict_mc_files(image_folder, tmp_path):
    model = build_model(
        "unet", (32, 32, 3), 3, depth=1, base_filters=4, dropout=0.5, mc_dropout=True
    )
    paths = list_images(image_folder)[:2]
    written = predict_mc_files(
        model, paths, tmp_path / "mc", samples=4, aspect="crop", batch_size=1, progress=False
    )
    for path, (height, width) in zip(written, ODD_SIZES[:2], strict=True):
        arrays = np.load(path)
        assert arrays["mean"].shape == arrays["variance"].shape == (height, width, 3)
        assert arrays["entropy"].shape == arrays["mutual_information"].shape == (height, width)
        np.testing.assert_array_equal(arrays["labels"], arrays["mean"].argmax(-1))
        assert (arrays["mutual_information"] <= arrays["entropy"] + 1e-5).all()
        assert arrays["mutual_information"].max() > 0  # samples differ: dropout is on
        assert int(arrays["samples"]) == 4
        assert path.with_suffix(".png").stat().st_size > 0


def test_predict_mc_files_needs_mc_dropout(image_folder, tmp_path):
    with pytest.raises(ValueError, match="Monte-Carlo dropout"):
        predict_mc_files(oracle_model(), list_images(image_folder), tmp_path, progress=False)


def test_evaluate_dataset_known_confusion_matrix():
    truth = np.array([[[0, 0, 1, 1]] * 4, [[2, 2, 2, 255]] * 4])  # (2, 4, 4)
    predicted = np.array([[[0, 1, 1, 1]] * 4, [[2, 0, 2, 1]] * 4])
    images = np.stack([paint(p) for p in predicted]).astype(np.float32) / 255
    dataset = tf.data.Dataset.from_tensor_slices((images, truth.astype(np.int32))).batch(1)
    result = evaluate_dataset(oracle_model((4, 4)), dataset, SPEC)
    # rows truth: 0 → (4 right, 4 as 1); 1 → 8 right; 2 → 8 right, 4 as 0; ignore skipped.
    assert result["confusion_matrix"] == [[4, 4, 0], [0, 8, 0], [4, 0, 8]]
    assert result["pixel_accuracy"] == pytest.approx(20 / 28)


def test_evaluate_items_at_original_resolution(tmp_path):
    """Each image is one colour (so resizing cannot blur it); labels are 13×9, the model 16²."""
    shapes = [(13, 9), (9, 13)]
    items, truths = [], {}
    for index, (shape, colour) in enumerate(zip(shapes, (1, 2), strict=True)):
        path = tmp_path / f"{index}.png"
        Image.fromarray(paint(np.full(shape, colour, np.uint8))).save(path)
        items.append(Item(str(index), path, ()))
        truths[str(index)] = toy_label(*shape)
    fmt = DatasetFormat(SPEC, ("test",), lambda *a, **k: items, lambda item: truths[item.key])
    result = evaluate_items(oracle_model(), fmt, items, batch_size=1, progress=False)
    expected = np.zeros((3, 3), np.int64)
    for truth, colour in zip(truths.values(), (1, 2), strict=True):
        expected[:, colour] += np.bincount(truth.ravel(), minlength=3)
    assert result["confusion_matrix"] == expected.tolist()
    assert result["pixels"] == 2 * 13 * 9


def test_evaluate_items_scores_at_label_resolution(tmp_path):
    """CelebAMask-HQ ships 512² masks for 1024² photos: score at the mask's size."""
    truth = toy_label(10, 10)
    path = tmp_path / "big.png"
    Image.fromarray(paint(resize_mask(truth, (20, 20)))).save(path)
    items = [Item("big", path, ())]
    fmt = DatasetFormat(SPEC, ("test",), lambda *a, **k: items, lambda item: truth)
    result = evaluate_items(oracle_model((20, 20)), fmt, items, batch_size=1, progress=False)
    assert result["pixels"] == 100
    assert result["pixel_accuracy"] == pytest.approx(1.0)


SUMMARY = {
    "pixel_accuracy": 0.9,
    "mean_iou": 0.8,
    "mean_class_accuracy": 0.85,
    "mean_f1": 0.75,
    "mean_f1_no_background": 0.7,
    "groups": {"eyes": 0.5},
    "classes": [
        {"name": "bg", "iou": 0.9, "f1": 0.95, "precision": 1.0, "recall": 0.9},
        {"name": "hair", "iou": None, "f1": None, "precision": None, "recall": None},
    ],
    "confusion_matrix": [[9, 1], [0, 0]],
}


def test_flatten_metrics_names():
    flat = flatten_metrics(SUMMARY)
    assert flat["f1_bg"] == 0.95 and flat["accuracy_bg"] == 0.9 and flat["iou_hair"] is None
    assert flat["f1_eyes"] == 0.5 and flat["pixel_accuracy"] == 0.9 and flat["mean_f1"] == 0.75


def test_format_reference_side_by_side():
    reference = {
        "source": "seed README",
        "metrics": {"pixel_accuracy": 0.917, "f1_bg": 0.956, "f1_hair": 0.6, "mystery": 0.5},
    }
    table = format_reference(SUMMARY, reference)
    assert "seed README" in table
    assert "| pixel_accuracy | 90.00 | 91.70 | -1.70 |" in table
    assert "| f1_bg | 95.00 | 95.60 | -0.60 |" in table
    assert "| f1_hair | — | 60.00 | — |" in table  # absent class: no number invented
    assert "| mystery | — | 50.00 | — |" in table


def test_write_evaluation_files(tmp_path):
    written = write_evaluation(SUMMARY, tmp_path / "eval", {"metrics": {"pixel_accuracy": 1}})
    import json

    record = json.loads(written["metrics"].read_text())
    assert record["reference"] == {"metrics": {"pixel_accuracy": 1}}
    assert record["confusion_matrix"] == SUMMARY["confusion_matrix"]
    with Image.open(written["confusion_matrix"]) as figure:
        assert figure.size[0] > 100


def test_comparison_table_lists_models_and_reference():
    def summary(accuracy):
        return {
            "pixel_accuracy": accuracy,
            "mean_iou": 0.5,
            "mean_class_accuracy": None,
            "mean_f1": 0.3,
            "mean_f1_no_background": 0.25,
            "classes": [{"name": "face", "iou": 0.5, "f1": 0.6, "precision": 0.7, "recall": 0.8}],
        }

    table = comparison_table({"A": summary(0.9), "B": summary(0.8)}, {"metrics": {"f1_face": 0.75}})
    lines = table.splitlines()
    assert lines[0] == "| metric | A | B | reference |"
    assert "| pixel_accuracy | 90.00 | 80.00 | — |" in lines
    assert "| f1_face | 60.00 | 60.00 | 75.00 |" in lines


def test_a_prepared_folder_gives_its_split_images(celebamask_prepared, tmp_path):
    from facecolab.data.inputs import input_images
    from facecolab.data.prepare import split_files

    assert input_images(celebamask_prepared, "val") == split_files(celebamask_prepared, "val")[0]
    with pytest.raises(ValueError, match="say which split"):
        input_images(celebamask_prepared)
    (tmp_path / "a.png").touch()
    with pytest.raises(ValueError, match="--split needs a prepared folder"):
        input_images(tmp_path, "val")


# Files of an input folder → (images predicted as their output names, label maps left out,
# the layout recognised).
INPUT_FOLDERS = [
    pytest.param(
        ["1_image.jpg", "1_label.png", "2_image.jpg", "2_label.png"],
        {"1_image.jpg": "1", "2_image.jpg": "2"},
        ["1_label.png", "2_label.png"],
        "helen",
        id="helen-test-folder",
    ),
    pytest.param(
        ["1_image.jpg", "1_label.png", "extra.png"],
        {"1_image.jpg": "1", "extra.png": "extra"},
        ["1_label.png"],
        "helen",
        id="helen-folder-with-another-photo",
    ),
    pytest.param(["a.jpg", "b.png"], {"a.jpg": "a", "b.png": "b"}, [], None, id="plain-photos"),
    pytest.param(
        ["me_label.png", "you.jpg"],
        {"me_label.png": "me_label", "you.jpg": "you"},
        [],
        None,
        id="a-label-tag-alone-is-a-photo-name",
    ),
    pytest.param(
        ["me_image.jpg", "you.jpg"],
        {"me_image.jpg": "me_image", "you.jpg": "you"},
        [],
        None,
        id="an-image-tag-alone-is-a-photo-name",
    ),
]


@pytest.mark.parametrize("files, predicted, left_out, layout", INPUT_FOLDERS)
def test_a_dataset_folder_gives_its_images_only(tmp_path, files, predicted, left_out, layout):
    from facecolab.data.inputs import input_images, select_inputs

    for name in files:
        Image.new("RGB", (4, 4)).save(tmp_path / name)
    selected = select_inputs(tmp_path)
    assert dict(zip([p.name for p in selected.paths], selected.names, strict=True)) == predicted
    assert [p.name for p in selected.left_out] == left_out
    assert selected.layout == layout
    assert input_images(tmp_path) == selected.paths

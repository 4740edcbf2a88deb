"""The numpy loader (``facecolab.data.host_pipeline.PreparedBatches``) and its augmentations
(``facecolab.data.augment``): the batches of the tf.data pipeline's contract, without TensorFlow,
for the JAX and PyTorch backends."""

from __future__ import annotations

import colorsys
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_pipeline import colour_coded_items, write_prepared

from facecolab.constants import IGNORE_INDEX
from facecolab.data.augment import (
    IDENTITY,
    INDEX,
    AugmentConfig,
    apply_params,
    augment_batch,
    draw_params,
)
from facecolab.data.host_pipeline import PreparedBatches
from facecolab.data.prepare import dataset_spec, split_files
from facecolab.data.specs import get_spec

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def colour_coded(tmp_path_factory):
    images, labels = colour_coded_items(10, size=64)
    return write_prepared(tmp_path_factory.mktemp("coded") / "prepared", images, labels)


def augment(image, label, rng, config, lut):
    """One sample through the host path: parameters drawn with ``rng``, then the batch ops."""
    params = draw_params(rng, config, label.shape)[None]
    images, labels = augment_batch(image[None], label[None], params, lut, config)
    return np.asarray(images[0]), np.asarray(labels[0])


def all_samples(batches: PreparedBatches):
    return [pair for images, labels in batches for pair in zip(images, labels, strict=True)]


@pytest.mark.parametrize(
    ("batch_size", "drop_remainder", "expected"), [(4, False, [4, 4, 2]), (4, True, [4, 4])]
)
def test_batches_hold_the_split_in_order(colour_coded, batch_size, drop_remainder, expected):
    batches = PreparedBatches(
        colour_coded, "train", batch_size=batch_size, drop_remainder=drop_remainder
    )
    assert batches.num_batches == len(expected)
    sizes = []
    for images, labels in batches:
        sizes.append(len(images))
        assert images.dtype == np.float32 and images.shape[1:] == (64, 64, 3)
        assert images.min() >= 0.0 and images.max() <= 1.0
        assert labels.dtype == np.int32 and labels.shape[1:] == (64, 64)
    assert sizes == expected
    _, label_paths = split_files(colour_coded, "train")
    first_label = np.asarray(Image.open(label_paths[0]))
    np.testing.assert_array_equal(batches[0][1][0], first_label)


def test_resize_one_hot_and_several_outputs(colour_coded):
    batches = PreparedBatches(
        colour_coded, "train", batch_size=2, image_size=(32, 48), one_hot=True, outputs=3
    )
    images, targets = batches[0]
    assert images.shape == (2, 32, 48, 3)
    assert isinstance(targets, tuple) and len(targets) == 3
    assert targets[0].shape == (2, 32, 48, 3) and targets[0].dtype == np.float32
    np.testing.assert_array_equal(targets[0].sum(-1), 1.0)


def test_draws_are_a_function_of_seed_epoch_and_sample(colour_coded):
    config = AugmentConfig(hflip=True, scale=(0.8, 1.2), rotate=10, brightness=0.2)

    def run(seed, epoch):
        batches = PreparedBatches(colour_coded, "train", batch_size=4, augment_config=config)
        batches.seed, batches.epoch = seed, epoch
        batches.order = batches._order()
        return all_samples(batches)

    first, again, other_epoch = run(0, 0), run(0, 0), run(0, 1)
    for (a, b), (c, d) in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert any(not np.array_equal(a, c) for (a, _), (c, _) in zip(first, other_epoch, strict=True))


def test_an_epoch_end_reshuffles(colour_coded):
    batches = PreparedBatches(colour_coded, "train", batch_size=4, shuffle=True)
    before = batches.order.copy()
    batches.on_epoch_end()
    assert sorted(batches.order) == sorted(before) and batches.epoch == 1
    assert not np.array_equal(before, batches.order)


@pytest.mark.parametrize(
    "config",
    [
        AugmentConfig(scale=(0.6, 0.8)),
        AugmentConfig(scale=(1.2, 1.5), rotate=30),
        AugmentConfig(rotate=45),
    ],
    ids=["zoom-out", "zoom-in-rotate", "rotate"],
)
def test_geometry_moves_image_and_label_alike(config):
    images, labels = colour_coded_items(6, size=96, seed=3)
    colours = np.array([(220, 220, 220), (220, 40, 40), (40, 40, 220)], np.float32) / 255
    lut = get_spec("lfw_parts").flip_lut()
    agree = total = 0
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        rng = np.random.default_rng(index)
        out_image, out_label = augment(image, label, rng, config, lut)
        assert out_image.shape == image.shape and out_label.shape == label.shape
        kept = out_label != IGNORE_INDEX
        nearest = np.linalg.norm(out_image[..., None, :] - colours, axis=-1).argmin(-1)
        agree += (nearest[kept] == out_label[kept]).sum()
        total += kept.sum()
        # padding/rotation corners are ignore in the label and black in the image
        assert np.all(out_image[~kept].max(-1) < 0.5)
    assert agree / total > 0.97


def test_flip_mirrors_and_swaps_left_right_ids():
    spec = get_spec("celebamask_hq")
    label = np.zeros((8, 8), np.uint8)
    label[2, 1], label[5, 6] = 4, 7  # l_eye at the left, r_brow at the right
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    config, lut = AugmentConfig(hflip=True), spec.flip_lut()
    flipped = [augment(image, label, np.random.default_rng(s), config, lut) for s in range(8)]
    mirrored = [f for f in flipped if not np.array_equal(f[1], label)]
    assert 0 < len(mirrored) < len(flipped)  # about half the draws flip
    out_image, out_label = mirrored[0]
    np.testing.assert_allclose(out_image, image[:, ::-1] / 255, atol=1e-6)
    assert out_label[2, 6] == 5 and out_label[5, 1] == 6  # r_eye, l_brow


@pytest.mark.parametrize("factor", [0.6, 1.0, 1.4])
def test_brightness_scales_hsv_value_only(factor):
    image = np.random.default_rng(0).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    params = IDENTITY.copy()
    params[INDEX["brightness"]] = factor
    out, _ = apply_params(
        image[None],
        np.zeros((1, 6, 6), np.uint8),
        params[None],
        None,
        AugmentConfig(brightness=0.5),
    )
    out = np.asarray(out[0])
    for y, x in [(0, 0), (2, 3), (5, 5)]:
        hue, saturation, value = colorsys.rgb_to_hsv(*(image[y, x] / 255))
        expected = colorsys.hsv_to_rgb(hue, saturation, min(value * factor, 1.0))
        np.testing.assert_allclose(out[y, x], expected, atol=1e-5)


def test_jpeg_changes_the_image_only():
    images, labels = colour_coded_items(1, size=64)
    config = AugmentConfig(jpeg_quality=(5, 10), jpeg_prob=1.0)
    out_image, out_label = augment(images[0], labels[0], np.random.default_rng(0), config, None)
    np.testing.assert_array_equal(out_label, labels[0])
    assert np.abs(out_image - images[0] / 255).mean() > 0.005


def test_labels_outside_the_class_set_are_refused(tmp_path):
    images, labels = colour_coded_items(2, size=32)
    labels[1] = labels[1].copy()
    labels[1][0, 0] = 9  # lfw_parts has 3 classes
    prepared = write_prepared(tmp_path / "p", images, labels)
    with pytest.raises(ValueError, match=r"item1\.png: label values \[9\]"):
        PreparedBatches(prepared, "train")
    assert dataset_spec(prepared).num_classes == 3


@pytest.mark.slow
def test_training_runs_on_the_jax_backend(celebamask_prepared, tmp_path):
    """The whole train() path without TensorFlow's data pipeline: Keras on JAX, this loader."""
    pytest.importorskip("jax")
    config = tmp_path / "tiny.json"
    settings = {
        "name": "tiny",
        "data": {"dataset": "celebamask_hq", "prepared": str(celebamask_prepared)},
        "model": {"name": "unet", "options": {"depth": 2, "base_filters": 4}},
        "augment": {"hflip": True, "rotate": 10},
        "callbacks": {"monitor": "val_mean_iou"},
        "batch_size": 4,
        "epochs": 2,
    }
    settings["data"]["image_size"] = [32, 32]
    config.write_text(json.dumps(settings))
    env = os.environ | {"KERAS_BACKEND": "jax", "PYTHONPATH": str(REPO)}
    run = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "facecolab",
            "train",
            "--config",
            str(config),
            "--run-dir",
            str(run),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (run / "model_best.keras").exists() and (run / "metrics.json").exists()
    assert len((run / "history.csv").read_text().splitlines()) == 3

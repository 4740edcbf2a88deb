"""The device pipeline: the split held as backend tensors, batches augmented by the one
augmentation definition, the host pipeline's draws."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from facecolab.constants import IGNORE_INDEX
from facecolab.data.augment import INDEX, AugmentConfig
from facecolab.data.device_pipeline import DeviceBatches
from facecolab.data.host_pipeline import PreparedBatches

GEOMETRY = AugmentConfig(hflip=True, scale=(0.8, 1.25), rotate=15, translate=0.05)
FULL = AugmentConfig(
    hflip=True, scale=(0.8, 1.2), rotate=10, brightness=0.2, saturation=0.2, blur=0.5, noise=0.02
)


def numpy_batch(batches, index=0):
    images, labels = batches[index]
    return keras.ops.convert_to_numpy(images), keras.ops.convert_to_numpy(labels)


def test_same_seed_gives_the_same_batch(celebamask_prepared):
    first = DeviceBatches(celebamask_prepared, "train", batch_size=4, augment_config=FULL, seed=3)
    again = DeviceBatches(celebamask_prepared, "train", batch_size=4, augment_config=FULL, seed=3)
    other = DeviceBatches(celebamask_prepared, "train", batch_size=4, augment_config=FULL, seed=4)
    a, b, c = numpy_batch(first), numpy_batch(again), numpy_batch(other)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].dtype == np.float32 and a[0].shape == (4, 64, 64, 3)
    assert a[1].dtype == np.int32 and a[1].shape == (4, 64, 64)
    assert a[0].min() >= 0.0 and a[0].max() <= 1.0


@pytest.mark.parametrize("config", [GEOMETRY, FULL], ids=["geometry", "full"])
def test_matches_the_host_pipeline_for_the_same_draws(celebamask_prepared, config):
    common = {"batch_size": 4, "augment_config": config, "seed": 5, "shuffle": True}
    device = DeviceBatches(celebamask_prepared, "train", **common)
    host = PreparedBatches(celebamask_prepared, "train", **common)
    for epoch in range(2):
        for index in range(device.num_batches):
            d_images, d_labels = numpy_batch(device, index)
            h_images, h_labels = host[index]
            np.testing.assert_array_equal(d_labels, h_labels)
            np.testing.assert_allclose(d_images, h_images, atol=2e-4)
        device.on_epoch_end(), host.on_epoch_end()
        assert device.epoch == host.epoch == epoch + 1


def test_masks_stay_nearest_and_aligned(celebamask_prepared):
    """Each pixel's image colour is a function of its class before augmentation; after the
    geometry, labels hold only ids of the source (or ignore) and interior pixels keep their
    class's colour."""
    batches = DeviceBatches(
        celebamask_prepared, "train", batch_size=6, augment_config=GEOMETRY, seed=1
    )
    labels = keras.ops.convert_to_numpy(batches.labels)
    colours = np.random.default_rng(0).integers(0, 256, (256, 3)).astype(np.uint8)
    batches.images = keras.ops.convert_to_tensor(colours[labels])
    images, warped = numpy_batch(batches)
    assert set(np.unique(warped)) <= set(np.unique(labels)) | {IGNORE_INDEX}
    inside = warped != IGNORE_INDEX
    # Pixels whose 3×3 neighbourhood is one class: bilinear sampling cannot mix colours there.
    padded = np.pad(warped, ((0, 0), (1, 1), (1, 1)), mode="edge")
    same = np.ones_like(inside)
    for dy in range(3):
        for dx in range(3):
            same &= padded[:, dy : dy + 64, dx : dx + 64] == warped
    interior = inside & same
    assert interior.mean() > 0.3
    # A mirrored sample's labels swap left/right classes; its colours do not.
    flips = np.array([batches.params(i)[INDEX["flip"]] > 0.5 for i in batches.order[:6]])
    source_ids = np.where(flips[:, None, None], batches.flip_lut[warped], warped)
    expected = colours[source_ids[interior]] / 255
    # Nearest sampling can step over a one-pixel sliver that bilinear sampling still sees.
    matched = np.abs(images[interior] - expected).max(axis=-1) < 0.02
    assert matched.mean() > 0.98, matched.mean()


def test_mirror_swaps_left_and_right(celebamask_prepared):
    batches = DeviceBatches(
        celebamask_prepared, "train", batch_size=12, augment_config=AugmentConfig(hflip=True)
    )
    source = keras.ops.convert_to_numpy(batches.labels)[batches.order[:12]].astype(np.int32)
    _, labels = numpy_batch(batches)
    flips = [batches.params(i)[INDEX["flip"]] > 0.5 for i in batches.order[:12]]
    assert 0 < sum(flips) < 12
    lut = batches.flip_lut
    assert not np.array_equal(lut, np.arange(256)), "the sample has left/right classes"
    for flip, label, original in zip(flips, labels, source, strict=True):
        expected = lut[original[:, ::-1]] if flip else original
        np.testing.assert_array_equal(label, expected)


def test_jpeg_is_skipped_and_one_hot(celebamask_prepared):
    config = AugmentConfig(jpeg_quality=(20, 30), jpeg_prob=1.0)
    batches = DeviceBatches(
        celebamask_prepared, "val", batch_size=2, augment_config=config, one_hot=True, outputs=2
    )
    assert batches.params(0)[INDEX["jpeg"]] == 0
    images, (labels, again) = batches[0]
    assert tuple(labels.shape) == (2, 64, 64, batches.spec.num_classes)
    assert again is labels
    plain = PreparedBatches(celebamask_prepared, "val", batch_size=2, one_hot=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(images), plain[0][0], atol=1e-6)

"""Pictures: grids of images and overlays (what the notebooks show)."""

from __future__ import annotations

import numpy as np

from facecolab.evaluate import ItemPrediction
from facecolab.viz import MIN_TILE_HEIGHT, prediction_grid, sample_grid, tile


def test_tile_scales_to_one_height():
    rows = [
        [np.zeros((10, 20, 3), np.uint8), np.full((20, 20), 255, np.uint8)],
        [np.zeros((10, 5, 3), np.uint8)],
    ]
    picture = np.asarray(tile(rows, gap=2, height=10))
    assert picture.shape == (10 + 2 + 10, 20 + 2 + 10, 3)
    assert np.all(picture[:10, 22:] == 255) and np.all(picture[:10, :20] == 0)
    assert np.all(picture[12:, :5] == 0) and np.all(picture[12:, 5:] == 255)  # gap fill
    small = tile([[np.zeros((10, 20, 3), np.uint8)]])
    assert small.size == (2 * MIN_TILE_HEIGHT, MIN_TILE_HEIGHT)


def test_prediction_grid_brings_the_truth_to_its_photo():
    """A truth at half the photo's size (CelebAMask-HQ) is shown at the photo's."""
    image = np.zeros((MIN_TILE_HEIGHT, 2 * MIN_TILE_HEIGHT, 3), np.uint8)
    label = np.zeros(image.shape[:2], np.uint8)
    truth = np.ones((MIN_TILE_HEIGHT // 2, MIN_TILE_HEIGHT), np.uint8)
    palette = np.zeros((256, 3), np.uint8)
    palette[1] = 255
    grid = np.asarray(prediction_grid([ItemPrediction(None, image, label, truth)], palette))
    assert grid.shape == (3 * MIN_TILE_HEIGHT + 2 * 4, 2 * MIN_TILE_HEIGHT, 3)
    assert grid[-MIN_TILE_HEIGHT:].min() > 0  # the truth row: class 1 everywhere


def test_sample_grid_shows_images_over_overlays(celebamask_prepared):
    grid = np.asarray(sample_grid(celebamask_prepared, "train", count=3))
    assert grid.shape[0] == 2 * MIN_TILE_HEIGHT + 4

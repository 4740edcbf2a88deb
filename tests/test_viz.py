"""Pictures: grids of images and overlays (what the notebooks show)."""

from __future__ import annotations

import numpy as np
import pytest

from facecolab.data import get_spec
from facecolab.viz import (
    LEGEND_SWATCH,
    MIN_TILE_HEIGHT,
    display_range,
    history_figure,
    legend,
    plot_history,
    prediction_grid,
    sample_grid,
    tile,
)
from facecolab.workflows.evaluate import ItemPrediction


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
    with_names = np.asarray(
        prediction_grid([ItemPrediction(None, image, label, truth)], palette, ["bg", "face"])
    )
    assert with_names.shape[0] > grid.shape[0] and with_names.shape[1] == grid.shape[1]
    np.testing.assert_array_equal(with_names[: grid.shape[0]], grid)  # legend below the grid


def _has_colour(picture: np.ndarray, colour) -> bool:
    return bool(np.all(picture == np.asarray(colour, np.uint8), axis=-1).any())


def test_legend_shows_every_class_colour_in_columns_that_fit():
    spec = get_spec("celebamask_hq")  # 19 classes
    palette = spec.palette()
    wide = legend(spec.class_names, palette, width=1200)
    narrow = legend(spec.class_names, palette, width=200)
    assert wide.shape[1] == 1200 and narrow.shape[1] >= 200
    assert narrow.shape[0] > wide.shape[0] >= LEGEND_SWATCH  # fewer columns, more rows
    for picture in (wide, narrow):
        for class_id in range(1, spec.num_classes):
            assert _has_colour(picture, palette[class_id]), spec.class_names[class_id]
    skipped = legend(spec.class_names, palette, width=1200, skip=(0,))
    assert not _has_colour(skipped[2:-2, 2:-2], palette[0])  # no black: background swatch left out


@pytest.mark.parametrize(
    ("columns", "panels"),
    [
        (["epoch", "loss", "val_loss"], ["loss"]),
        (["epoch", "loss", "val_loss", "learning_rate"], ["loss", "learning rate"]),
        (["epoch", "loss", "iou", "val_iou", "lr"], ["loss", "iou", "learning rate"]),
    ],
)
def test_history_figure_adds_a_learning_rate_panel(columns, panels, tmp_path):
    rows = [{c: 0 if c == "epoch" else 1e-3 for c in columns}, {c: 1.0 for c in columns}]
    figure = history_figure(rows)
    assert [axes.get_title() for axes in figure.axes] == panels
    if "learning rate" in panels:
        assert figure.axes[-1].get_yscale() == "log"
    history = tmp_path / "history.csv"
    history.write_text(",".join(columns) + "\n" + "0," + ",".join(["0.5"] * (len(columns) - 1)))
    assert plot_history(history, tmp_path / "curves.png").is_file()
    assert plot_history(tmp_path / "none.csv", tmp_path / "no.png") is None


def test_sample_grid_shows_images_over_overlays(celebamask_prepared):
    plain = np.asarray(sample_grid(celebamask_prepared, "train", count=3, show_legend=False))
    assert plain.shape[0] == 2 * MIN_TILE_HEIGHT + 4
    grid = np.asarray(sample_grid(celebamask_prepared, "train", count=3))
    assert grid.shape[0] > plain.shape[0]  # the class legend below


@pytest.mark.parametrize(
    ("values", "expected_top"),
    [
        (np.r_[np.full(999, 0.01), 5.0], 0.01),  # one outlier saturates, the rest stays visible
        (np.linspace(0.0, 1.0, 101), 0.99),
        (np.r_[np.zeros(999), 0.3], 0.3),  # quantile 0: the maximum
        (np.zeros(10), np.finfo(np.float32).tiny),  # all zero: a valid, non-empty range
    ],
)
def test_uncertainty_display_range(values, expected_top):
    low, top = display_range(values)
    assert low == 0 and top == pytest.approx(expected_top, rel=1e-6) and top > low


def test_two_class_foregrounds_are_shown_in_a_colour_not_white():
    """White blended over a light photo vanishes: pictures paint a binary set's foreground in
    a saturated colour, while the spec's colours stay the mask files' black and white."""
    from facecolab.data.specs import BINARY_COLOURS, SHOWN_FOREGROUND, get_spec
    from facecolab.viz import overlay

    for name in ("portrait", "eg1800", "celeba_face"):
        spec = get_spec(name)
        assert spec.colours == BINARY_COLOURS
        assert tuple(spec.palette()[1]) == SHOWN_FOREGROUND
    light = np.full((4, 4, 3), 240, np.uint8)
    shown = overlay(light, np.ones((4, 4), np.uint8), get_spec("portrait").palette())
    assert np.ptp(shown[0, 0].astype(int)) > 80  # clearly coloured, not a paler grey

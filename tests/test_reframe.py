"""The second look at the people of a photo: box, window, and when it replaces the first pass."""

from __future__ import annotations

import numpy as np
import pytest

from facecolab.workflows.reframe import blend_weights, person_box, reframed, window_around


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([], None),
        ([(3, 4)], (3, 4, 4, 5)),
        ([(2, 7), (5, 1)], (2, 6, 1, 8)),  # two regions of one pixel: both as large
    ],
)
def test_person_box_bounds_every_true_pixel(cells, expected):
    mask = np.zeros((10, 12), bool)
    for row, col in cells:
        mask[row, col] = True
    assert person_box(mask) == expected


@pytest.mark.parametrize(
    ("speck", "min_region_share", "expected"),
    [
        ((slice(18, 20), slice(0, 5)), 0.2, (10, 20, 30, 40)),  # 10 px < 0.2 × 100: left out
        ((slice(18, 20), slice(0, 5)), 0.1, (10, 20, 0, 40)),  # 10 px = 0.1 × 100: framed
        ((slice(18, 20), slice(0, 5)), 0.0, (10, 20, 0, 40)),  # every true pixel
        ((slice(0, 5), slice(0, 5)), 0.2, (0, 20, 0, 40)),  # 25 px: a second person
        # one pixel touching the person at a corner only is part of it (8-connected)
        ((slice(9, 10), slice(29, 30)), 0.2, (9, 20, 29, 40)),
    ],
)
def test_person_box_leaves_out_specks_far_smaller_than_the_largest_region(
    speck, min_region_share, expected
):
    mask = np.zeros((20, 50), bool)
    mask[10:20, 30:40] = True  # the person: 100 px
    mask[speck] = True
    assert person_box(mask, min_region_share) == expected


@pytest.mark.parametrize(
    ("box", "image_hw", "shapes", "margin", "expected"),
    [
        # a tall box, a portrait input: margin 0.25 of 40 on each side, widened to 4:3
        ((100, 140, 100, 120), (400, 600), [(256, 192)], 0.25, (90, 150, 88, 133)),
        # a wide box picks the turned input when the model can turn
        ((100, 120, 100, 140), (400, 600), [(256, 192), (192, 256)], 0.25, (88, 133, 90, 150)),
        # ... and is made tall when it cannot
        ((100, 120, 100, 140), (400, 600), [(256, 192)], 0.0, (84, 137, 100, 140)),
        # near a corner: moved inside the photo, not shrunk
        ((0, 40, 0, 20), (400, 600), [(256, 192)], 0.25, (0, 60, 0, 45)),
        # larger than the photo: clipped to it
        ((0, 100, 0, 10), (100, 50), [(1, 1)], 0.25, (0, 100, 0, 50)),
        # sizes ending in .5 against the far edges still reach them
        ((223, 281, 467, 545), (281, 699), [(256, 192), (192, 256)], 0.0, (223, 281, 467, 545)),
        ((72, 99, 10, 14), (99, 600), [(256, 192)], 0.25, (59, 99, 0, 30)),
        ((0, 1, 0, 1), (1, 1), [(256, 192)], 0.25, (0, 1, 0, 1)),  # a one-pixel photo
    ],
)
def test_window_around_the_box(box, image_hw, shapes, margin, expected):
    window = window_around(box, image_hw, shapes, margin)
    assert window == expected
    top, bottom, left, right = window
    assert top <= box[0] and bottom >= box[1] and left <= box[2] and right >= box[3]


def _seen_by(calls):
    """A stand-in model: P(person) 1 on pure red pixels, recording each photo's size."""

    def probability(photo):
        calls.append(photo.shape[:2])
        return (photo[..., 0] == 255).astype(np.float32)

    return probability


def test_a_small_person_is_looked_at_again_inside_its_window():
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[200:240, 300:320, 0] = 255
    calls = []
    result = reframed(_seen_by(calls), photo, [(256, 192)])
    assert calls == [(300, 400), (60, 45)]  # the whole photo, then the window around the box
    np.testing.assert_array_equal(result, photo[..., 0] == 255)
    assert result.dtype == np.float32


@pytest.mark.parametrize(
    ("window", "image_hw", "rows", "cols"),
    [
        # inside the photo: every edge fades over the feather
        ((10, 16, 20, 25), (40, 40), [0.5, 1, 1, 1, 1, 0.5], [0.5, 1, 1, 1, 0.5]),
        # at the photo's top and left border: no fade there
        ((0, 6, 0, 5), (40, 40), [1, 1, 1, 1, 1, 0.5], [1, 1, 1, 1, 0.5]),
        # the whole photo: nothing fades
        ((0, 3, 0, 2), (3, 2), [1, 1, 1], [1, 1]),
    ],
)
def test_blend_weights_fade_only_at_inner_edges(window, image_hw, rows, cols):
    weights = blend_weights(window, image_hw, feather=2)
    np.testing.assert_allclose(weights, np.minimum.outer(rows, cols))


def test_the_second_pass_replaces_the_first_inside_the_window_only():
    first = np.zeros((300, 400), np.float32)
    first[200:240, 300:320] = 1

    def probability(photo):
        if photo.shape[:2] == first.shape:
            return first
        return np.full(photo.shape[:2], 0.25, np.float32)

    result = reframed(probability, np.zeros((300, 400, 3), np.uint8), [(256, 192)])
    window = (190, 250, 288, 333)  # window_around((200, 240, 300, 320), ...)
    inside = np.zeros(first.shape, bool)
    inside[190:250, 288:333] = True
    expected = first[inside].reshape(60, 45)
    expected += blend_weights(window, first.shape) * (0.25 - expected)
    np.testing.assert_allclose(result[190:250, 288:333], expected, atol=1e-6)
    assert np.all(result[~inside] == 0) and np.all(result[200:240, 300:320] == 0.25)
    assert first.sum() == 40 * 20  # the first pass itself is not written over


@pytest.mark.parametrize(
    ("people", "passes"),
    [
        ([], 1),  # nobody found: nothing to frame
        ([(slice(10, 290), slice(50, 350))], 1),  # the window would cover most of the photo
        ([(slice(100, 160), slice(100, 140))], 2),
        # a speck across the photo does not stretch the window over it
        ([(slice(100, 160), slice(300, 340)), (slice(280, 285), slice(0, 5))], 2),
        # a second person there does
        ([(slice(100, 160), slice(300, 340)), (slice(230, 290), slice(0, 40))], 1),
    ],
)
def test_the_second_pass_runs_only_where_it_can_help(people, passes):
    photo = np.zeros((300, 400, 3), np.uint8)
    for person in people:
        photo[person + (0,)] = 255
    calls = []
    reframed(_seen_by(calls), photo, [(256, 192)])
    assert len(calls) == passes

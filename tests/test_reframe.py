"""The second look at the people of a photo: box, window, and when it replaces the first pass."""

from __future__ import annotations

import numpy as np
import pytest

from facecolab.workflows.reframe import person_box, reframed, window_around


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([], None),
        ([(3, 4)], (3, 4, 4, 5)),
        ([(2, 7), (5, 1)], (2, 6, 1, 8)),
    ],
)
def test_person_box_bounds_every_true_pixel(cells, expected):
    mask = np.zeros((10, 12), bool)
    for row, col in cells:
        mask[row, col] = True
    assert person_box(mask) == expected


@pytest.mark.parametrize(
    ("box", "image_hw", "shapes", "margin", "expected"),
    [
        # a tall box, a portrait input: margin 0.25 of 40 on each side, widened to 4:3
        ((100, 140, 100, 120), (400, 600), [(256, 192)], 0.25, (90, 150, 88, 133)),
        # a wide box picks the turned input when the model can turn
        ((100, 120, 100, 140), (400, 600), [(256, 192), (192, 256)], 0.25, (88, 133, 90, 150)),
        # ... and is made tall when it cannot
        ((100, 120, 100, 140), (400, 600), [(256, 192)], 0.0, (83, 136, 100, 140)),
        # near a corner: moved inside the photo, not shrunk
        ((0, 40, 0, 20), (400, 600), [(256, 192)], 0.25, (0, 60, 0, 45)),
        # larger than the photo: clipped to it
        ((0, 100, 0, 10), (100, 50), [(1, 1)], 0.25, (0, 100, 0, 50)),
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


def test_the_second_pass_replaces_the_first_inside_the_window_only():
    first = np.zeros((300, 400), np.float32)
    first[200:240, 300:320] = 1

    def probability(photo):
        if photo.shape[:2] == first.shape:
            return first
        return np.full(photo.shape[:2], 0.25, np.float32)

    result = reframed(probability, np.zeros((300, 400, 3), np.uint8), [(256, 192)])
    window = np.zeros(first.shape, bool)
    window[190:250, 288:333] = True  # window_around((200, 240, 300, 320), ...)
    assert np.all(result[window] == 0.25) and np.all(result[~window] == 0)
    assert first.sum() == 40 * 20  # the first pass itself is not written over


@pytest.mark.parametrize(
    ("person", "passes"),
    [
        (None, 1),  # nobody found: nothing to frame
        ((slice(10, 290), slice(50, 350)), 1),  # the window would cover most of the photo
        ((slice(100, 160), slice(100, 140)), 2),
    ],
)
def test_the_second_pass_runs_only_where_it_can_help(person, passes):
    photo = np.zeros((300, 400, 3), np.uint8)
    if person is not None:
        photo[person + (0,)] = 255
    calls = []
    reframed(_seen_by(calls), photo, [(256, 192)])
    assert len(calls) == passes

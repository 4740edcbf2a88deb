"""The one augmentation definition (``facecolab.data.augment``): its geometry and colour
steps, checked on the test process's backend, and the same parameters giving the same batch
on every Keras backend installed (TensorFlow here, JAX in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_pipeline import CLASS_COLOURS, colour_coded_items

from facecolab.constants import IGNORE_INDEX
from facecolab.data.augment import (
    IDENTITY,
    INDEX,
    PARAMS,
    AugmentConfig,
    apply_params,
    draw_params,
    geometry_transform,
)
from facecolab.data.specs import get_spec

REPO = Path(__file__).resolve().parents[1]
LUT = get_spec("celebamask_hq").flip_lut()
EVERYTHING = AugmentConfig(
    hflip=True, scale=(0.6, 1.3), rotate=25, brightness=0.3, saturation=0.3, blur=0.5, noise=0.05
)


def run(images, labels, params, config=None):
    out_images, out_labels = apply_params(images, labels, params, LUT, config)
    return np.asarray(out_images), np.asarray(out_labels)


def test_identity_parameters_change_nothing():
    images, labels = colour_coded_items(3, size=32)
    images, labels = np.stack(images), np.stack(labels)
    params = np.stack([IDENTITY] * 3)
    out_images, out_labels = run(images, labels, params)
    np.testing.assert_allclose(out_images, images / 255, atol=1e-6)
    np.testing.assert_array_equal(out_labels, labels)
    assert out_images.dtype == np.float32 and out_labels.dtype == np.int32


@pytest.mark.parametrize(
    ("zoom", "degrees", "shift", "flip", "point", "expected"),
    [
        (1.0, 0.0, (0, 0), False, (3, 5), (3, 5)),
        (1.0, 0.0, (0, 0), True, (0, 5), (9, 5)),
        (2.0, 0.0, (0, 0), False, (0, 0), (2.25, 2.25)),
        (1.0, 90.0, (0, 0), False, (9, 0), (9, 9)),
        (1.0, 0.0, (2, -1), False, (4, 4), (6, 3)),
    ],
    ids=["identity", "mirror", "zoom-in", "quarter-turn", "shift"],
)
def test_geometry_transform_maps_output_pixels_to_input_points(
    zoom, degrees, shift, flip, point, expected
):
    """Output ``(x, y)`` of a 10×10 image samples the input at ``expected``."""
    a0, a1, a2, b0, b1, b2, _, _ = geometry_transform((10, 10), zoom, degrees, shift, flip)
    x, y = point
    np.testing.assert_allclose((a0 * x + a1 * y + a2, b0 * x + b1 * y + b2), expected, atol=1e-5)


def test_a_mirror_swaps_left_and_right_classes():
    label = np.zeros((1, 8, 8), np.uint8)
    label[0, 2, 1], label[0, 5, 6] = 4, 7  # l_eye on the image's left, r_brow on its right
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(1, 8, 8, 3)
    params = IDENTITY.copy()
    params[:8] = geometry_transform((8, 8), flip=True)
    params[INDEX["flip"]] = 1
    out_image, out_label = run(image, label, params[None])
    np.testing.assert_allclose(out_image[0], image[0, :, ::-1] / 255, atol=1e-6)
    assert out_label[0, 2, 6] == 5 and out_label[0, 5, 1] == 6  # r_eye, l_brow


@pytest.mark.parametrize("config", [AugmentConfig(scale=(0.3, 0.5)), EVERYTHING])
def test_masks_stay_nearest_neighbour_and_aligned(config):
    images, labels = colour_coded_items(6, size=64, seed=5)
    images, labels = np.stack(images), np.stack(labels)
    rng = np.random.default_rng(0)
    params = np.stack([draw_params(rng, config, (64, 64)) for _ in images])
    out_images, out_labels = run(images, labels, params, config)
    lfw = get_spec("lfw_parts").flip_lut()
    assert set(np.unique(out_labels)) <= {0, 1, 2, IGNORE_INDEX} | set(lfw[:3])
    kept = out_labels != IGNORE_INDEX
    assert (~kept).any(), "zooming out leaves an ignored border"
    distance = np.linalg.norm(out_images[..., None, :] * 255 - CLASS_COLOURS, axis=-1)
    pure = kept & (distance.min(-1) < 60)
    agreement = (distance.argmin(-1)[pure] == out_labels[pure]).mean()
    assert agreement > 0.99, f"{agreement:.2%} of pixels keep their label's colour"


def test_colour_steps_leave_labels_and_range_alone():
    images, labels = colour_coded_items(4, size=32)
    images, labels = np.stack(images), np.stack(labels)
    config = AugmentConfig(brightness=0.5, saturation=0.5, blur=1.0, noise=0.1)
    rng = np.random.default_rng(1)
    params = np.stack([draw_params(rng, config, (32, 32)) for _ in images])
    out_images, out_labels = run(images, labels, params, config)
    np.testing.assert_array_equal(out_labels, labels)
    assert out_images.min() >= 0.0 and out_images.max() <= 1.0
    assert np.abs(out_images - images / 255).mean() > 0.01


def test_noise_has_the_drawn_spread():
    image = np.full((1, 64, 64, 3), 128, np.uint8)
    params = IDENTITY.copy()
    params[INDEX["noise"]], params[INDEX["noise_phase"]] = 0.05, 17.0
    out, _ = run(image, np.zeros((1, 64, 64), np.uint8), params[None], AugmentConfig(noise=0.05))
    residual = out - 128 / 255
    assert abs(residual.mean()) < 0.005
    assert 0.04 < residual.std() < 0.06


def test_draws_are_a_function_of_the_generator():
    first = draw_params(np.random.default_rng(7), EVERYTHING, (64, 64))
    again = draw_params(np.random.default_rng(7), EVERYTHING, (64, 64))
    other = draw_params(np.random.default_rng(8), EVERYTHING, (64, 64))
    assert first.shape == (len(PARAMS),)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


CROSS_BACKEND = """
import json, sys
import numpy as np
from facecolab.data.augment import apply_params, draw_params, AugmentConfig
from facecolab.data.specs import get_spec
config = AugmentConfig(**json.loads(sys.argv[1]))
rng = np.random.default_rng(3)
images = rng.integers(0, 256, (4, 48, 40, 3), dtype=np.uint8)
labels = rng.integers(0, 19, (4, 48, 40), dtype=np.uint8)
params = np.stack([draw_params(rng, config, (48, 40)) for _ in images])
out = apply_params(images, labels, params, get_spec("celebamask_hq").flip_lut(), config)
np.savez(sys.argv[2], images=np.asarray(out[0]), labels=np.asarray(out[1]))
"""


def test_every_backend_gives_the_same_batch(tmp_path):
    """The same draws through TensorFlow and JAX: labels identical but for a rare tie on a
    pixel boundary, images equal to float rounding."""
    pytest.importorskip("jax")
    settings = {
        "hflip": True,
        "scale": [0.7, 1.3],
        "rotate": 20,
        "brightness": 0.3,
        "saturation": 0.3,
        "blur": 0.5,
        "noise": 0.05,
    }
    outputs = {}
    for backend in ("tensorflow", "jax"):
        out = tmp_path / f"{backend}.npz"
        env = {**os.environ, "KERAS_BACKEND": backend}
        subprocess.run(
            [sys.executable, "-c", CROSS_BACKEND, json.dumps(settings), str(out)],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
        )
        outputs[backend] = np.load(out)
    tf_out, jax_out = outputs["tensorflow"], outputs["jax"]
    assert (tf_out["labels"] == jax_out["labels"]).mean() > 0.999
    same = tf_out["labels"] == jax_out["labels"]
    assert np.abs(tf_out["images"] - jax_out["images"])[same].max() < 2e-3


def person_batch(count=3, size=(48, 32)):
    """Flat scenes, each a distinct colour, with a pure red person block in the middle."""
    height, width = size
    images = np.zeros((count, height, width, 3), np.uint8)
    labels = np.zeros((count, height, width), np.uint8)
    for index in range(count):
        images[index] = (40 + 60 * index, 200 - 50 * index, 90)
        images[index, 12:36, 10:22] = (255, 0, 0)
        labels[index, 12:36, 10:22] = 1
    return images, labels


def test_a_background_swap_keeps_the_person_and_takes_no_person_from_the_scene():
    images, labels = person_batch()
    config = AugmentConfig(background=1.0)
    rng = np.random.default_rng(0)
    params = np.stack([draw_params(rng, config, (48, 32)) for _ in images])
    assert (params[:, INDEX["swap"]] == 1).all()
    out_images, out_labels = run(images, labels, params, config)
    np.testing.assert_array_equal(out_labels, labels)
    inner = (slice(None), slice(14, 34), slice(12, 20))  # the person, away from the seam
    red_person = np.broadcast_to([1.0, 0.0, 0.0], out_images[inner].shape)
    np.testing.assert_allclose(out_images[inner], red_person, atol=1e-6)
    background = labels == 0
    # Each background now shows the previous sample's scene colour, never the red person.
    for index in range(3):
        scene = images[index - 1, 0, 0] / 255
        far = background[index].copy()
        far[8:40, 6:26] = False  # away from the person and the filled hole
        np.testing.assert_allclose(
            out_images[index][far], np.broadcast_to(scene, (far.sum(), 3)), atol=0.02
        )
    red = (out_images[..., 0] > 0.9) & (out_images[..., 1] < 0.1)
    assert not red[background].any()


def test_empty_and_ignored_pixels_become_background_only_with_a_background_setting():
    images, labels = person_batch()
    labels[:, :4] = IGNORE_INDEX
    zoom_out = AugmentConfig(scale=(0.5, 0.5))
    rng = np.random.default_rng(0)
    params = np.stack([draw_params(rng, zoom_out, (48, 32)) for _ in images])
    _, plain = run(images, labels, params, zoom_out)
    assert (plain == IGNORE_INDEX).any()
    with_scenes = AugmentConfig(scale=(0.5, 0.5), background=1e-9)
    params = np.stack([draw_params(rng, with_scenes, (48, 32)) for _ in images])
    assert (params[:, INDEX["swap"]] == 0).all()
    out_images, filled = run(images, labels, params, with_scenes)
    assert not (filled == IGNORE_INDEX).any() and (filled == 1).any()
    assert out_images[filled == 0].max() > 0.1, "the border shows a scene, not black"


def test_translate_moves_the_person_past_the_centre_slack():
    config = AugmentConfig(translate=0.5)
    rng = np.random.default_rng(0)
    shifts = [abs(draw_params(rng, config, (100, 100))[2]) for _ in range(200)]
    assert max(shifts) > 40 and min(shifts) < 5

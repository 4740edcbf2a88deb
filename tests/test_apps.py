"""The apps: recolouring, face-parsing views, portrait letterbox/threshold/composite, webcam
frames, on tiny hand-weighted models whose answers are known."""

from __future__ import annotations

import sys

import keras
import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv
from PIL import Image

from facecolab.apps import face_parsing, inference, portrait, recolour, webcam
from facecolab.apps.inference import load_app_model, spec_for_model
from facecolab.data.imageio import read_grey, read_image
from facecolab.data.sample import render_face
from facecolab.data.specs import CELEBAMASK_HQ_CLASSES, HELEN_CLASSES, get_spec
from facecolab.modelfiles.runner import Runner
from facecolab.workflows import video

SIZE = 64
STEEPNESS = 40.0


def pixel_model(weights, bias, classes: int = 1, size: int = SIZE) -> keras.Model:
    """A 1×1 convolution with fixed weights: each output pixel depends on its input pixel
    only, so the right answer for any geometry is known. ``weights`` ``(3, classes)``."""
    inputs = keras.Input((size, size, 3))
    activation = "sigmoid" if classes == 1 else "softmax"
    conv = keras.layers.Conv2D(classes, 1, activation=activation)
    outputs = conv(inputs)
    conv.set_weights(
        [
            np.asarray(weights, np.float32).reshape(1, 1, 3, classes),
            np.asarray(bias, np.float32).reshape(classes),
        ]
    )
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def bright_model() -> keras.Model:
    """P(person) = sigmoid(40 · (mean RGB − 0.5)): bright pixels are the person."""
    return pixel_model(np.full((3, 1), STEEPNESS / 3), -STEEPNESS / 2)


@pytest.fixture(scope="module")
def red_model() -> keras.Model:
    """P(person) from the red channel only (tells RGB from BGR)."""
    return pixel_model([[STEEPNESS], [0.0], [0.0]], -STEEPNESS / 2)


@pytest.fixture(scope="module")
def three_class_path(tmp_path_factory):
    """A saved 3-class softmax model (LFW Part Labels' class count)."""
    model = pixel_model(np.eye(3) * 10, np.zeros(3), classes=3)
    path = tmp_path_factory.mktemp("models") / "three.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def face():
    """A drawn face (uint8 (96, 80, 3)) and its CelebAMask-HQ label map."""
    return render_face(seed=3, index=0, shape=(96, 80))


def cli(*args) -> list[str]:
    """A command line from paths and strings."""
    return [str(arg) for arg in args]


def circular_distance(a, b):
    return np.minimum(np.abs(a - b), 1 - np.abs(a - b))


# --- recolour -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("class_names", "part", "expected"),
    [
        (CELEBAMASK_HQ_CLASSES, "lips", (11, 12)),
        (CELEBAMASK_HQ_CLASSES, "hair", (13,)),
        (HELEN_CLASSES, "lips", (7, 9)),
        (HELEN_CLASSES, "hair", (10,)),
        (get_spec("lfw_parts").class_names, "hair", (2,)),
    ],
)
def test_part_class_ids_come_from_class_names(class_names, part, expected):
    assert recolour.part_class_ids(class_names, part) == expected


@pytest.mark.parametrize(
    ("names", "part"), [(("background", "skin", "hair"), "lips"), (CELEBAMASK_HQ_CLASSES, "nose")]
)
def test_part_class_ids_rejects_missing_parts(names, part):
    with pytest.raises(ValueError, match=part):
        recolour.part_class_ids(names, part)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#aa0033", (170, 0, 51)),
        ("AA0033", (170, 0, 51)),
        ("#a03", (170, 0, 51)),
        ((1, 2, 3), (1, 2, 3)),
    ],
)
def test_parse_colour(text, expected):
    assert recolour.parse_colour(text) == expected


@pytest.mark.parametrize("bad", ["red", "#12345", "#gg0033", (256, 0, 0), (1, 2)])
def test_parse_colour_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        recolour.parse_colour(bad)


def test_soft_mask_is_zero_outside_and_ramps_inside():
    label = np.zeros((20, 20), np.uint8)
    label[4:16, 4:16] = 7
    weight = recolour.soft_mask(label, [7], feather=3)
    assert np.all(weight[label != 7] == 0)
    assert weight[10, 10] == 1.0
    np.testing.assert_allclose(weight[4, 4:16].max(), 1 / 3)  # the border row
    np.testing.assert_allclose(weight[5, 6:14], 2 / 3)
    assert recolour.soft_mask(label, [7], feather=0)[label == 7].min() == 1.0


def test_gaussian_blur_keeps_constants_and_mass():
    constant = np.full((9, 11, 3), 0.25, np.float32)
    np.testing.assert_allclose(recolour.gaussian_blur(constant, 1.5), constant, atol=1e-6)
    spike = np.zeros((31, 31), np.float32)
    spike[15, 15] = 1
    blurred = recolour.gaussian_blur(spike, 2.0)
    assert blurred.sum() == pytest.approx(1.0, abs=1e-5)
    assert blurred[15, 15] < 0.1 and blurred[15, 15] == blurred.max()


@pytest.mark.parametrize(
    ("part", "target"),
    [
        ("lips", {"colour": "#aa0033"}),
        ("hair", {"colour": "#2060ff"}),
        ("hair", {"hue_shift": 120.0}),
        ("lips", {"colour": (0, 200, 0)}),
    ],
)
def test_recolour_changes_only_the_part_and_moves_its_hue(face, part, target):
    image, label = face
    ids = recolour.part_class_ids(CELEBAMASK_HQ_CLASSES, part)
    inside = np.isin(label, ids)
    assert inside.sum() > 20
    result = recolour.recolour(image, label, ids, strength=1.0, **target)

    assert result.shape == image.shape and result.dtype == np.uint8
    np.testing.assert_array_equal(result[~inside], image[~inside])
    assert (result[inside] != image[inside]).any(axis=-1).mean() > 0.5

    hue_before = rgb_to_hsv(image[inside] / 255.0)[:, 0]
    hue_after = rgb_to_hsv(result[inside] / 255.0)[:, 0]
    if "colour" in target:
        goal = rgb_to_hsv(np.asarray(recolour.parse_colour(target["colour"])) / 255.0)[0]
    else:
        goal = (hue_before + target["hue_shift"] / 360.0) % 1.0
    coloured = rgb_to_hsv(result[inside] / 255.0)[:, 1] > 0.15  # hue is defined there
    before = np.median(circular_distance(hue_before, goal)[coloured])
    after = np.median(circular_distance(hue_after, goal)[coloured])
    assert after < before and after < 0.05


def test_recolour_strength_zero_without_sharpening_is_identity(face):
    image, label = face
    result = recolour.recolour(image, label, (11, 12), colour="#00ff00", strength=0.0, sharpen=0.0)
    np.testing.assert_array_equal(result, image)


def test_recolour_without_the_part_returns_the_image(face):
    image, label = face
    assert not np.isin(label, [14]).any()
    np.testing.assert_array_equal(recolour.recolour(image, label, [14], colour="#fff"), image)


@pytest.mark.parametrize(
    "arguments", [{}, {"colour": "#fff", "hue_shift": 10.0}, {"colour": "#fff", "strength": 1.5}]
)
def test_recolour_rejects_bad_arguments(face, arguments):
    image, label = face
    with pytest.raises(ValueError):
        recolour.recolour(image, label, [11], **arguments)


# --- face parsing views -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "width_factor"), [("mask", 1), ("overlay", 1), ("side_by_side", 2), ("parts", None)]
)
def test_face_parsing_writes_each_view(tmp_path, face, three_class_path, view, width_factor):
    image_path = tmp_path / "face.png"
    Image.fromarray(face[0]).save(image_path)
    out = tmp_path / f"{view}.png"
    argv = cli("-i", image_path, "-m", three_class_path, "-v", view, "-o", out)
    assert face_parsing.main(argv) == 0
    picture = read_image(out)
    if view == "side_by_side":  # photo | mask, the legend below
        assert picture.shape[0] > 96 and picture.shape[1:] == (160, 3)
        assert (picture[96:] == 255).mean() > 0.5  # a white legend strip
    elif width_factor is not None:
        assert picture.shape == (96, 80 * width_factor, 3)
    else:
        assert picture.shape[0] > 50 and picture.shape[1] > 50
    if view == "mask":  # only the class colours of the (inferred) lfw_parts spec
        colours = {tuple(c) for c in np.unique(picture.reshape(-1, 3), axis=0)}
        assert colours <= {tuple(c) for c in get_spec("lfw_parts").colours}


def test_face_parsing_face_crop_labels_only_the_face_region(tmp_path, three_class_path):
    from skimage import data

    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.png")
    out = tmp_path / "mask.png"
    argv = cli("-i", tmp_path / "astronaut.png", "-m", three_class_path, "-v", "mask", "-o", out)
    assert face_parsing.main(argv) == 0  # face crop by default
    background = np.all(read_image(out) == get_spec("lfw_parts").colours[0], axis=-1)
    assert background.shape == (512, 512)
    assert background[-60:].all() and background[:, -60:].all()  # far from the face
    assert not background[100:200, 180:300].all()  # the face region is parsed


def test_face_parsing_labels_follow_the_model(face):
    model = pixel_model(np.eye(3) * 10, np.zeros(3), classes=3)
    image = np.zeros((40, 30, 3), np.uint8)
    image[:, :10, 0] = image[:, 10:20, 1] = image[:, 20:, 2] = 255
    label = inference.parse_face(model, image)
    assert label.shape == (40, 30)
    np.testing.assert_array_equal(label[:, 2:8], 0)
    np.testing.assert_array_equal(label[:, 12:18], 1)
    np.testing.assert_array_equal(label[:, 22:28], 2)


def test_face_parsing_rejects_unknown_view(face):
    image, label = face
    with pytest.raises(ValueError, match="view"):
        face_parsing.render(image, label, "hologram", get_spec("celebamask_hq").palette())


def test_face_parsing_names_a_missing_image(tmp_path, three_class_path, capsys):
    missing = tmp_path / "nope.jpg"
    assert face_parsing.main(cli("-i", missing, "-m", three_class_path)) == 2
    assert str(missing) in capsys.readouterr().err


def test_recolour_cli_writes_the_image(tmp_path, face):
    """A 19-class model that calls every pixel 'u_lip' recolours the whole photo."""
    weights = np.zeros((3, 19))
    bias = np.zeros(19)
    bias[11] = 10
    path = tmp_path / "lips.keras"
    pixel_model(weights, bias, classes=19).save(path)
    image_path = tmp_path / "face.png"
    Image.fromarray(face[0]).save(image_path)
    out = tmp_path / "red.png"
    argv = cli("-i", image_path, "-m", path, "--part", "lips", "--colour", "#ff0000", "-o", out)
    argv += ["--feather", "0", "--strength", "1"]
    assert recolour.main(argv) == 0
    hue = rgb_to_hsv(read_image(out) / 255.0)[..., 0]
    assert np.median(circular_distance(hue, 0.0)) < 0.03


def test_recolour_cli_without_the_part_says_so_and_writes_nothing(tmp_path, face, capsys):
    """A 19-class model that sees only skin: no hair to recolour is an error, not a silent
    copy of the photo."""
    bias = np.zeros(19)
    bias[1] = 10
    path = tmp_path / "skin.keras"
    pixel_model(np.zeros((3, 19)), bias, classes=19).save(path)
    image_path = tmp_path / "face.png"
    Image.fromarray(face[0]).save(image_path)
    out = tmp_path / "red.png"
    argv = cli("-i", image_path, "-m", path, "--part", "hair", "--colour", "#ff0000", "-o", out)
    assert recolour.main(argv + ["--no-face-crop"]) == 2
    assert "finds no hair in this photo" in capsys.readouterr().err
    assert not out.exists()


def test_spec_for_model_checks_the_class_count(three_class_path):
    model = pixel_model(np.eye(3), np.zeros(3), classes=3)
    assert spec_for_model(model).name == "lfw_parts"
    assert spec_for_model(pixel_model(np.ones((3, 1)), 0.0)) is None  # binary: ambiguous
    with pytest.raises(ValueError, match="19 classes"):
        spec_for_model(model, dataset="celebamask_hq")


def test_load_app_model_takes_the_dataset_from_the_run(tmp_path, bright_model):
    run = tmp_path / "run"
    run.mkdir()
    bright_model.save(run / "model_best.keras")
    (run / "config.json").write_text('{"data": {"dataset": "portrait"}}')
    runner, spec = load_app_model(run)
    assert spec.name == "portrait" and runner.input_size == (SIZE, SIZE)
    assert load_app_model(run / "model_best.keras", dataset="celeba_face")[1].name == "celeba_face"
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        load_app_model(tmp_path / "no_such_model.keras")


# --- portrait -----------------------------------------------------------------------------


def recording_runner(model):
    """A runner over ``model`` that remembers the batches it was fed."""
    seen = []

    def forward(batch):
        seen.append(np.asarray(batch))
        return model.predict_on_batch(batch)

    return Runner(forward, (SIZE, SIZE), 1, "keras"), seen


def test_portrait_letterboxes_and_restores(bright_model):
    image = np.zeros((32, 64, 3), np.uint8)  # landscape: 16 rows of padding above and below
    image[:, :40] = 230
    recorder, seen = recording_runner(bright_model)
    mask = inference.portrait_mask(recorder, image)

    (batch,) = seen
    assert batch.shape == (1, SIZE, SIZE, 3)
    assert np.all(batch[0, :16] == 0) and np.all(batch[0, 48:] == 0)
    np.testing.assert_allclose(batch[0, 16:48, :40], 230 / 255, atol=1e-6)
    assert mask.shape == (32, 64) and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, (image[..., 0] > 0).astype(np.uint8))


def test_portrait_reframes_a_small_person_at_the_input_size(bright_model):
    image = np.zeros((120, 160, 3), np.uint8)
    image[70:94, 100:112] = 230  # a small bright person
    recorder, seen = recording_runner(bright_model)
    mask = inference.portrait_mask(recorder, image, reframe=True)
    whole, window = seen
    assert whole.shape == window.shape == (1, SIZE, SIZE, 3)
    # the 36x36 window around the person fills the input: about 20 times its share of it
    assert (window[0, ..., 0] > 0.5).mean() > 5 * (whole[0, ..., 0] > 0.5).mean()
    np.testing.assert_array_equal(mask, (image[..., 0] > 0).astype(np.uint8))


@pytest.mark.parametrize(("threshold", "expected_share"), [(0.5, 0.5), (0.01, 1.0), (0.999, 0.0)])
def test_portrait_threshold(bright_model, threshold, expected_share):
    image = np.full((SIZE, SIZE, 3), int(0.45 * 255), np.uint8)  # P = sigmoid(-2) = 0.12
    image[:, SIZE // 2 :] = int(0.6 * 255)  # P = sigmoid(4) = 0.98
    mask = inference.portrait_mask(bright_model, image, threshold)
    assert mask.mean() == pytest.approx(expected_share)


def test_portrait_rejects_multiclass_models(three_class_path):
    model = keras.saving.load_model(three_class_path)
    with pytest.raises(ValueError, match="binary"):
        inference.portrait_mask(model, np.zeros((SIZE, SIZE, 3), np.uint8))


def test_composite_backgrounds(face, tmp_path):
    image = face[0]
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[20:70, 15:60] = 1
    person = mask.astype(bool)

    white = portrait.composite(image, mask, "white")
    np.testing.assert_array_equal(white[person], image[person])
    assert np.all(white[~person] == 255)

    blurred = portrait.composite(image, mask, "blur")
    np.testing.assert_array_equal(blurred[person], image[person])
    assert np.abs(blurred[~person].astype(int) - image[~person]).mean() > 1

    backdrop = np.zeros((10, 30, 3), np.uint8)
    backdrop[..., 2] = 200
    Image.fromarray(backdrop).save(tmp_path / "blue.png")
    for background in (backdrop, str(tmp_path / "blue.png"), (0, 0, 200)):
        result = portrait.composite(image, mask, background)
        assert np.all(result[~person] == (0, 0, 200))

    half = portrait.composite(image, np.full(image.shape[:2], 0.5), "white")
    np.testing.assert_allclose(half, (image.astype(float) + 255) / 2, atol=1)

    cut = portrait.composite(image, mask, "transparent")
    assert cut.shape == (*image.shape[:2], 4) and cut.dtype == np.uint8
    np.testing.assert_array_equal(cut[person, :3], image[person])
    assert not cut[~person].any(), "nothing of the photo where nothing shows"
    np.testing.assert_array_equal(cut[..., 3], mask * 255)
    soft = portrait.composite(image, np.full(image.shape[:2], 0.5), "transparent")
    assert np.all(soft[..., 3] == 128)
    np.testing.assert_array_equal(soft[..., :3], image)  # a soft edge keeps its colour


def test_the_blurred_background_takes_no_colour_from_the_person():
    image = np.full((80, 80, 3), 128, np.uint8)
    image[20:60, 30:50] = (255, 0, 0)  # a red person on grey
    mask = np.zeros((80, 80), np.float32)
    mask[20:60, 30:50] = 1
    blurred = portrait.composite(image, mask, "blur")
    beside = blurred[20:60, 25:30]  # background pixels next to the person
    np.testing.assert_allclose(beside, 128, atol=2)
    np.testing.assert_array_equal(blurred[20:60, 30:50], image[20:60, 30:50])
    plain = portrait.make_background(image, "blur")[20:60, 25:30]
    assert plain[..., 0].mean() > 140, "a plain blur would tint it red"


def test_composite_rejects_a_mask_of_another_size(face):
    with pytest.raises(ValueError, match="sizes differ"):
        portrait.composite(face[0], np.zeros((5, 5)), "white")


def _bright_photo_and_model(folder, bright_model):
    """``(photo uint8 (50, 90, 3), its PNG, the saved model)``: a bright square on grey."""
    model_path = folder / "portrait.keras"
    bright_model.save(model_path)
    image = np.full((50, 90, 3), 40, np.uint8)
    image[10:40, 30:60] = 240
    Image.fromarray(image).save(folder / "photo.png")
    return image, folder / "photo.png", model_path


def test_portrait_cli_writes_composite_and_mask(tmp_path, bright_model):
    image, _, model_path = _bright_photo_and_model(tmp_path, bright_model)
    out = tmp_path / "out.png"
    argv = cli("-i", tmp_path / "photo.png", "-m", model_path, "-o", out, "--background", "white")
    assert portrait.main(argv) == 0
    mask = read_grey(tmp_path / "out_mask.png")
    np.testing.assert_array_equal(mask, np.where(image[..., 0] > 128, 255, 0))
    result = read_image(out)
    assert np.all(result[mask == 0] == 255)
    np.testing.assert_array_equal(result[mask == 255], image[mask == 255])


def test_portrait_cli_cuts_the_person_out_onto_transparency(tmp_path, bright_model):
    _, _, model_path = _bright_photo_and_model(tmp_path, bright_model)
    out = tmp_path / "cut.webp"
    argv = cli("-i", tmp_path / "photo.png", "-m", model_path, "-o", out)
    assert portrait.main([*argv, "--background", "transparent"]) == 0
    with Image.open(out) as picture:
        assert picture.mode == "RGBA"
        cut = np.asarray(picture)
    np.testing.assert_array_equal(cut[..., 3], read_grey(tmp_path / "cut_mask.png"))
    assert cut[..., 3].max() == 255 and cut[..., 3].min() == 0


def test_portrait_cli_refuses_an_unknown_background_before_the_model(tmp_path, capsys):
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "photo.png")
    out = tmp_path / "out.png"
    argv = cli("-i", tmp_path / "photo.png", "-m", tmp_path / "never_loaded.keras", "-o", out)
    assert portrait.main([*argv, "--background", "blue"]) == 2
    err = capsys.readouterr().err
    assert "blue: --background is blur, white, transparent or an image file" in err
    assert "never_loaded" not in err and not out.exists()


@pytest.mark.parametrize("name", ["cut.jpg", "cut.bmp", "cut"])
def test_portrait_cli_refuses_transparency_in_a_format_without_it(
    tmp_path, bright_model, capsys, name
):
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "photo.png")
    out = tmp_path / name
    argv = cli("-i", tmp_path / "photo.png", "-m", tmp_path / "never_loaded.keras", "-o", out)
    assert portrait.main([*argv, "--background", "transparent"]) == 2
    assert "cannot keep transparency" in capsys.readouterr().err
    assert not out.exists() and not portrait.mask_path(out).exists()


# --- webcam -------------------------------------------------------------------------------


def test_person_alpha_is_soft_and_full_size(red_model):
    frame = np.zeros((48, 80, 3), np.uint8)
    frame[:, :40, 0] = 250  # red: the person for a red detector
    frame[:, 40:, 0] = 128  # P = sigmoid(40 · (0.502 − 0.5)) ≈ 0.52: the edge is soft
    alpha = inference.person_alpha(red_model, frame)
    assert alpha.shape == (48, 80) and alpha.dtype == np.float32
    assert np.all(alpha[:, :36] > 0.99)
    assert np.all((alpha[:, 44:] > 0.4) & (alpha[:, 44:] < 0.6))


def test_person_alpha_rejects_bad_frames(red_model):
    with pytest.raises(ValueError, match="uint8"):
        inference.person_alpha(red_model, np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize(
    ("mode", "outside"),
    [("replace", (0, 0, 200)), ("cutout", webcam.CUTOUT_GREEN), ("mask", (0, 0, 0))],
)
def test_render_modes(face, mode, outside):
    image = face[0]
    alpha = np.zeros(image.shape[:2], np.float32)
    alpha[20:70, 15:60] = 1
    shown = webcam.render(image, alpha, mode, background=(0, 0, 200))
    assert shown.shape == image.shape and shown.dtype == np.uint8
    assert np.all(shown[alpha == 0] == outside)
    inside = (255, 255, 255) if mode == "mask" else image[alpha == 1]
    np.testing.assert_array_equal(
        shown[alpha == 1], np.broadcast_to(inside, shown[alpha == 1].shape)
    )


def test_render_blur_and_frame_rate(face):
    image = face[0]
    alpha = np.zeros(image.shape[:2], np.float32)
    blurred = webcam.render(image, alpha, "blur")
    assert np.abs(blurred.astype(int) - image).mean() > 1
    labelled = webcam.render(image, alpha, "blur", fps=29.7)
    assert (blurred[:16, :40] != labelled[:16, :40]).any()
    np.testing.assert_array_equal(blurred[30:], labelled[30:])
    with pytest.raises(ValueError, match="mode must be one of"):
        webcam.render(image, alpha, "sepia")


@pytest.mark.parametrize(
    ("alpha", "masks", "expected"),
    [
        (0.0, [1.0, 0.0], [1.0, 0.0]),  # off: each frame's own mask
        (0.5, [1.0, 0.0, 0.0], [1.0, 0.5, 0.25]),
        (0.75, [0.0, 1.0, 1.0], [0.0, 0.25, 0.4375]),
    ],
)
def test_mask_smoother_is_an_exponential_moving_average(alpha, masks, expected):
    smoother = webcam.MaskSmoother(alpha)
    shown = [float(smoother.update(np.full((2, 3), m))[0, 0]) for m in masks]
    assert shown == pytest.approx(expected)


def test_mask_smoother_restarts_on_a_new_frame_size_and_checks_alpha():
    smoother = webcam.MaskSmoother(0.5)
    smoother.update(np.ones((2, 2)))
    np.testing.assert_array_equal(smoother.update(np.zeros((3, 3))), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        webcam.MaskSmoother(1.0)


DARK, BRIGHT = (0, 20, 40), (0, 220, 100)  # scenes with no red: red_model's background


def scene(colour, person_left: bool) -> tuple[np.ndarray, np.ndarray]:
    """A 48×64 frame of ``colour`` with a red person block low on one side (below the
    rendered frame-rate label), and its mask."""
    frame = np.full((48, 64, 3), colour, np.uint8)
    mask = np.zeros((48, 64), np.float32)
    columns = slice(4, 24) if person_left else slice(40, 60)
    frame[26:44, columns] = (255, 0, 0)
    mask[26:44, columns] = 1
    return frame, mask


@pytest.mark.parametrize(
    ("second", "restarts"),
    [
        (scene(BRIGHT, person_left=False), True),  # a cut to another scene: no ghost
        (scene(DARK, person_left=False), False),  # the person moved, the scene stayed
    ],
    ids=["cut", "same-scene"],
)
def test_mask_smoother_restarts_on_a_scene_cut_only(second, restarts):
    smoother = webcam.MaskSmoother(0.5)
    first_frame, first_mask = scene(DARK, person_left=True)
    smoother.update(first_mask, first_frame)
    frame, mask = second
    shown = smoother.update(mask, frame)
    ghost = shown[26:44, 4:24].max()
    assert (ghost == 0) == restarts
    if not restarts:
        assert ghost == pytest.approx(0.5)


def test_webcam_on_a_video_with_a_cut_leaves_no_ghost(red_model, tmp_path):
    """A generated video: 6 frames of one scene, a cut, 6 of another; the first frame after
    the cut shows none of the last scene's person."""
    cv2 = pytest.importorskip("cv2")
    path = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for index in range(12):
        frame, _ = scene(DARK, person_left=True) if index < 6 else scene(BRIGHT, person_left=False)
        writer.write(frame[..., ::-1])
    writer.release()
    written = []
    sink = type("Sink", (), {"write": lambda self, frame: written.append(frame)})()
    inference.run(red_model, video.open_source(str(path)), "mask", smoothing=0.9, sink=sink)
    assert len(written) == 12
    before, after = written[5][29:41, 7:21], written[6][29:41, 7:21]  # the old person's place
    assert before.min() > 200 and after.max() < 30


def test_frame_rate_is_smoothed():
    times = iter([0.0, 0.1, 0.2, 0.25])
    rate = webcam.FrameRate(smoothing=0.5, clock=lambda: next(times))
    assert rate.tick() is None
    assert rate.tick() == pytest.approx(10.0)
    assert rate.tick() == pytest.approx(10.0)
    assert rate.tick() == pytest.approx(15.0)  # 0.5 · 10 + 0.5 · 20


def test_run_measures_the_frame_rate_and_writes_every_frame(red_model):
    ticks = iter(np.arange(0.0, 100.0, 0.01))  # every clock read advances 10 ms
    frames = [np.full((24, 32, 3), value, np.uint8) for value in (0, 255, 0, 255)]
    written = []
    sink = type("Sink", (), {"write": lambda self, frame: written.append(frame)})()
    summary = inference.run(
        red_model, frames, "mask", smoothing=0.0, sink=sink, clock=lambda: next(ticks)
    )
    assert summary.frames == 4 and len(written) == 4
    assert summary.seconds == pytest.approx(0.13)  # start, 3 reads per frame, end
    assert summary.fps == pytest.approx(4 / 0.13)
    assert summary.segment_seconds == pytest.approx(0.04)
    assert "FPS measured" in str(summary)
    assert (
        written[1][20:, :].min() == 255 and written[2][20:, :].max() == 0
    )  # mask, below the label
    assert inference.run(red_model, frames, max_frames=2).frames == 2


def test_missing_opencv_says_how_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` fail
    with pytest.raises(ImportError, match="pip install opencv-python"):
        video.require_cv2("reading a camera")
    assert webcam.main(["-m", str(tmp_path / "model.keras")]) == 2
    assert "camera needs OpenCV: pip install opencv-python" in capsys.readouterr().err


def test_face_uncertainty_samples_the_framed_face_at_the_model_size():
    from skimage import data

    from facecolab.models import build_model
    from facecolab.workflows.faces import FRAMINGS
    from facecolab.workflows.uncertainty import face_uncertainty

    keras.utils.set_random_seed(0)
    model = build_model(
        "unet", (48, 40, 3), 3, depth=2, base_filters=4, dropout=0.5, mc_dropout=True
    )
    crop, result = face_uncertainty(model, data.astronaut(), FRAMINGS["lfw_parts"], samples=4)
    assert crop.shape == (48, 40, 3) and crop.dtype == np.uint8
    assert result.mean.shape == (1, 48, 40, 3) and result.samples == 4
    assert result.mutual_information.max() > 0  # the dropout samples differ
    plain = build_model("unet", (48, 40, 3), 3, depth=2, base_filters=4)
    with pytest.raises(ValueError, match="dropout"):
        face_uncertainty(plain, data.astronaut(), FRAMINGS["lfw_parts"], samples=2)

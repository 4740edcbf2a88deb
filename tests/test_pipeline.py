"""tf.data pipeline: shapes and ranges, determinism, and augmentations that keep image and label
map aligned (flip swaps left/right ids, geometry moves both alike, photometric ones leave the
labels alone)."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

tf = pytest.importorskip("tensorflow")

from facecolab.constants import IGNORE_INDEX  # noqa: E402
from facecolab.data.augment import AugmentConfig  # noqa: E402
from facecolab.data.prepare import PrepareOptions, dataset_spec, prepare  # noqa: E402
from facecolab.data.sample import write_sample  # noqa: E402
from facecolab.data.specs import get_spec  # noqa: E402
from facecolab.data.tf_pipeline import make_dataset  # noqa: E402

SIZE = 64
ALL_AUGMENTATIONS = AugmentConfig(
    hflip=True, scale=(0.7, 1.3), rotate=25, brightness=0.3, jpeg_quality=(20, 60)
)
# Colour of each class in the synthetic "colour = label" set: far apart, none near black
# (the fill of padded and rotated-in pixels).
CLASS_COLOURS = np.array([(220, 220, 220), (220, 40, 40), (40, 40, 220)], dtype=np.float32)


def write_prepared(root, images, labels, dataset="lfw_parts"):
    """A prepared folder (the layout ``prepare`` writes) from arrays; images are stored as
    near-lossless JPEG (quality 100, no chroma subsampling) so colours survive."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "splits").mkdir()
    keys = [f"item{i}" for i in range(len(images))]
    for key, image, label in zip(keys, images, labels, strict=True):
        Image.fromarray(image).save(root / "images" / f"{key}.jpg", quality=100, subsampling=0)
        Image.fromarray(label).save(root / "labels" / f"{key}.png")
    (root / "splits" / "train.txt").write_text("\n".join(keys) + "\n")
    info = {"spec": get_spec(dataset).to_dict(), "size": list(labels[0].shape)}
    (root / "dataset.json").write_text(json.dumps(info))
    return root


def colour_coded_items(count: int, size: int = 128, seed: int = 0):
    """Images whose colour encodes their label: asymmetric blobs of classes 1 and 2 on 0."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(count):
        label = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(label)
        for class_id in (1, 2, 1):
            x0, y0 = rng.integers(0, size * 2 // 3, 2)
            width, height = rng.integers(size // 6, size // 3, 2)
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((x0, y0, x0 + width, y0 + height), fill=class_id)
        label = np.asarray(label)
        images.append(CLASS_COLOURS[label].astype(np.uint8))
        labels.append(label)
    return images, labels


def batches(dataset):
    """All ``(image, label)`` numpy pairs of one pass, unbatched."""
    pairs = []
    for images, labels in dataset:
        pairs += list(zip(images.numpy(), labels.numpy(), strict=True))
    return pairs


def epochs(dataset, count: int):
    return [batches(dataset) for _ in range(count)]


def unaugmented_and_augmented(prepared, augment_config: AugmentConfig):
    """The train split's batches of 4 as numpy without augmentation, and the same batches in
    the same order (not shuffled) as a dataset with ``augment_config``: each epoch's batch i
    pairs with ``originals[i]``."""
    originals = batches(make_dataset(prepared, "train", batch_size=4))
    augmented = make_dataset(
        prepared, "train", batch_size=4, shuffle=False, augment_config=augment_config
    )
    return originals, augmented


def test_batches_have_documented_shapes_dtypes_and_ranges(celebamask_prepared):
    classes = dataset_spec(celebamask_prepared).num_classes
    dataset = make_dataset(
        celebamask_prepared, "train", batch_size=4, augment_config=ALL_AUGMENTATIONS
    )
    sizes = []
    for images, labels in dataset:
        assert images.dtype == tf.float32 and labels.dtype == tf.int32
        assert images.shape[1:] == (SIZE, SIZE, 3) and labels.shape[1:] == (SIZE, SIZE)
        assert images.shape[0] == labels.shape[0]
        assert float(tf.reduce_min(images)) >= 0.0 and float(tf.reduce_max(images)) <= 1.0
        values = set(np.unique(labels.numpy()).tolist())
        assert values <= set(range(classes)) | {IGNORE_INDEX}
        sizes.append(int(images.shape[0]))
    train_count = len((celebamask_prepared / "splits" / "train.txt").read_text().split())
    assert sum(sizes) == train_count and max(sizes) == 4


def test_image_size_resizes_and_drop_remainder_drops(celebamask_prepared):
    dataset = make_dataset(
        celebamask_prepared, "train", batch_size=4, image_size=(32, 48), drop_remainder=True
    )
    shapes = [(tuple(x.shape), tuple(y.shape)) for x, y in dataset]
    assert shapes and all(s == ((4, 32, 48, 3), (4, 32, 48)) for s in shapes)
    plain = batches(make_dataset(celebamask_prepared, "train", batch_size=4))
    resized = batches(make_dataset(celebamask_prepared, "train", batch_size=4, image_size=(32, 32)))
    for (_, label), (_, small) in zip(plain, resized, strict=True):
        assert set(np.unique(small)) <= set(np.unique(label)), "nearest never invents labels"


def test_deterministic_given_seed_with_new_draws_each_epoch(celebamask_prepared):
    def run(seed):
        dataset = make_dataset(
            celebamask_prepared, "train", batch_size=3, augment_config=ALL_AUGMENTATIONS, seed=seed
        )
        return epochs(dataset, 2)

    first, again, other = run(7), run(7), run(8)
    for epoch_a, epoch_b in zip(first, again, strict=True):
        for (x_a, y_a), (x_b, y_b) in zip(epoch_a, epoch_b, strict=True):
            np.testing.assert_array_equal(x_a, x_b)
            np.testing.assert_array_equal(y_a, y_b)

    def differs(epoch_a, epoch_b):
        return any(not np.array_equal(a[0], b[0]) for a, b in zip(epoch_a, epoch_b, strict=True))

    assert differs(first[0], first[1]), "the second epoch repeats the first"
    assert differs(first[0], other[0]), "another seed gives the same draws"


def test_hflip_swaps_left_and_right_classes(celebamask_prepared):
    spec = dataset_spec(celebamask_prepared)
    left_eye, right_eye = spec.class_names.index("l_eye"), spec.class_names.index("r_eye")
    hair = spec.class_names.index("hair")
    lut = spec.flip_lut()
    assert lut[left_eye] == right_eye and lut[right_eye] == left_eye and lut[hair] == hair

    originals, dataset = unaugmented_and_augmented(celebamask_prepared, AugmentConfig(hflip=True))
    flipped_count = kept_count = 0
    for draws in epochs(dataset, 4):
        for (image, label), (source, source_label) in zip(draws, originals, strict=True):
            # The warp reproduces pixels to float rounding (1e-7), not bit for bit.
            if np.allclose(image, source, atol=1e-6):
                np.testing.assert_array_equal(label, source_label)
                kept_count += 1
                continue
            np.testing.assert_allclose(image, source[:, ::-1], atol=1e-6)
            mirrored = source_label[:, ::-1]
            assert (mirrored == left_eye).any() and (mirrored == right_eye).any()
            # a left eye seen in the mirror is a right eye, and vice versa; hair stays hair
            assert (label[mirrored == left_eye] == right_eye).all()
            assert (label[mirrored == right_eye] == left_eye).all()
            assert (label[mirrored == hair] == hair).all()
            np.testing.assert_array_equal(label, lut[mirrored])
            flipped_count += 1
    assert flipped_count > 0 and kept_count > 0


def test_one_hot_rows_are_zero_at_ignore_pixels(celebamask_prepared):
    classes = dataset_spec(celebamask_prepared).num_classes
    shrink = AugmentConfig(scale=(0.6, 0.8))  # always pads: padding is labelled ignore

    def build(one_hot):
        return make_dataset(
            celebamask_prepared,
            "train",
            batch_size=4,
            augment_config=shrink,
            one_hot=one_hot,
            shuffle=False,
            seed=1,
        )

    ignored = 0
    for (_, sparse), (_, dense) in zip(batches(build(False)), batches(build(True)), strict=True):
        assert dense.dtype == np.float32 and dense.shape == (SIZE, SIZE, classes)
        ignore = sparse == IGNORE_INDEX
        ignored += int(ignore.sum())
        assert (dense[ignore] == 0).all()
        assert (dense[~ignore].sum(axis=-1) == 1).all()
        np.testing.assert_array_equal(dense[~ignore].argmax(axis=-1), sparse[~ignore])
    assert ignored > 0


def test_geometric_augmentations_keep_image_and_label_aligned(tmp_path):
    images, labels = colour_coded_items(4)
    folder = write_prepared(tmp_path / "coded", images, labels)
    geometry = AugmentConfig(hflip=True, scale=(0.8, 1.25), rotate=20)
    dataset = make_dataset(folder, "train", batch_size=4, augment_config=geometry, seed=3)
    changed = 0
    for image, label in (pair for draws in epochs(dataset, 3) for pair in draws):
        distance = np.linalg.norm(image[..., None, :] * 255 - CLASS_COLOURS, axis=-1)
        decoded, nearest = distance.argmin(axis=-1), distance.min(axis=-1)
        # Pure pixels: colour within reach of a class colour (not a blend across an edge).
        counted = (label != IGNORE_INDEX) & (nearest < 40)
        assert counted.sum() >= 0.8 * (label != IGNORE_INDEX).sum()
        agreement = (decoded[counted] == label[counted]).mean()
        # aligned: ≈ 99.98 %; label shifted by one pixel: ≈ 99.3 %, by two: ≈ 97.8 %
        assert agreement >= 0.997, f"only {agreement:.3%} of pixels keep their label's colour"
        changed += not any(np.array_equal(label, source) for source in labels)
    assert changed >= 8, "the augmentations hardly ran"


def test_augmentations_never_invent_labels(celebamask_prepared):
    lut = dataset_spec(celebamask_prepared).flip_lut()
    originals, dataset = unaugmented_and_augmented(celebamask_prepared, ALL_AUGMENTATIONS)
    for draws in epochs(dataset, 3):
        for (_, label), (_, source) in zip(draws, originals, strict=True):
            present = np.unique(source)
            allowed = set(present) | set(lut[present]) | {IGNORE_INDEX}
            assert set(np.unique(label)) <= allowed


def test_brightness_scales_value_only(celebamask_prepared):
    originals, dataset = unaugmented_and_augmented(
        celebamask_prepared, AugmentConfig(brightness=0.4)
    )
    factors = []
    for draws in epochs(dataset, 2):
        for (image, label), (source, source_label) in zip(draws, originals, strict=True):
            np.testing.assert_array_equal(label, source_label)
            hsv, source_hsv = (
                tf.image.rgb_to_hsv(image).numpy(),
                tf.image.rgb_to_hsv(source).numpy(),
            )
            # pixels whose hue is defined and whose value stays below 1 at factor 1.4
            valid = (source_hsv[..., 1] > 0.2) & (source_hsv[..., 2] > 0.1)
            valid &= source_hsv[..., 2] < 0.7
            assert valid.sum() > 100
            hue_change = np.abs(hsv[..., 0] - source_hsv[..., 0])[valid]
            assert np.minimum(hue_change, 1 - hue_change).max() < 0.01
            assert np.abs(hsv[..., 1] - source_hsv[..., 1])[valid].max() < 0.01
            ratio = hsv[..., 2][valid] / source_hsv[..., 2][valid]
            assert ratio.std() < 0.01, "one factor per image"
            factors.append(float(ratio.mean()))
    assert min(factors) >= 0.6 - 1e-3 and max(factors) <= 1.4 + 1e-3
    assert max(factors) - min(factors) > 0.1, "the factor does not vary"


@pytest.mark.parametrize(("probability", "changes"), [(1.0, True), (0.0, False)])
def test_jpeg_changes_pixels_not_shape_or_labels(celebamask_prepared, probability, changes):
    jpeg = AugmentConfig(jpeg_quality=(5, 15), jpeg_prob=probability)
    originals, dataset = unaugmented_and_augmented(celebamask_prepared, jpeg)
    for (image, label), (source, source_label) in zip(batches(dataset), originals, strict=True):
        assert image.shape == source.shape and image.dtype == np.float32
        assert image.min() >= 0.0 and image.max() <= 1.0
        np.testing.assert_array_equal(label, source_label)
        assert bool(np.abs(image - source).mean() > 0.005) == changes


def test_unknown_augmentation_key_is_named():
    with pytest.raises(ValueError, match="flipp"):
        AugmentConfig.from_dict({"hflip": True, "flipp": True})
    assert AugmentConfig.from_dict({"scale": [0.9, 1.1]}).scale == (0.9, 1.1)
    assert not AugmentConfig.from_dict(None).active


def test_missing_split_and_folder_name_the_file(celebamask_prepared, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"splits/nosuch\.txt.*available"):
        make_dataset(celebamask_prepared, "nosuch", batch_size=2)
    with pytest.raises(FileNotFoundError, match="dataset.json"):
        make_dataset(tmp_path / "not_prepared", "train", batch_size=2)


def test_raw_layout_gives_the_prepared_labels_without_preparing(tmp_path):
    """make_raw_dataset reads a raw layout through its reader: same labels as preparing first
    (images differ only by the prepared copy's JPEG encoding)."""
    raw = write_sample("helen", tmp_path / "raw", count=6, size=SIZE, seed=3)
    prepare(
        "helen",
        raw,
        tmp_path / "prepared",
        PrepareOptions(size=(SIZE, SIZE)),
        workers=1,
        progress=False,
    )
    from facecolab.data.tf_pipeline import make_raw_dataset

    direct = batches(make_raw_dataset("helen", raw, "test", image_size=(SIZE, SIZE)))
    prepared = batches(make_dataset(tmp_path / "prepared", "test"))
    assert len(direct) == len(prepared) > 0
    for (raw_image, raw_label), (image, label) in zip(direct, prepared, strict=True):
        np.testing.assert_array_equal(raw_label, label)
        assert raw_image.shape == image.shape and raw_image.dtype == np.float32
        assert np.abs(raw_image - image).mean() < 0.02

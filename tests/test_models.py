"""Model zoo: every registry name builds, trains a step, saves/loads; per-builder specifics."""

import os
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras.src.backend import config as keras_config  # noqa: E402  (where Keras caches files)

from facecolab.models import (  # noqa: E402
    MODELS,
    build_model,
    main_output,
)
from facecolab.models.backbones import BACKBONES, build_backbone  # noqa: E402
from facecolab.models.layers import AlwaysOnDropout  # noqa: E402

SMALLEST_SIZE = {"sm_pspnet": 96}  # needs multiples of 48
BINARY_BY_DEFAULT = {"mobilenetv2_unet"}

# Optional segmentation-models wrappers with ~24 M-parameter encoders: > 20 s each here
# (sm_pspnet stays in the fast set).
SLOW_MODELS = {"sm_unet", "sm_fpn", "sm_linknet"}
# (registry name, options): every registered model as built by default, plus MC-dropout
# variants whose predictions must vary.
CASES = [
    pytest.param(name, {}, id=name, marks=[pytest.mark.slow] if name in SLOW_MODELS else [])
    for name in MODELS
] + [
    pytest.param("segnet_vgg16", {"bayesian": True}, id="segnet_vgg16-mc"),
    pytest.param("unet", {"dropout": 0.5, "mc_dropout": True}, id="unet-mc"),
]


def _all_layers(model):
    """Layers of ``model``, nested models' layers included."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _count_mc_layers(model) -> int:
    return sum(isinstance(layer, AlwaysOnDropout) for layer in _all_layers(model))


def _random_batch(size: int, channels: int, num_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.random((2, size, size, 3), dtype=np.float32)
    labels = rng.integers(0, num_classes, (2, size, size))
    return images, (labels[..., None].astype("float32") if channels == 1 else labels)


@pytest.mark.parametrize(("name", "options"), CASES)
def test_model_outputs_save_load_and_train_step(name, options, tmp_path):
    size = SMALLEST_SIZE.get(name, 64)
    num_classes = 2 if name in BINARY_BY_DEFAULT else 3
    channels = 1 if name in BINARY_BY_DEFAULT else num_classes
    model = build_model(name, input_shape=(size, size, 3), num_classes=num_classes, **options)
    images, labels = _random_batch(size, channels, num_classes)

    first = model.predict(images, verbose=0)
    assert first.shape == (2, size, size, channels) and first.dtype == np.float32
    assert np.all((first >= 0) & (first <= 1))
    if channels > 1:
        np.testing.assert_allclose(first.sum(axis=-1), 1.0, atol=1e-4)
    stochastic = _count_mc_layers(model) > 0
    assert stochastic == bool(options)
    second = model.predict(images, verbose=0)
    assert np.array_equal(first, second) != stochastic

    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode
    for saved, restored in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())
    assert _count_mc_layers(loaded) == _count_mc_layers(model)
    if not stochastic:
        np.testing.assert_allclose(loaded.predict(images, verbose=0), first, rtol=1e-5, atol=1e-6)

    loss = "binary_crossentropy" if channels == 1 else "sparse_categorical_crossentropy"
    # Eager: tracing the backward graph of a big encoder takes ~1 min on two shared cores;
    # graph-mode inference is covered by predict above.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, run_eagerly=True)
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    step_loss = model.train_on_batch(images, labels)
    assert np.isfinite(step_loss)
    after = model.trainable_weights
    moved = [
        not np.array_equal(b, keras.ops.convert_to_numpy(a))
        for b, a in zip(before, after, strict=True)
    ]
    assert all(moved), f"{moved.count(False)} trainable weights did not move"


# Parameter counts at 256² (the size does not change them), as built by build_model with
# the given num_classes; ranges are ±3 % around the measured count.
PARAMS_AT_256 = {
    "unet": (19, 1.95e6),
    "mobilenetv2_unet": (2, 2.91e6),
    "segnet_vgg16": (2, 29.46e6),  # SegNet paper: 29.5 M
    "pspnet_resnet50": (8, 1.67e6),  # ResNet50 up to conv3 + pyramid
    "deeplabv3plus_efficientnetb0": (8, 7.57e6),
    "sm_unet": (8, 24.46e6),
    "sm_fpn": (8, 23.93e6),
    "sm_linknet": (8, 21.64e6),
    "sm_pspnet": (8, 2.76e6),
}
SIZE_AT_256 = {"sm_pspnet": 288}  # 256 is not a multiple of 48


@pytest.mark.parametrize("name", sorted(MODELS))
def test_builds_at_256_with_shape_and_parameter_count(name):
    num_classes, expected_params = PARAMS_AT_256[name]
    size = SIZE_AT_256.get(name, 256)
    model = build_model(name, input_shape=(size, size, 3), num_classes=num_classes)
    channels = 1 if name in BINARY_BY_DEFAULT else num_classes
    assert model.output_shape == (None, size, size, channels)
    assert 0.97 * expected_params <= model.count_params() <= 1.03 * expected_params


def test_every_registry_name_has_a_256_parameter_range():
    known_optional = {"sm_unet", "sm_fpn", "sm_linknet", "sm_pspnet"}
    assert set(MODELS) <= set(PARAMS_AT_256) and set(PARAMS_AT_256) - set(MODELS) <= known_optional


def test_unknown_model_name_lists_the_names():
    with pytest.raises(ValueError, match="unknown model 'segnet'.*segnet_vgg16.*unet"):
        build_model("segnet")


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("mobilenetv2_unet", 80),
        ("segnet_vgg16", 48),
        ("pspnet_resnet50", 60),
        ("deeplabv3plus_efficientnetb0", 72),
    ],
)
def test_sizes_the_architecture_cannot_use_raise(name, size):
    with pytest.raises(ValueError, match=f"got {size}×{size}"):
        build_model(name, input_shape=(size, size, 3))


@pytest.mark.parametrize("name", ["mobilenetv2_unet", "segnet_vgg16", "pspnet_resnet50"])
def test_missing_encoder_weights_file_is_named(name, tmp_path):
    missing = tmp_path / "nowhere.h5"
    with pytest.raises(FileNotFoundError, match="nowhere.h5"):
        build_model(name, input_shape=(64, 64, 3), encoder_weights=missing)


# (model, keras.applications constructor of its encoder, file suffix, options)
WEIGHT_CASES = [
    ("mobilenetv2_unet", "MobileNetV2", ".weights.h5", {"alpha": 0.5}),
    ("segnet_vgg16", "VGG16", ".h5", {}),
    pytest.param("pspnet_resnet50", "ResNet50", ".h5", {}, marks=pytest.mark.slow),
    pytest.param(
        "deeplabv3plus_efficientnetb0", "EfficientNetB0", ".weights.h5", {}, marks=pytest.mark.slow
    ),
]


@pytest.mark.parametrize(("name", "application", "suffix", "options"), WEIGHT_CASES)
def test_local_encoder_weights_file_is_loaded(name, application, suffix, options, tmp_path):
    constructor = getattr(keras.applications, application)
    source = constructor(include_top=False, weights=None, input_shape=(64, 64, 3), **options)
    path = tmp_path / f"encoder{suffix}"
    if suffix == ".weights.h5":
        source.save_weights(path)
    else:
        source.save(path)  # legacy HDF5, the format of Keras' published notop files
    model = build_model(name, input_shape=(64, 64, 3), encoder_weights=path, **options)
    encoder = model if name == "segnet_vgg16" else model.get_layer("encoder")
    names = {layer.name for layer in encoder.layers}
    compared = 0
    for layer in source.layers:
        if layer.weights and layer.name in names:
            for expected, loaded in zip(
                layer.get_weights(), encoder.get_layer(layer.name).get_weights(), strict=True
            ):
                np.testing.assert_array_equal(loaded, expected)
            compared += 1
    assert compared >= 13  # at least every VGG16 conv


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_backbone_table_names_layers_at_their_strides(name):
    strides = sorted(BACKBONES[name].features)
    encoder = build_backbone(name, (64, 64, 3), strides=strides)
    for stride, output in zip(strides, encoder.outputs, strict=True):
        assert tuple(output.shape[1:3]) == (64 // stride, 64 // stride), stride


def test_backbone_rejects_missing_stride_and_unknown_name():
    with pytest.raises(ValueError, match="strides \\[64\\]"):
        build_backbone("mobilenetv2", (64, 64, 3), strides=(64,))
    with pytest.raises(ValueError, match="unknown backbone 'resnet18'.*mobilenetv2"):
        build_backbone("resnet18", (64, 64, 3), strides=(8,))


def test_mobilenetv2_alpha_and_bn_momentum_reach_the_encoder():
    model = build_model("mobilenetv2_unet", input_shape=(64, 64, 3), alpha=0.35, bn_momentum=0.9)
    encoder = model.get_layer("encoder")
    assert encoder.get_layer("Conv1").filters == 16  # 32 · 0.35 rounded to a multiple of 8
    momenta = {
        layer.momentum
        for layer in _all_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    }
    assert momenta == {0.9}


def test_mobilenetv2_deep_supervision_outputs_train_with_one_loss_each():
    model = build_model("mobilenetv2_unet", input_shape=(64, 64, 3), deep_supervision=True)
    assert model.output_names == [
        "head_sigmoid",
        "aux_s16_sigmoid",
        "aux_s8_sigmoid",
        "aux_s4_sigmoid",
        "aux_s2_sigmoid",
    ]
    assert all(tuple(o.shape) == (None, 64, 64, 1) for o in model.outputs)
    images, labels = _random_batch(64, 1, 2)
    model.compile(
        optimizer="adam",
        run_eagerly=True,
        loss={n: "binary_crossentropy" for n in model.output_names},
        loss_weights={n: 1.0 if n == "head_sigmoid" else 0.25 for n in model.output_names},
    )
    step_loss = model.train_on_batch(images, {n: labels for n in model.output_names})
    assert np.all(np.isfinite(step_loss))
    single = main_output(model)
    assert single.output_shape == (None, 64, 64, 1)
    np.testing.assert_allclose(
        single.predict(images, verbose=0), model.predict(images, verbose=0)[0], rtol=1e-5, atol=1e-6
    )


def test_bayesian_segnet_has_six_mc_dropout_layers_in_the_deep_blocks():
    model = build_model("segnet_vgg16", input_shape=(64, 64, 3), bayesian=True, batch_norm=False)
    dropout_names = sorted(
        layer.name for layer in model.layers if isinstance(layer, AlwaysOnDropout)
    )
    assert dropout_names == [
        "block3_dropout",
        "block4_dropout",
        "block5_dropout",
        "dec3_dropout",
        "dec4_dropout",
        "dec5_dropout",
    ]
    assert all(layer.rate == 0.5 for layer in model.layers if isinstance(layer, AlwaysOnDropout))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert sum(layer.name.startswith("block") for layer in convs) == 13  # VGG16's convs


def test_pspnet_pyramid_adapts_to_the_feature_size():
    model = build_model(
        "pspnet_resnet50", input_shape=(64, 64, 3), bins=(2, 4, 8, 16), branch_filters=8
    )
    # 8×8 features: bins 2, 4, 8 pool 4, 2, 1 cells; bin 16 > 8 falls back to 1×1 pooling.
    pooled = {
        layer.name: tuple(layer.output.shape[1:3])
        for layer in model.layers
        if layer.name.endswith("_pool")
    }
    assert pooled == {
        "psp_bin2_pool": (2, 2),
        "psp_bin4_pool": (4, 4),
        "psp_bin8_pool": (8, 8),
        "psp_bin16_pool": (8, 8),
    }
    assert model.get_layer("psp_concat").output.shape[-1] == 512 + 4 * 8


def test_deeplab_aspp_rates_are_options():
    model = build_model(
        "deeplabv3plus_efficientnetb0",
        input_shape=(64, 64, 3),
        atrous_rates=(1, 3),
        aspp_filters=32,
        decoder_filters=32,
    )
    rates = {
        layer.name: layer.dilation_rate
        for layer in model.layers
        if layer.name.startswith("aspp_rate") and isinstance(layer, keras.layers.Conv2D)
    }
    assert rates == {"aspp_rate1_conv": (1, 1), "aspp_rate3_conv": (3, 3)}
    assert model.get_layer("aspp_concat").output.shape[-1] == 4 * 32  # 1×1, 2 rates, image


def test_sm_models_take_unit_range_input():
    pytest.importorskip("segmentation_models")
    model = build_model(
        "sm_linknet",
        input_shape=(64, 64, 3),
        num_classes=2,
        binary_output=True,
        backbone="mobilenetv2",
    )
    assert model.output_shape == (None, 64, 64, 1)
    assert model.get_layer("preprocessing").mode == "tf"
    with pytest.raises(ValueError, match="unsupported segmentation-models backbone"):
        build_model("sm_unet", input_shape=(64, 64, 3), backbone="senet154")


def test_importing_models_has_no_segmentation_models_side_effect():
    code = (
        "import os, sys, facecolab.models as m; "
        "print('segmentation_models' in sys.modules, 'SM_FRAMEWORK' in os.environ)"
    )
    env = {k: v for k, v in os.environ.items() if k != "SM_FRAMEWORK"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(("width", "convs"), [(1.0, 64), (0.25, 16)])
def test_segnet_width_scales_every_conv(width, convs):
    from facecolab.models import build_model

    model = build_model("segnet_vgg16", (32, 32, 3), 2, width=width, bn_momentum=0.9)
    assert model.get_layer("block1_conv1").filters == convs
    assert model.get_layer("block5_conv3").filters == round(512 * width)
    with pytest.raises(ValueError, match="width 1.0"):
        build_model("segnet_vgg16", (32, 32, 3), 2, width=0.5, encoder_weights="imagenet")


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No network and an empty Keras cache: every ImageNet weights fetch fails."""

    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras_home"))


@pytest.mark.parametrize(
    ("name", "options", "application"),
    [
        ("mobilenetv2_unet", {"alpha": 0.35}, "MobileNetV2"),
        ("segnet_vgg16", {}, "VGG16"),  # its own encoder, ImageNet weights copied by name
    ],
)
def test_offline_imagenet_weights_fail_with_one_clear_message(offline, name, options, application):
    with pytest.raises(ConnectionError) as raised:
        build_model(name, input_shape=(64, 64, 3), encoder_weights="imagenet", **options)
    message = str(raised.value)
    assert message.startswith(f"{application}: downloading the ImageNet encoder weights failed")
    assert "name resolution" in message  # what failed
    assert "encoder_weights=None" in message and "IMAGENET_WEIGHTS = False" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_offline_random_encoder_weights_need_no_network(offline):
    model = build_model("mobilenetv2_unet", input_shape=(64, 64, 3), alpha=0.35)
    assert model.output_shape == (None, 64, 64, 1)  # one sigmoid channel by default

"""MobileNetV2 U-Net speed options: shorter/lighter decoders keep the output contract."""

from __future__ import annotations

import keras
import pytest

from facecolab.models import build_model

SIZE = 64
DEFAULT_DECODER = [f"dec_s{s}{part}" for s in (16, 8, 4, 2) for part in ("_up", "a_conv", "b_conv")]


@pytest.mark.parametrize(
    ("options", "present", "absent"),
    [
        ({}, [*DEFAULT_DECODER, "dec_s1_up", "dec_s1_conv"], ["head_upsample"]),
        (
            {"decoder_filters": (16, 8, 8), "final_filters": 0},
            ["dec_s4b_conv", "head_upsample"],
            ["dec_s2_up", "dec_s1_conv"],
        ),
        ({"final_filters": 0}, ["dec_s2b_conv", "head_upsample"], ["dec_s1_conv"]),
        ({"decoder_convs": 1}, ["dec_s16a_conv", "dec_s1_conv"], ["dec_s16b_conv"]),
        ({"separable": True}, ["dec_s16a_sepconv", "dec_s2b_sepconv"], ["dec_s16a_conv"]),
        ({"decoder_filters": (16, 8), "final_filters": 8}, ["dec_s4_conv"], ["dec_s4a_conv"]),
    ],
)
def test_decoder_options_keep_a_full_size_output(options, present, absent):
    model = build_model("mobilenetv2_unet", (SIZE, SIZE, 3), 2, alpha=0.35, **options)
    assert model.output_shape == (None, SIZE, SIZE, 1)
    names = {layer.name for layer in model.layers}
    assert set(present) <= names and not set(absent) & names


@pytest.mark.parametrize(
    ("upsampling", "layer_type"),
    [("transpose", keras.layers.Conv2DTranspose), ("bilinear", keras.layers.UpSampling2D)],
)
def test_upsampling_choice(upsampling, layer_type):
    model = build_model("mobilenetv2_unet", (SIZE, SIZE, 3), 2, alpha=0.35, upsampling=upsampling)
    assert all(isinstance(model.get_layer(f"dec_s{s}_up"), layer_type) for s in (16, 8, 4, 2))


def test_deep_supervision_follows_a_shorter_decoder():
    model = build_model(
        "mobilenetv2_unet",
        (SIZE, SIZE, 3),
        2,
        alpha=0.35,
        decoder_filters=(16, 8),
        final_filters=0,
        deep_supervision=True,
    )
    assert model.output_names == ["head_sigmoid", "aux_s16_sigmoid", "aux_s8_sigmoid"]
    assert all(tuple(o.shape) == (None, SIZE, SIZE, 1) for o in model.outputs)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"decoder_filters": ()}, "1 to 4 values"),
        ({"decoder_filters": (8,) * 5}, "1 to 4 values"),
        ({"decoder_convs": 3}, "decoder_convs must be 1 or 2"),
        ({"upsampling": "nearest"}, "upsampling must be one of"),
    ],
)
def test_bad_options_are_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        build_model("mobilenetv2_unet", (SIZE, SIZE, 3), 2, **options)

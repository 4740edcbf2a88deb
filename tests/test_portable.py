"""Portable .weights.npz files: exact round trip, float16, the check, every broken file as one
ValueError, conversion from every model source (Python and `facecolab export`)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from facecolab.cli import main as cli
from facecolab.modelfiles.load import export_portable, load_model_any, save_weights_with_config
from facecolab.modelfiles.portable import (
    CHECK_ATOL,
    FORMAT,
    check_difference,
    check_input,
    load_portable,
    model_check,
    read_portable,
    save_portable,
    verify_portable,
    weight_mismatch,
)
from facecolab.models import build_model

KWARGS = {"input_shape": [32, 32, 3], "num_classes": 3, "depth": 2, "base_filters": 4}


@pytest.fixture(scope="module")
def model():
    model = build_model("unet", **KWARGS)
    # Non-trivial batch-norm statistics, so a format that dropped them would show.
    for layer in model.layers:
        if layer.name.endswith("_bn"):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
    return model


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    return save_portable(model, tmp_path_factory.mktemp("p") / "m.weights.npz", "unet", KWARGS)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)


def test_round_trip_is_exact_and_the_header_names_the_builder_call(model, saved, images):
    header, arrays = read_portable(saved)
    assert header["format"] == FORMAT and header["builder"] == "unet"
    assert header["kwargs"] == KWARGS
    assert header["names"] == [v.name for v in model.weights]
    assert len(arrays) == len(model.weights)
    assert check_difference(header["check"], model_check(model)) == 0
    expected = model.predict(images, verbose=0)
    for loaded in (load_portable(saved), load_model_any(saved), verify_portable(saved)):
        np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)


def test_float16_stores_half_and_its_check_describes_the_stored_weights(
    model, saved, tmp_path, images
):
    half = save_portable(model, tmp_path / "h.weights.npz", "unet", KWARGS, dtype="float16")
    assert {array.dtype for array in read_portable(half)[1]} == {np.dtype("float16")}
    assert half.stat().st_size < saved.stat().st_size  # about half for real-sized weights
    loaded = verify_portable(half)
    assert all(v.dtype == "float32" for v in loaded.weights)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-2
    )


def test_monte_carlo_dropout_models_get_a_deterministic_check(tmp_path, images):
    kwargs = {**KWARGS, "dropout": 0.5, "mc_dropout": True}
    path = save_portable(build_model("unet", **kwargs), tmp_path / "mc.weights.npz", "unet", kwargs)
    loaded = verify_portable(path)
    assert not np.array_equal(loaded.predict(images, verbose=0), loaded.predict(images, verbose=0))


@pytest.mark.parametrize(
    "index, value",
    [((0, 0, 0, 0), 0.0), ((0, 0, 0, 1), 0.604), ((0, 1, 2, 0), 0.7), ((0, 3, 5, 2), 0.12)],
)
def test_check_input_is_a_fixed_hash(index, value):
    """Pinned values: every stored check depends on this image never changing."""
    image = check_input(4, 6)
    assert image.shape == (1, 4, 6, 3) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1
    assert image[index] == pytest.approx(value, abs=1e-6)


def variables(*specs):
    return [SimpleNamespace(name=name, shape=shape, path=f"layer/{name}") for name, shape in specs]


@pytest.mark.parametrize(
    "model_weights, names, shapes, message",
    [
        ([("kernel", (3, 3)), ("bias", (3,))], ["kernel", "bias"], [(3, 3), (3,)], None),
        ([("kernel", (3, 3))], ["kernel", "bias"], [(3, 3), (3,)], "holds 2 weights, the model"),
        (
            [("gamma", (4,)), ("beta", (4,))],
            ["beta", "gamma"],
            [(4,), (4,)],
            r"weight 0 \(layer/gamma\)",
        ),
        ([("kernel", (3, 3))], ["kernel"], [(3, 4)], r"'kernel' \(3, 4\) in the file.*\(3, 3\)"),
    ],
)
def test_weight_mismatch(model_weights, names, shapes, message):
    problem = weight_mismatch(variables(*model_weights), names, shapes)
    if message is None:
        assert problem is None
    else:
        assert problem is not None
        assert re.search(message, problem)


@pytest.mark.parametrize(
    "actual, difference",
    [
        ({"mean_log_p": [-1.0, -2.0], "point_log_p": [[-1.0, -2.0]]}, 0.0),
        ({"mean_log_p": [-1.0, -2.5], "point_log_p": [[-1.0, -2.0]]}, 0.5),
        ({"mean_log_p": [-1.0, -2.0, -3.0], "point_log_p": [[-1.0, -2.0, -3.0]]}, np.inf),
        ({"mean_log_p": [-1.0, -2.0], "point_log_p": [[-1.0]]}, np.inf),  # ragged
        ({"mean_log_p": [-1.0, -2.0]}, np.inf),  # garbled
    ],
)
def test_check_difference(actual, difference):
    expected = {"mean_log_p": [-1.0, -2.0], "point_log_p": [[-1.0, -2.0]]}
    assert check_difference(expected, actual) == difference


def rewrite(source, destination, header=None, arrays=None):
    """Copy a portable file, changing its header dict and/or weight list."""
    with np.load(source) as archive:
        found = json.loads(str(archive["header"][()]))
        weights = [archive[f"w{i:04d}"] for i in range(len(archive.files) - 1)]
    found = header(found) if header else found
    weights = arrays(weights) if arrays else weights
    np.savez(
        destination,
        header=np.array(json.dumps(found)),
        **{f"w{i:04d}": w for i, w in enumerate(weights)},
    )


def swap_first_bn_pair(header):
    first = header["names"].index("gamma")
    names = header["names"]
    names[first], names[first + 1] = names[first + 1], names[first]
    return header


BROKEN = {
    "truncated": (lambda src, dst: dst.write_bytes(src.read_bytes()[:5000]), "damaged"),
    "not a zip": (lambda src, dst: dst.write_bytes(b"no model here"), "damaged"),
    "plain npz": (lambda src, dst: np.savez(dst, w0=np.zeros(3)), "no header"),
    "newer format": (
        lambda src, dst: rewrite(src, dst, header=lambda h: {**h, "version": 2}),
        "newer facecolab",
    ),
    "garbled header": (
        lambda src, dst: rewrite(src, dst, header=lambda h: {**h, "builder": 3}),
        "garbles builder",
    ),
    "unknown builder": (
        lambda src, dst: rewrite(src, dst, header=lambda h: {**h, "builder": "nope"}),
        "cannot build the model nope",
    ),
    "other architecture": (
        lambda src, dst: rewrite(
            src, dst, header=lambda h: {**h, "kwargs": {**h["kwargs"], "base_filters": 8}}
        ),
        "do not fit.*the model expects",
    ),
    "swapped names": (
        lambda src, dst: rewrite(src, dst, header=swap_first_bn_pair),
        "do not fit.*'beta'",
    ),
    "missing array": (
        lambda src, dst: rewrite(src, dst, arrays=lambda w: w[:-1]),
        "holds 55 arrays",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_files_are_one_value_error_naming_the_file(saved, tmp_path, case):
    make, message = BROKEN[case]
    path = tmp_path / "broken.weights.npz"
    make(saved, path)
    with pytest.raises(ValueError, match=message) as error:
        load_model_any(path)
    assert str(error.value).startswith(str(path))


def test_a_check_that_does_not_reproduce_fails_verification_only(saved, tmp_path):
    path = tmp_path / "tampered.weights.npz"
    rewrite(
        saved,
        path,
        header=lambda h: {**h, "check": {**h["check"], "mean_log_p": [0.0, 0.0, 0.0]}},
    )
    load_portable(path)  # loading checks structure only
    with pytest.raises(ValueError, match=r"does not reproduce.*difference"):
        verify_portable(path)


def huge_model():
    model = build_model("unet", **KWARGS)
    model.weights[0].assign(np.full(model.weights[0].shape, 1e6, "float32"))
    return model


@pytest.mark.parametrize(
    "name, builder_kwargs, options, message",
    [
        ("m.npz", KWARGS, {}, r"end with \.weights\.npz"),
        ("m.weights.npz", KWARGS, {"dtype": "int8"}, "dtype must be"),
        ("m.weights.npz", {**KWARGS, "depth": 3}, {}, "do not fit"),
        ("m.weights.npz", {**KWARGS, "name": object()}, {}, "JSON values"),
        ("m.weights.npz", KWARGS, {"dtype": "float16", "huge": True}, "float16's range"),
    ],
)
def test_save_rejects_bad_input_and_writes_nothing(
    model, tmp_path, name, builder_kwargs, options, message
):
    source = huge_model() if options.pop("huge", False) else model
    with pytest.raises(ValueError, match=message):
        save_portable(source, tmp_path / name, "unet", builder_kwargs, **options)
    assert list(tmp_path.iterdir()) == []


def tiny_config():
    return {
        "name": "tiny",
        "data": {"dataset": "lfw_parts", "prepared": "unused", "image_size": [32, 32]},
        "model": {"name": "unet", "options": {"depth": 2, "base_filters": 4}},
    }


def source_run(model, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model_best.keras")
    (run / "config.json").write_text(json.dumps(tiny_config()))
    return run, None


def source_keras_and_config(model, tmp_path):
    model.save(tmp_path / "m.keras")
    return tmp_path / "m.keras", tiny_config()


def source_weights_h5(model, tmp_path):
    return save_weights_with_config(model, tmp_path / "m.weights.h5", "unet", KWARGS), None


def source_portable(model, tmp_path):
    return save_portable(model, tmp_path / "src.weights.npz", "unet", KWARGS), None


@pytest.mark.parametrize(
    "make_source", [source_run, source_keras_and_config, source_weights_h5, source_portable]
)
def test_export_portable_from_every_source(model, tmp_path, images, make_source):
    source, config = make_source(model, tmp_path)
    path = export_portable(source, tmp_path / "out" / "m.weights.npz", config)
    header, _ = read_portable(path)
    assert (header["builder"], header["kwargs"]) == ("unet", KWARGS)
    np.testing.assert_array_equal(
        load_portable(path).predict(images, verbose=0), model.predict(images, verbose=0)
    )


def test_export_portable_needs_a_builder_call(model, tmp_path):
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=r"m\.keras: cannot tell which facecolab builder"):
        export_portable(tmp_path / "m.keras", tmp_path / "m.weights.npz")


@pytest.mark.parametrize(
    "out, extra, code, printed",
    [
        ("ship.weights.npz", [], 0, "wrote"),
        ("half.weights.npz", ["--dtype", "float16"], 0, "wrote"),
        ("ship.keras", ["--dtype", "float16"], 2, "apply to .weights.npz exports"),
    ],
)
def test_export_command_writes_portable_files(model, tmp_path, capsys, out, extra, code, printed):
    run, _ = source_run(model, tmp_path)
    argv = ["export", "--model", str(run), "--out", str(tmp_path / out), *extra]
    assert cli.main(argv) == code
    captured = capsys.readouterr()
    assert printed in captured.out + captured.err
    if code == 0:
        verify_portable(tmp_path / out)


def test_check_tolerance_is_far_below_a_wrong_model(model, saved):
    """Models with other (fresh random) weights are an order of magnitude past the stored
    check's tolerance. (This tiny U-Net's random outputs are all near uniform, so the
    margin is about 70× here; real models differ far more.)"""
    header, _ = read_portable(saved)
    for seed in (1, 2, 3):
        keras.utils.set_random_seed(seed)
        other = build_model("unet", **KWARGS)
        assert check_difference(header["check"], model_check(other)) > 10 * CHECK_ATOL

"""Hostile settings: every config value of the wrong type or range, and every bad numeric
command-line option, fails in one validation before any data or model work — one line naming
the option, exit 2, no run folder created, the prepared data untouched."""

from __future__ import annotations

import json

import pytest
from hostile_kit import facecolab, files, one_line_error, prepare_cli, snapshot

# (override, message): `train --config tiny.json --run-dir RUN <override>`.
BAD_OVERRIDES = [
    ("epochs=ten", r"epochs = 'ten': expected a whole number >= 1"),
    ("epochs=1.5", r"epochs = 1\.5: expected a whole number >= 1"),
    ("epochs=0", r"epochs = 0: expected a whole number >= 1"),
    ("epochs=-3", r"epochs = -3: expected a whole number >= 1"),
    ("epochs=true", r"epochs = True: expected a whole number"),
    ("epochs.x=1", r"epochs = \{'x': 1\}: expected a whole number"),
    ("batch_size=0", r"batch_size = 0: expected a whole number >= 1"),
    ("batch_size=null", r"batch_size = None: expected a whole number >= 1"),
    ("steps_per_epoch=0", r"steps_per_epoch = 0: expected null or a whole number >= 1"),
    ("seed=-1", r"seed = -1: expected a whole number >= 0"),
    ("name=../../elsewhere", r"name = '\.\./\.\./elsewhere': expected a plain name"),
    ("data.image_size=[0,32]", r"data\.image_size = \[0, 32\]: expected \[height, width\]"),
    ("data.image_size=[99999,32]", r"data\.image_size = \[99999, 32\]"),
    ("data.image_size=32", r"data\.image_size = 32: expected \[height, width\]"),
    ("data.one_hot=maybe", r"data\.one_hot = 'maybe': expected true or false"),
    ("data.val_split=../../x", r"data\.val_split = '\.\./\.\./x': expected a split name"),
    ("data.dataset=nope", r"unknown dataset 'nope'"),
    ("data.format_options.bogus=1", r"data\.format_options: unknown options \['bogus'\]"),
    ("data.aspect=squash", r"data\.aspect = 'squash'; choose from"),
    ("model.name=resnet", r"model\.name = 'resnet'; choose from"),
    ("model.options.bogus=1", r"model\.options: unknown options \['bogus'\]; valid: \["),
    ("model.options.depth=two", r"model\.options\.depth = 'two': expected a whole number"),
    ("model.options.batch_norm=1", r"model\.options\.batch_norm = 1: expected true or false"),
    ("model.options.dropout=-0.5", r"model\.options\.dropout = -0\.5: expected a number >= 0"),
    ("optimizer.name=rmsprop", r"optimizer\.name = 'rmsprop'; choose from"),
    ("optimizer.learning_rate=-1", r"optimizer\.learning_rate = -1: expected a number > 0"),
    ("optimizer.learning_rate=0", r"optimizer\.learning_rate = 0: expected a number > 0"),
    ("optimizer.learning_rate=NaN", r"optimizer\.learning_rate = nan: expected a number > 0"),
    ("optimizer.learning_rate=fast", r"optimizer\.learning_rate = 'fast'"),
    ("optimizer.momentum=1.5", r"optimizer\.momentum = 1\.5: expected a number in \[0, 1\)"),
    ("optimizer.clipnorm=-1", r"optimizer\.clipnorm = -1: expected null or > 0"),
    ("schedule.warmup_epochs=-1", r"schedule\.warmup_epochs = -1: expected a whole number >= 0"),
    ("schedule.name=step", r"schedule\.name = 'step'; choose from"),
    ("augment.zoom=2", r"augment: unknown options \['zoom'\]"),
    ("augment.hflip=yes", r"augment\.hflip = 'yes': expected true or false"),
    ("augment.rotate=-10", r"augment\.rotate = -10: expected a number >= 0"),
    ("loss=hinge", r"unknown loss term 'hinge'"),
    ("loss=3", r"loss = 3: expected a string or an object"),
    ("callbacks.monitor=", r"callbacks\.monitor = '': expected a metric name"),
    (
        'callbacks.early_stopping={"patience":"x"}',
        r"callbacks\.early_stopping\.patience = 'x': expected a number >= 0",
    ),
    (
        'callbacks.early_stopping={"min_delta":0.001,"patience":-2}',
        r"callbacks\.early_stopping\.patience = -2: expected a number >= 0",
    ),
    ("model.options.depth=2.5", r"model\.options\.depth = 2\.5: expected a whole number >= 0"),
    ('callbacks.reduce_lr_on_plateau={"bogus":1}', r"reduce_lr_on_plateau: unknown options"),
    ('callbacks.reduce_lr_on_plateau={"monitor":"x"}', r"unknown options \['monitor'\]"),
    ("mixed_precision=sometimes", r"mixed_precision = 'sometimes'; choose from"),
    ("epoch=3", r"unknown config keys \['epoch'\]"),
    ("epochs", r"override 'epochs' must look like key\.sub=value"),
]


@pytest.mark.parametrize(("override", "message"), BAD_OVERRIDES, ids=[o for o, _ in BAD_OVERRIDES])
def test_bad_config_value_fails_before_any_work(
    capsys, config_file, lfw_prepared, tmp_path, override, message
):
    before = snapshot(lfw_prepared)
    run = tmp_path / "run"
    code, _, err = facecolab(capsys, "train", "--config", config_file(), "--run-dir", run, override)
    assert code == 2
    one_line_error(err, message, prefix="facecolab train: error: ")
    assert not run.exists()
    assert snapshot(lfw_prepared) == before


# (config file content, message): the file itself is hostile.
BAD_FILES = [
    ("[1, 2]", r"a config must be a JSON object, got list"),
    ("{not json", r"not valid JSON"),
    (b"\xff\xfe\x00garbage", r"not valid JSON"),
    ('{"data": 3}', r"data must be an object, got 3"),
    ('{"name": "x", "data": {"dataset": "lfw_parts"}}', r"give data\.prepared .* or data\.root"),
    (
        '{"INPUT_HEIGHT": "tall", "BATCH_SIZE": 1, "OPT": "ADAM"}',
        r"INPUT_HEIGHT = 'tall': expected a whole number",
    ),
    ('{"BATCH_SIZE": 1.5, "OPT": "ADAM"}', r"BATCH_SIZE = 1\.5: expected a whole number"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES, ids=range(len(BAD_FILES)))
def test_bad_config_file_is_one_line(capsys, tmp_path, content, message):
    path = tmp_path / "config.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, _, err = facecolab(capsys, "train", "--config", path, "--run-dir", tmp_path / "run")
    assert code == 2
    one_line_error(err, str(path) + ".*" + message)
    assert files(tmp_path) == ["config.json"]


def test_config_that_is_a_folder(capsys, tmp_path):
    code, _, err = facecolab(capsys, "train", "--config", tmp_path, "--run-dir", tmp_path / "r")
    assert code == 2
    one_line_error(err, rf"{tmp_path}: Is a directory")
    assert not (tmp_path / "r").exists()


# (command line, the argparse error): numbers checked before anything is read.
BAD_OPTIONS = [
    (["predict", "--model", "m", "--input", "i", "--out", "o", "--batch-size", "0"], "1, got 0"),
    (["predict", "--model", "m", "--input", "i", "--out", "o", "--batch-size", "x"], "'x'"),
    (["evaluate", "--model", "m", "--data", "d", "--batch-size", "-2"], "at least 1, got -2"),
    (["uncertainty", "--model", "m", "--input", "i", "--out", "o", "--samples", "0"], "got 0"),
    (["demo", "--epochs", "0"], "at least 1, got 0"),
    (["evaluate", "--model", "m", "--data", "d", "--split", "../../x"], "got '../../x'"),
    (["evaluate", "--model", "m", "--data", "d", "--split", ""], "split must be a name"),
]


@pytest.mark.parametrize(
    ("argv", "message"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS]
)
def test_bad_numeric_option_is_a_usage_error(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = facecolab(capsys, *argv)
    assert code == 2
    assert f"error: argument {argv[-2]}: " in err and message in err
    assert files(tmp_path) == []


BAD_PREPARE_OPTIONS = [
    (["--split", "nan,0.5,0.5"], "--split: split must be three non-negative fractions"),
    (["--split", "inf,-inf,1"], "--split: split must be three"),
    (["--split", "0.5,0.5"], "--split: split must be three"),
    (["--split", "0.7,0.2,0.2"], "--split: split must be three"),
    (["--size", "0"], "--size: size must be N or H,W with ints 1..8192"),
    (["--size", "100000"], "--size: size must be N or H,W with ints 1..8192"),
    (["--size", "a,b"], "--size: size must be N or H,W"),
    (["--seed", "-1"], "--seed: must be 0 or more"),
    (["--sample", "-4"], "--sample: must be 0 or more"),
    (["--sample-size", "0"], "--sample-size: must be at least 1"),
    (["--aspect", "squash"], "--aspect: invalid choice"),
]


@pytest.mark.parametrize(
    ("argv", "message"), BAD_PREPARE_OPTIONS, ids=[" ".join(a) for a, _ in BAD_PREPARE_OPTIONS]
)
def test_bad_prepare_option_is_a_usage_error(capsys, lfw_raw, tmp_path, argv, message):
    out = tmp_path / "out"
    code, _, err = prepare_cli(
        capsys, "--dataset", "lfw_parts", "--root", lfw_raw, "--out", out, *argv
    )
    assert code == 2 and message in err
    assert not out.exists()


def test_prepare_workers_zero(capsys, lfw_raw, tmp_path):
    from facecolab.cli.prepare import main

    argv = ["--dataset", "lfw_parts", "--root", lfw_raw, "--out", tmp_path / "o", "--workers", "0"]
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in argv])
    assert stop.value.code == 2 and "--workers: must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_resume_of_a_run_whose_saved_config_was_tampered(capsys, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": {"dataset": "lfw_parts"}, "epochs": -1}))
    before = snapshot(run)
    code, _, err = facecolab(capsys, "train", "--resume", run)
    assert code == 2
    one_line_error(err, r"run/config\.json: (epochs = -1|give data\.prepared)")
    assert snapshot(run) == before

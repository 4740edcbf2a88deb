"""``python -m facecolab <command>`` (also installed as ``facecolab``).

Each subcommand is a thin shell over one library function; parsing lives here, work lives in
the modules. This is the command-line dispatch, the one place that imports our modules inside
functions: a run builds the parser of its own subcommand only and imports the modules behind
it then, so ``facecolab --help`` (and ``prepare`` / ``score``) never import Keras.

Exit codes, the same for every entry point (``facecolab``, ``data_prep/load_data.py``,
``f1_score.py``, ``python -m facecolab.apps.*``): 0 done; 2 a usage or user error (a bad
option, bad or missing input, an unwritable output), reported in one line on stderr
(``facecolab CMD: error: …``, ``f1_score.py: error: …``, ``APP: error: …``; ``load_data.py``:
``error: …``); anything else is a bug and keeps Python's traceback (exit 1).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
from pathlib import Path

from facecolab.console import (
    add_max_pixels_option,
    add_threads_option,
    add_verbose_option,
    image_size,
    int_in,
    quiet_backend,
)
from facecolab.constants import (
    CALIBRATION_IMAGES,
    EXPORT_FORMATS,
    MAX_BATCH,
    MAX_PIXELS,
    MAX_SAMPLES,
    QUANTIZE_MODES,
    STRATEGIES,
)
from facecolab.data.imageio import pixel_limit
from facecolab.data.resize import ASPECT_MODES
from facecolab.data.splits import check_split_name
from facecolab.fsutil import describe, held_output_file, output_folder

# One line per subcommand, shown by `facecolab --help`.
HELP = {
    "train": "train a model from a JSON config",
    "prepare": "prepare a raw dataset (same as data_prep/load_data.py)",
    "evaluate": "dataset-level metrics, confusion matrix, JSON",
    "predict": "label maps (PNG) at each input's original size",
    "score": "F1 of label-map folders (same as f1_score.py)",
    "uncertainty": "Monte-Carlo dropout maps (PNG + .npz)",
    "export": "save a model for inference: portable .weights.npz (what ships), .keras, TFLite "
    "(float or quantised) or SavedModel",
    "webcam": "portrait segmentation of a camera, video file or frames folder (same as "
    "python -m facecolab.apps.webcam)",
    "demo": "the main job: a smoke-test training on the bundled sample, then every shipped "
    "model on real photos, on one page (OUT/index.html)",
    "serve": "a browser demo of the shipped models (Gradio, CPU; pip install 'facecolab[app]')",
}


# Subcommands that run no model: they never import Keras or TensorFlow.
WITHOUT_MODELS = ("prepare", "score")


def split_name(text: str) -> str:
    """``--split``: a split name (``train``, ``val``, ``test``, ...), never a path (``../x``
    would name an output outside its folder)."""
    try:
        return check_split_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_train(sub) -> None:
    parser = sub.add_parser(
        "train",
        help=HELP["train"],
        description="Train a model from a JSON config into a run folder (best and last "
        "model, history, metrics, checkpoints by wall time); Ctrl-C stops it, and --resume "
        "RUN_DIR continues from the last checkpoint.",
    )
    parser.add_argument("--config", help="config JSON (configs/*.json)")
    parser.add_argument("--run-dir", help="output folder (default runs/<config name>)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    parser.add_argument(
        "--strategy",
        default="auto",
        choices=STRATEGIES,
        help="devices to train on: auto (every GPU, mirrored, if more than one; else the one "
        "device), one, mirrored or tpu (default auto)",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out prepared items that are empty, unreadable or of another size (counted "
        "on stderr; default: the first is an error naming its file)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. epochs=2 optimizer.learning_rate=1e-4",
    )
    add_verbose_option(parser)
    parser.set_defaults(handler=_run_train)


def _run_train(args) -> int:
    from facecolab.config import load_config
    from facecolab.workflows.train import train

    run_dir = args.resume
    try:
        if args.resume:
            metrics = train({}, run_dir, resume=True, strategy=args.strategy)
        else:
            if not args.config:
                raise ValueError("train needs --config FILE (or --resume RUN_DIR)")
            overrides = [*args.overrides, *(["data.skip_bad=true"] if args.skip_bad else [])]
            config = load_config(args.config, overrides)
            run_dir = args.run_dir or f"runs/{config['name']}"
            metrics = train(config, run_dir, strategy=args.strategy)
    except KeyboardInterrupt:
        print(f"\nfacecolab train: {_interrupted(run_dir)}", file=sys.stderr)
        return 130
    print(json.dumps({k: metrics[k] for k in ("pixel_accuracy", "mean_iou") if k in metrics}))
    return 0


def _interrupted(run_dir) -> str:
    """What to say after Ctrl-C: how to continue the run in ``run_dir`` (or, before it
    recorded anything, that starting again is all there is)."""
    if run_dir is None or not (Path(run_dir) / "config.json").is_file():
        return "interrupted before the run folder held a run; run the same command to start again"
    return (
        "interrupted; the finished epochs are kept. Continue with: facecolab train "
        f"--resume {shlex.quote(str(run_dir))}"
    )


def _add_delegating(sub, name: str, module) -> None:
    """Subcommand ``name`` as ``module``'s own command: its parser (the same options and
    checks) and its ``main``, run on the subcommand's arguments."""
    template = module.build_parser()
    parser = sub.add_parser(
        name, parents=[template], add_help=False, help=HELP[name], description=template.description
    )
    parser.set_defaults(handler=lambda args: module.main(args.command_argv))


def _add_prepare(sub) -> None:
    from facecolab.cli import prepare as prepare_cli

    _add_delegating(sub, "prepare", prepare_cli)


def _add_model_arguments(parser, config_help: str) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="a .keras / .h5 / .weights.h5 file, a run folder, or a name in weights/manifest.json",
    )
    parser.add_argument("--config", metavar="FILE", help=config_help)
    parser.add_argument(
        "--batch-size",
        type=int_in(1, MAX_BATCH),
        default=8,
        help=f"images per forward pass (at most {MAX_BATCH})",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_output_options(parser)
    add_verbose_option(parser)


def add_output_options(parser) -> None:
    """``--overwrite`` (the output policy, ``fsutil.check_outputs``) and ``--max-pixels``."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output files this command did not write (never an input)",
    )
    add_max_pixels_option(parser)


def model_inputs(args, opened) -> list:
    """The files a model-running command reads besides its data: the model file (and so its
    run folder) and ``--config``."""
    given = [opened.path, args.model, getattr(args, "config", None)]
    return [Path(path) for path in given if path and Path(path).exists()]


def _add_image_inputs(parser) -> None:
    """The model, the images and the output folder of ``predict`` and ``uncertainty``."""
    _add_model_arguments(parser, "training config of a weights-only model")
    parser.add_argument(
        "--input",
        required=True,
        help="an image, a folder of images, or a prepared folder with --split",
    )
    parser.add_argument(
        "--split",
        help="with a prepared --input folder (data_prep/load_data.py output): predict that "
        "split's images only",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")


def _add_aspect(parser, what: str) -> None:
    parser.add_argument(
        "--aspect",
        choices=ASPECT_MODES,
        help=f"how {what} are fitted to the model input: stretch, letterbox (pad) or crop "
        "(centre) (default: letterbox for a "
        "person/background model, else the model's training config, else stretch)",
    )


def _add_inference_options(parser) -> None:
    parser.add_argument(
        "--tta",
        choices=("none", "flip"),
        default="none",
        help="test-time augmentation: flip = average with the mirrored image's prediction, "
        "left/right classes swapped back (default none)",
    )
    parser.add_argument(
        "--mc-samples",
        type=int_in(1, MAX_SAMPLES),
        default=1,
        metavar="N",
        help="a Monte-Carlo dropout model (Bayesian SegNet): average N stochastic passes "
        "(default 1: one pass with dropout off)",
    )
    add_threads_option(parser)


def _inference_runner(args):
    """The runner of ``--model`` with ``--tta`` / ``--mc-samples`` (``--config`` for a
    weights-only file, ``--threads`` for TFLite)."""
    from facecolab.data import get_spec
    from facecolab.modelfiles.runner import load_runner, with_flip

    runner = load_runner(args.model, args.threads, args.config, args.mc_samples)
    if args.tta == "flip":
        label_set = getattr(args, "dataset", None) or runner.dataset
        if not label_set:
            raise ValueError(
                f"{args.model}: flip TTA swaps left/right classes, and the model's label set "
                "is unknown; pass --dataset NAME"
            )
        runner = with_flip(runner, get_spec(label_set).flip_lut())
    return runner


def _add_evaluate(sub) -> None:
    parser = sub.add_parser(
        "evaluate",
        help=HELP["evaluate"],
        description="Evaluate a model over a whole split: metrics table "
        "(stdout, markdown), metrics.json and confusion_matrix.png, and the "
        "seed's reported numbers side by side when the config names them.",
    )
    _add_model_arguments(
        parser,
        "training config: its reference.metrics are shown side by "
        "side (default: the run folder's config.json)",
    )
    parser.add_argument(
        "--data",
        required=True,
        help="a prepared folder (evaluated at the model's input size), or a raw "
        "dataset root with --dataset NAME (original resolution)",
    )
    parser.add_argument(
        "--split", type=split_name, default="test", help="split to evaluate (default: test)"
    )
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        help="raw layout of --data (default: the model's training dataset)",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="treat --data as a raw dataset root even if it is prepared",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="output folder (default: outputs/evaluate/<model>-<split>)"
    )
    parser.add_argument(
        "--relabel",
        metavar="TABLE",
        help="with --dataset: evaluate the raw dataset through this relabel table "
        "(facecolab.data.labels.RELABEL_TABLES; default: the model's training config's)",
    )
    _add_aspect(parser, "raw images")
    _add_inference_options(parser)
    parser.set_defaults(handler=_run_evaluate)


def _raw_layout(args, runner) -> tuple[str, str | None]:
    """``(raw layout name, relabel table)`` of ``--data``: ``--dataset`` / ``--relabel``,
    else the model's training data (its config's ``data.dataset`` and ``data.relabel``)."""
    if args.dataset:
        return args.dataset, args.relabel
    data = (runner.run_config or {}).get("data") or {}
    name = data.get("dataset") or runner.dataset
    if not name:
        raise ValueError(
            f"{args.data}: not a prepared folder (no dataset.json); pass --dataset NAME to "
            "evaluate it as a raw dataset"
        )
    return name, args.relabel or data.get("relabel")


def _run_evaluate(args) -> int:
    from facecolab.measures.metrics import format_table
    from facecolab.modelfiles.compat import known_class_names
    from facecolab.workflows.evaluate import (
        evaluate_prepared,
        evaluate_raw,
        format_reference,
        write_evaluation,
    )

    runner = _inference_runner(args)
    names = known_class_names(runner.run_config, runner.dataset)
    data = Path(args.data)
    out = Path(args.out or f"outputs/evaluate/{_model_stem(runner.path)}-{args.split}")
    extras = [f"{args.tta} TTA"] * (args.tta != "none")
    extras += [f"MC mean of {args.mc_samples}"] * (args.mc_samples > 1)
    inputs = [*model_inputs(args, runner), *data_folders(data)]
    outputs = ("metrics.json", "confusion_matrix.png")
    with output_folder(
        out, command="evaluate", inputs=inputs, outputs=outputs, overwrite=args.overwrite
    ):
        if args.raw or not (data / "dataset.json").exists():
            name, relabel = _raw_layout(args, runner)
            result = evaluate_raw(
                runner,
                name,
                data,
                args.split,
                _aspect(args, runner),
                args.batch_size,
                progress=not args.no_progress,
                model_names=names,
                relabel=relabel,
            )
            mode = f"raw {name}{f' relabelled {relabel}' if relabel else ''}, original resolution"
        else:
            result = evaluate_prepared(
                runner,
                data,
                args.split,
                args.batch_size,
                model_names=names,
                progress=not args.no_progress,
            )
            mode = "prepared, at the model's input size"
        mode = ", ".join([mode, *extras])
        result = {
            "model": str(runner.path),
            "data": str(data),
            "split": args.split,
            "mode": mode,
        } | result
        reference = (runner.run_config or {}).get("reference") or {}
        reference = reference if reference.get("metrics") else None
        title = f"{runner.path.name} on {data.name} ({args.split})"
        written = write_evaluation(result, out, reference, title=title)
    print(f"## {title}: {mode}\n\n{format_table(result)}")
    if reference:
        print(f"\n{format_reference(result, reference)}")
    print("\nwrote " + ", ".join(str(p) for p in written.values()))
    return 0


def data_folders(data: Path) -> list[Path]:
    """``data`` and every folder under it: the folders a dataset's files are read from."""
    if not data.is_dir():
        return [data]
    return [data, *(path for path in data.rglob("*") if path.is_dir())]


def _model_stem(path: Path) -> str:
    """``RUN/model_best.keras`` → ``RUN-model_best``; ``m.weights.h5`` → ``m``."""
    stem = path.name.split(".")[0]
    return f"{path.parent.name}-{stem}" if stem.startswith("model_") else stem


def _aspect(args, opened) -> str:
    """``--aspect``, else ``facecolab.workflows.predict.default_aspect`` of the model."""
    from facecolab.workflows.predict import default_aspect

    return args.aspect or default_aspect(opened.dataset, opened.run_config)


def _check_dataset_option(opened, dataset: str) -> None:
    """``--dataset NAME`` must describe the model's classes (else its names and colours
    would be put on ids they do not mean)."""
    from facecolab.data import get_spec
    from facecolab.modelfiles.compat import check_model_classes, known_class_names

    names = known_class_names(opened.run_config, opened.dataset)
    check_model_classes(opened, get_spec(dataset).class_names, f"--dataset {dataset}", names)


def _palette(dataset: str | None):
    """The dataset's colours, else a generic palette."""
    from facecolab.apps.common import palette_of
    from facecolab.data import get_spec

    return palette_of(get_spec(dataset) if dataset else None)


def _add_predict(sub) -> None:
    parser = sub.add_parser(
        "predict",
        help=HELP["predict"],
        description="Predict uint8 label maps <stem>.png at each image's "
        "original size (probabilities resized, then argmax) and optional "
        "colour overlays in overlays/.",
    )
    _add_image_inputs(parser)
    parser.add_argument("--overlay", action="store_true", help="also write colour overlays")
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        help="palette of the overlays (default: the model's training dataset, "
        "else a generic palette)",
    )
    _add_aspect(parser, "images")
    _add_face_crop(parser)
    _add_inference_options(parser)
    parser.set_defaults(handler=_run_predict)


def _add_face_crop(parser) -> None:
    parser.add_argument(
        "--face-crop",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="face models: detect the faces and parse each cropped as the training faces "
        "were, pasted back (default); --no-face-crop for pre-aligned face crops. Dataset "
        "folders are aligned already; portrait models take the whole photo",
    )


def _report_inputs(source, selected) -> None:
    """One line when ``source`` was recognised as a dataset folder
    (``facecolab.data.inputs.select_inputs``)."""
    if selected.layout:
        print(
            f"{source}: a {selected.layout} folder: predicting its {len(selected.paths)} images "
            f"(named by item id, e.g. {selected.names[0]}.png), leaving out its "
            f"{len(selected.left_out)} label maps (e.g. {selected.left_out[0].name})"
        )


def _run_predict(args) -> int:
    from facecolab.data.inputs import select_inputs
    from facecolab.workflows.predict import predict_files

    runner = _inference_runner(args)
    if args.dataset:
        _check_dataset_option(runner, args.dataset)
    palette = _palette(args.dataset or runner.dataset) if args.overlay else None
    selected = select_inputs(args.input, args.split)
    _report_inputs(args.input, selected)
    names = [f"{name}.png" for name in selected.names]
    names += [f"overlays/{name}.jpg" for name in selected.names] if args.overlay else []
    with output_folder(
        args.out,
        ("overlays",) if args.overlay else (),
        command="predict",
        inputs=[*model_inputs(args, runner), args.input, *selected.paths],
        outputs=[*names, "faces.json"],
        overwrite=args.overwrite,
    ):
        written = predict_files(
            runner,
            selected.paths,
            args.out,
            _aspect(args, runner),
            args.batch_size,
            palette,
            progress=not args.no_progress,
            names=selected.names,
            face_crop=args.face_crop and not selected.aligned,
        )
    extra = f" and overlays in {Path(args.out) / 'overlays'}" if args.overlay else ""
    print(f"wrote {len(written)} label maps to {args.out}{extra}")
    return 0


def _add_score(sub) -> None:
    from facecolab.measures import score

    parser = sub.add_parser(
        "score",
        help=HELP["score"],
        description=score.build_parser().description,
    )
    score.add_arguments(parser)
    parser.set_defaults(handler=score.run)


def _add_uncertainty(sub) -> None:
    parser = sub.add_parser(
        "uncertainty",
        help=HELP["uncertainty"],
        description="Monte-Carlo dropout: per image, <stem>.npz (mean "
        "probabilities, labels, entropy, mutual information, variance) and "
        "a <stem>.png figure, at the image's original size. The model needs "
        "always-on dropout (e.g. bayesian=True / mc_dropout=True).",
    )
    _add_image_inputs(parser)
    parser.add_argument(
        "--samples",
        type=int_in(1, MAX_SAMPLES),
        default=50,
        help="forward passes per image (default: 50, as Bayesian SegNet)",
    )
    parser.add_argument("--dataset", metavar="NAME", help="palette of the label panel")
    _add_aspect(parser, "images")
    _add_face_crop(parser)
    parser.set_defaults(handler=_run_uncertainty)


def _run_uncertainty(args) -> int:
    from facecolab.data.inputs import select_inputs
    from facecolab.modelfiles.load import open_model
    from facecolab.workflows.predict import predict_mc_files

    opened = open_model(args.model, args.config)
    if args.dataset:
        _check_dataset_option(opened, args.dataset)
    selected = select_inputs(args.input, args.split)
    _report_inputs(args.input, selected)
    stems = [path.stem for path in selected.paths]
    with output_folder(
        args.out,
        command="uncertainty",
        inputs=[*model_inputs(args, opened), args.input, *selected.paths],
        outputs=[f"{stem}{suffix}" for stem in stems for suffix in (".npz", ".png")],
        overwrite=args.overwrite,
    ):
        written = predict_mc_files(
            opened.model,
            selected.paths,
            args.out,
            args.samples,
            _aspect(args, opened),
            args.batch_size,
            _palette(args.dataset or opened.dataset),
            progress=not args.no_progress,
            face_crop=args.face_crop and not selected.aligned,
            dataset=args.dataset or opened.dataset,
        )
    print(f"wrote {len(written)} uncertainty maps (.npz + .png) to {args.out}")
    return 0


def _add_export(sub) -> None:
    parser = sub.add_parser(
        "export",
        help=HELP["export"],
        description="Export a model for inference: a portable .weights.npz (loads on every "
        "supported Keras; what weights/ ships), a .keras file without optimiser state, a "
        ".tflite file with model metadata for MediaPipe Tasks and LiteRT (float32, or quantised: "
        "float16 weights, dynamic-range int8 weights, or full int8 calibrated on --calib "
        "images), an .onnx file for ONNX Runtime (opset 13; needs facecolab[onnx]), or a "
        "SavedModel folder. With --compare (or --calib) a TFLite or ONNX export is run on those "
        "images beside the Keras model and its mIoU against Keras' labels is reported.",
    )
    parser.add_argument(
        "--model",
        required=True,
        help="a .weights.npz / .keras / .h5 / .weights.h5 file, a run folder, or a name in "
        "weights/manifest.json",
    )
    parser.add_argument(
        "--format",
        choices=("weights", *EXPORT_FORMATS),
        help="default: from --out's suffix (.weights.npz, .keras, .tflite, .onnx; none: "
        "saved_model)",
    )
    parser.add_argument(
        "--out",
        help="file (or SavedModel folder) to write; default exports/<model>[_<quantize>].<format>",
    )
    parser.add_argument(
        "--config",
        help="training config naming the model's builder (.weights.npz from a model that has "
        "no run folder)",
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "float16"),
        default="float32",
        help=".weights.npz precision (float16: half the size; re-measure its metrics)",
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZE_MODES,
        default="none",
        help="TFLite precision: none (float32), float16 weights, dynamic (int8 weights) or int8 "
        "(weights and activations, calibrated on --calib) (default none)",
    )
    parser.add_argument("--calib", metavar="DIR", help="representative images (int8)")
    parser.add_argument(
        "--calib-count",
        type=int_in(1, 100_000),
        default=CALIBRATION_IMAGES,
        help=f"images read from --calib and --compare (default {CALIBRATION_IMAGES})",
    )
    parser.add_argument(
        "--compare",
        metavar="DIR",
        help="images on which to measure the TFLite or ONNX export's mIoU against Keras "
        "(default: --calib)",
    )
    parser.add_argument(
        "--split",
        help="when --compare is a prepared folder: the split whose images to compare on",
    )
    parser.add_argument(
        "--calib-split",
        help="when --calib is a prepared folder: the split to calibrate on (e.g. train, so "
        "the compared split stays unseen)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="let Keras and the converters print (signature dumps, converter logs)",
    )
    parser.add_argument(
        "--input-size",
        type=image_size,
        metavar="H,W",
        help="export the model rebuilt at this input size (its weights as they are; H and W "
        "as its encoder divides them): e.g. a 256x192 portrait model at 192,256 for landscape "
        "camera frames, which then fill the input instead of a band of it",
    )
    _add_aspect(parser, "calibration and comparison images")
    add_threads_option(parser)
    add_output_options(parser)
    parser.set_defaults(handler=_run_export)


def _export_destination(args, opened) -> Path:
    """``--out``, else ``exports/<model stem>[_<quantize>]<suffix>``."""
    from facecolab.modelfiles.export import EXPORT_FORMATS
    from facecolab.modelfiles.portable import SUFFIX as PORTABLE_SUFFIX

    if args.out:
        return Path(args.out)
    fmt = args.format or "keras"
    suffix = PORTABLE_SUFFIX if fmt == "weights" else EXPORT_FORMATS[fmt] or "_saved_model"
    stem = _model_stem(opened.path) + (f"_{args.quantize}" if args.quantize != "none" else "")
    return Path("exports") / f"{stem}{suffix}"


def _run_export(args) -> int:
    from dataclasses import replace

    from facecolab.data.inputs import input_images
    from facecolab.modelfiles.export import (
        agreement,
        export_model,
        read_images,
        segmenter_metadata,
    )
    from facecolab.modelfiles.load import export_portable, open_model
    from facecolab.modelfiles.manifest import listed_name
    from facecolab.modelfiles.portable import is_portable
    from facecolab.modelfiles.runner import builder_for, keras_runner, load_runner
    from facecolab.models import rebuilt_at

    opened = open_model(args.model, args.config)
    destination = _export_destination(args, opened)
    portable = args.format == "weights" or (args.format is None and is_portable(destination))
    if portable and (args.quantize != "none" or args.calib or args.compare):
        raise ValueError("--quantize, --calib and --compare apply to TFLite exports")
    if portable and args.input_size:
        raise ValueError(f"{destination}: --input-size applies to exported models, not weights")
    model = opened.model
    if args.input_size:
        builder = builder_for(opened)
        if builder is None:
            raise ValueError(
                f"{args.model}: cannot rebuild it at --input-size (no training config says how "
                "it was built; pass --config)"
            )
        model = rebuilt_at(model, (*args.input_size, 3), builder)
    if not portable and args.dtype != "float32":
        raise ValueError(f"{destination}: --dtype and its precisions apply to .weights.npz exports")
    compare = args.compare or args.calib
    compare_split = args.split if args.compare else args.split or args.calib_split
    # Every argument checked before the first byte: the image folders are listed now.
    inputs = model_inputs(args, opened)
    if args.calib:
        inputs += [args.calib, *input_images(args.calib, args.calib_split)]
    if compare:
        inputs += [compare, *input_images(compare, compare_split)]
    if not destination.suffix and not portable:  # a SavedModel folder
        if destination.exists() and not args.overwrite:
            raise ValueError(f"{destination}: exists; pass --overwrite to replace it")
        held = contextlib.nullcontext(destination)
    else:
        held = held_output_file(destination, inputs, overwrite=args.overwrite, command="export")
    with held:
        if portable:
            path = export_portable(args.model, destination, args.config, args.dtype)
            print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
            return 0
        name = listed_name(opened.path) if opened.path.is_file() else None
        stem = name or _model_stem(opened.path)
        metadata = segmenter_metadata(model, stem, dataset=opened.dataset)
        path = export_model(
            model,
            destination,
            args.format,
            args.quantize,
            args.calib,
            _aspect(args, opened),
            args.calib_count,
            args.calib_split,
            metadata,
            args.verbose,
            args.overwrite,
        )
    size = sum(p.stat().st_size for p in [path, *path.rglob("*")] if p.is_file())
    print(f"wrote {path} ({size / 1e6:.2f} MB)")
    if compare and path.suffix in (".tflite", ".onnx"):
        images = read_images(compare, args.calib_count, compare_split)
        scores = agreement(
            replace(keras_runner(model), turned=None),  # as the file runs: one shape
            load_runner(path, args.threads),
            images,
            _aspect(args, opened),
        )
        print(
            f"{'ONNX' if path.suffix == '.onnx' else f'TFLite ({args.quantize})'} vs Keras on "
            f"{scores['images']} images of {compare}: "
            f"mIoU {100 * scores['mean_iou']:.2f} % (cost {100 * (1 - scores['mean_iou']):.2f} "
            f"points), same label on {100 * scores['pixel_agreement']:.2f} % of pixels"
        )
    return 0


def _add_webcam(sub) -> None:
    from facecolab.apps import webcam

    _add_delegating(sub, "webcam", webcam)


def _add_demo(sub) -> None:
    parser = sub.add_parser("demo", help=HELP["demo"], description=HELP["demo"].capitalize())
    parser.add_argument("--out", default="outputs/demo", help="output folder")
    parser.add_argument("--epochs", type=int_in(1, 10_000), default=8, help="epochs on the sample")
    add_verbose_option(parser)
    parser.set_defaults(handler=_run_demo)


def _run_demo(args) -> int:
    from facecolab.apps.demo import run_demo

    run_demo(args.out, epochs=args.epochs)
    return 0


def _add_serve(sub) -> None:
    parser = sub.add_parser(
        "serve",
        help=HELP["serve"],
        description="A browser demo of the shipped models (Gradio, the extra facecolab[app]): "
        "parse a face, recolour hair and lips, cut out a portrait, MC-dropout uncertainty; "
        "each tab is also an API endpoint. Listens on this machine only unless --host says "
        "otherwise.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument("--port", type=int_in(1, 65535), default=7860, help="port (default 7860)")
    parser.add_argument(
        "--models", nargs="+", metavar="NAME", help="shipped models offered (default: all of them)"
    )
    add_verbose_option(parser)
    parser.set_defaults(handler=_run_serve)


def _run_serve(args) -> int:
    from facecolab.apps.serve import server_environment

    server_environment()  # before Gradio is imported: it reads its temporary folder then
    try:
        from facecolab.apps.serve_ui import serve
    except ImportError as error:
        raise ValueError(
            f"the browser demo needs Gradio: pip install 'facecolab[app]' ({error})"
        ) from None
    serve(args.host, args.port, args.models)
    return 0


# Subcommand → the function adding its parser, in the order --help lists them.
SUBCOMMANDS = {
    "prepare": _add_prepare,
    "train": _add_train,
    "evaluate": _add_evaluate,
    "predict": _add_predict,
    "score": _add_score,
    "uncertainty": _add_uncertainty,
    "export": _add_export,
    "webcam": _add_webcam,
    "demo": _add_demo,
    "serve": _add_serve,
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``facecolab`` parser. ``command``: build that subcommand's options only (the others
    are listed with their help line), so a run imports what its own options need and
    nothing else; ``None``: every subcommand in full."""
    parser = argparse.ArgumentParser(prog="facecolab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, add in SUBCOMMANDS.items():
        if command is None or command == name:
            add(sub)
        else:
            sub.add_parser(name, help=HELP[name])
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv else ""
    args = build_parser(command).parse_args(argv)
    args.command_argv = argv[1:]  # the subcommand's own arguments (for delegating parsers)
    if command not in WITHOUT_MODELS:
        # The arguments are checked (--help and usage errors answered without a backend):
        # TensorFlow's start-up log lines filtered, Keras's warnings hidden, unless --verbose.
        quiet_backend(args.verbose)
    try:
        with pixel_limit(getattr(args, "max_pixels", MAX_PIXELS)):
            return args.handler(args)
    except Exception as error:
        message = user_error(error)
        if message is None:
            raise  # a bug: keep the traceback
        print(f"facecolab {args.command}: error: {message}", file=sys.stderr)
        return 2


def user_error(error: Exception) -> str | None:
    """The one-line message of an error the user can act on, ``None`` for anything else.

    User errors: bad values (``ValueError``), file-system problems on input or output
    (``OSError``, named by file), a diverged training run (``FloatingPointError``), and
    TensorFlow's own errors about data files: a missing file, or the pipeline's label check
    (``pipeline.LABEL_CHECK``)."""
    if isinstance(error, (ValueError, OSError, FloatingPointError)):
        return describe(error)
    tf = sys.modules.get("tensorflow")
    if tf is None or not isinstance(error, tf.errors.OpError):
        return None
    from facecolab.data.tf_pipeline import LABEL_CHECK

    text = " ".join(error.message.split())
    if LABEL_CHECK in text:  # "… [LABEL_CHECK] [file: what, e.g.] [14 20] [[{{node …"
        detail = text[text.index(LABEL_CHECK) + len(LABEL_CHECK) :].split("[[")[0]
        return " ".join(part.strip(" []") for part in detail.split("] [")).strip()
    if isinstance(error, tf.errors.NotFoundError):
        return text
    return None

"""Write the notebooks in ``notebooks/`` from the cells below, without outputs.

    python scripts/make_notebooks.py          # (re)write every notebook
    python scripts/make_notebooks.py --check  # exit 1 if a notebook differs from this script

The notebooks are thin, keras-io style: a header, one markdown cell per section, short code
cells that call ``facecolab``. Edit the cells here, never the ``.ipynb`` files, so the
notebooks stay reproducible and reviewable. The code cell tagged ``parameters`` holds every
setting a user (or ``tests/test_notebooks.py``) changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
GITHUB = "facecolab/facecolab"  # owner/name of the public repository: Colab clones it
CLONE = "/content/facecolab"  # where Colab clones it
BRANCH = "main"
PARAMETERS_TAG = "parameters"
GPU_ACCELERATOR = (
    "a GPU for the real dataset (Colab: Runtime → Change runtime type → GPU); "
    "the bundled sample runs on a CPU."
)


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(dedent(text).strip())


def code(text: str, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(dedent(text).strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def header(filename: str, title: str, body: str, accelerator: str) -> nbformat.NotebookNode:
    colab = f"https://colab.research.google.com/github/{GITHUB}/blob/{BRANCH}/notebooks/{filename}"
    source = f"https://github.com/{GITHUB}/blob/{BRANCH}/notebooks/{filename}"
    return md(
        f"# {title}\n\n"
        f"[Open in Colab]({colab}) • [View on GitHub]({source})\n\n"
        + dedent(body).strip()
        + f"\n\n**Accelerator:** {accelerator}"
    )


SETUP = [
    md("""
        ## Setup

        On Colab this clones the repository and installs what Colab lacks; TensorFlow and
        Keras are filtered out of the requirements so Colab's own (GPU) builds are never
        reinstalled. Elsewhere, run the notebook from a checkout set up with
        `. scripts/setup.sh` (it does nothing here).
    """),
    code(f"""
        import sys

        if "google.colab" in sys.modules:
            !test -d {CLONE} || git clone -q --depth 1 https://github.com/{GITHUB} {CLONE}
            %cd {CLONE}
            !grep -v -E '^(tensorflow|keras)' requirements.txt | pip install -q -r /dev/stdin
    """),
]


def parameters(
    work: str,
    epochs: int,
    image_size: int,
    batch_size: int,
    seed_values: str,
    extra: str = "",
    imagenet: bool = True,
) -> list:
    """The parameters section: sample mode by default, the seed's values in the comments."""
    imagenet_line = (
        "IMAGENET_WEIGHTS = True  # encoder from ImageNet weights (downloaded); False: random\n"
        if imagenet
        else ""
    )
    cell = (
        "DATA_ROOT = None  # None: the bundled sample; else the raw dataset folder\n"
        "PRETRAINED = False  # True: load the weights named in weights/manifest.json\n"
        f"EPOCHS = {epochs}  # None: the config's value\n"
        f"IMAGE_SIZE = {image_size}  # None: the config's value\n"
        f"BATCH_SIZE = {batch_size}  # None: the config's value\n"
        + imagenet_line
        + "SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)\n"
        f'WORK_DIR = "outputs/{work}"  # samples, prepared data, runs and results go here\n'
        'OVERRIDES = []  # more config overrides, e.g. ["optimizer.learning_rate=1e-4"]\n'
        + dedent(extra).strip()
    )
    return [
        md(f"""
            ## Parameters

            With `DATA_ROOT = None` everything runs on the **bundled sample**: a miniature copy
            of the dataset in its real on-disk layout, drawn procedurally (faces with hair,
            brows, eyes, lips, ears, glasses…), so every step below runs exactly as on the
            real data, in a few minutes on a CPU. Numbers on the sample only show that the
            pipeline works. For the real dataset, set `DATA_ROOT` to its folder and the
            sizes to the seed's: {seed_values} (or `None` for the config's values).
        """),
        code(cell.strip(), tags=(PARAMETERS_TAG,)),
    ]


def config_cells(config_file: str, what: str, imagenet: bool) -> list:
    imagenet_argument = "imagenet=IMAGENET_WEIGHTS, " if imagenet else ""
    return [
        md(f"""
            ## Configuration

            `configs/{config_file}` holds {what}. `project_config` points it at the data and
            applies the parameters above.
        """),
        code(f"""
            from facecolab.sample_mode import project_config

            config = project_config("{config_file}", DATA_ROOT, WORK_DIR, epochs=EPOCHS,
                                    image_size=IMAGE_SIZE, batch_size=BATCH_SIZE,
                                    {imagenet_argument}sample_count=SAMPLE_COUNT,
                                    overrides=OVERRIDES)
            print(config["description"])
        """),
    ]


DATA = [
    md("""
        ## Data

        `prepared_dir` prepares the raw dataset once (resized images, single-channel label
        PNGs, split lists and a `dataset.json` with class pixel counts); reruns reuse it.
        Labels are resized with nearest neighbour only, so no invalid id appears on borders.
    """),
    code("""
        from facecolab.datasets.prepare import read_dataset_info
        from facecolab.train import prepared_dir
        from facecolab.viz import sample_grid

        PREPARED = prepared_dir(config)
        print("images per split:", read_dataset_info(PREPARED)["counts"])
        sample_grid(PREPARED)
    """),
]

TRAIN = [
    md("""
        ## Train

        One training loop for every project (`facecolab.train.train`): it keeps the best
        and the last model, a history CSV and a resumable checkpoint after every epoch, so
        rerunning this cell after a Colab disconnect continues where it stopped. With
        `PRETRAINED = True` the published weights are loaded instead; when they are not
        available the message says how to get them, and the config is trained.
    """),
    code("""
        from facecolab.train import load_or_train, run_dir_for
        from facecolab.viz import training_curves

        model, RUN_DIR = load_or_train(config, run_dir_for(config, WORK_DIR), pretrained=PRETRAINED)
        print("run folder:", RUN_DIR)
        training_curves(RUN_DIR)
    """),
]


def evaluate_cells(note: str = "") -> list:
    return [
        md(f"""
            ## Evaluate

            One confusion matrix accumulated over the whole test split (never averaged per
            batch), then the per-class table and the seed's reported numbers side by side.
            {note}
        """),
        code("""
            from IPython.display import Image, Markdown, display

            from facecolab.evaluate import evaluate_prepared, format_reference, write_evaluation
            from facecolab.metrics import format_table

            result = evaluate_prepared(model, PREPARED, config["data"]["test_split"])
            written = write_evaluation(result, f"{WORK_DIR}/evaluation", config["reference"])
            display(Markdown(format_table(result)))
            display(Markdown(format_reference(result, config["reference"])))
            Image(filename=str(written["confusion_matrix"]))
        """),
    ]


PREDICT = [
    md("""
        ## Predict

        Test images at their original size: the model sees them resized to its input, the
        probabilities are resized back and only then turned into labels. Top: photos;
        middle: predictions; bottom: ground truth.
    """),
    code("""
        from facecolab.evaluate import predict_items
        from facecolab.predict import predict_files
        from facecolab.sample_mode import raw_format, split_items
        from facecolab.viz import prediction_grid

        fmt, aspect = raw_format(config), config["data"]["aspect"]
        spec = fmt.spec
        items = split_items(config, config["data"]["test_split"], limit=4)
        predict_files(model, [item.image_path for item in items], f"{WORK_DIR}/predictions",
                      aspect, palette=spec.palette(), names=[item.key for item in items])
        predictions = list(predict_items(model, fmt, items, aspect))
        prediction_grid(predictions, spec.palette())
    """),
]


def project_notebook(
    filename,
    title,
    body,
    config_file,
    what,
    seed_values,
    work,
    extras,
    epochs=3,
    image_size=128,
    batch_size=8,
    extra_parameters="",
    evaluate_note="",
    imagenet=False,
):
    return [
        header(filename, title, body, GPU_ACCELERATOR),
        *SETUP,
        *parameters(
            work, epochs, image_size, batch_size, seed_values, extra_parameters, imagenet=imagenet
        ),
        *config_cells(config_file, what, imagenet),
        *DATA,
        *TRAIN,
        *evaluate_cells(evaluate_note),
        *PREDICT,
        *extras,
    ]


P1_EXTRAS = [
    md("""
        ## Uncertainty: Monte-Carlo dropout

        Bayesian SegNet keeps its dropout layers on at test time and averages `MC_SAMPLES`
        forward passes (50 in the paper, 30 in the seed). The predictive entropy is the total
        uncertainty; the mutual information is the part due to the weights, high where the
        samples disagree — typically along the face boundary.
    """),
    code("""
        from facecolab.predict import predict_mc_files

        mc_files = predict_mc_files(model, [item.image_path for item in items[:2]],
                                    f"{WORK_DIR}/uncertainty", samples=MC_SAMPLES,
                                    palette=spec.palette())
        Image(filename=str(mc_files[0].with_suffix(".png")))
    """),
    md("""
        Averaging the samples should also give better calibrated probabilities than one
        pass with dropout off: the reliability diagram bins pixels by confidence and
        compares it with their accuracy (expected calibration error, ECE, in the legend).
    """),
    code("""
        from facecolab.loader import PreparedBatches
        from facecolab.metrics import confusion_matrix, mean_iou, predicted_labels
        from facecolab.models import without_mc_dropout
        from facecolab.uncertainty import predict_mc, reliability_diagram
        from facecolab.viz import plot_reliability

        test_split = PreparedBatches(PREPARED, config["data"]["test_split"], batch_size=64,
                                     image_size=model.input_shape[1:3])
        images, labels = test_split[0]  # the first 64 test images
        mc = predict_mc(model, images, samples=MC_SAMPLES)
        single = without_mc_dropout(model).predict(images, verbose=0)
        for name, predicted in (("MC mean", mc.labels), ("single pass", predicted_labels(single))):
            print(f"{name}: mean IoU {100 * mean_iou(confusion_matrix(labels, predicted, 2)):.2f}")
        figure = plot_reliability({f"MC mean ({MC_SAMPLES})": reliability_diagram(mc.mean, labels),
                                   "single pass": reliability_diagram(single, labels)})
        figure.savefig(f"{WORK_DIR}/uncertainty/reliability.png", dpi=100)
        Image(filename=f"{WORK_DIR}/uncertainty/reliability.png")
    """),
]

P2_EXTRAS = [
    md("""
        ## Visualisation modes

        Project 2's test script showed the parsing in several ways; `facecolab.apps.face_parsing`
        renders each (`mask`, `overlay`, `side_by_side`, `parts`), also from the shell:
        `python -m facecolab.apps.face_parsing -i face.jpg -m RUN_DIR -v parts`.
    """),
    code("""
        from facecolab.apps.face_parsing import render
        from facecolab.viz import tile

        first = predictions[0]
        tile([[render(first.image, first.label, "parts", spec.palette(), spec.class_names)]])
    """),
    md("""
        ## Recolouring lips and hair

        The seed's experiment: change the colour of a part in HSV inside its mask (soft edge,
        then a light sharpening). The part's ids come from the class names (lips: `u_lip`,
        `l_lip`; hair: `hair`). Left to right: photo, recoloured with the predicted mask,
        recoloured with the ground-truth mask. From the shell:
        `python -m facecolab.apps.recolour -i face.jpg -m RUN_DIR --part lips --colour '#a03'`.
    """),
    code("""
        from facecolab.apps.common import save_image
        from facecolab.apps.recolour import part_class_ids, recolour

        part_ids = part_class_ids(spec.class_names, PART)
        recoloured = recolour(first.image, first.label, part_ids, colour=COLOUR)
        save_image(recoloured, f"{WORK_DIR}/recolour/{first.item.key}_{PART}.png")
        with_truth = recolour(first.image, first.truth_at_image_size, part_ids, colour=COLOUR)
        tile([[first.image, recoloured, with_truth]])
    """),
]

P3_BODY = """
    Reproduces project 3 (seed 002): 8-class face parsing (background, skin, eyebrows, eyes,
    nose, mouth, ears, glasses) on the Kaggle *multiclass face segmentation* set, whose 18
    classes are merged to 8, with two models trained the same way — **PSPNet** on ResNet50
    features ([Zhao et al., 2017](https://arxiv.org/abs/1612.01105);
    [ResNet](https://arxiv.org/abs/1512.03385)) and **DeepLabv3+** on EfficientNetB0
    ([Chen et al., 2018](https://arxiv.org/abs/1802.02611);
    [EfficientNet](https://arxiv.org/abs/1905.11946)) — with Dice + cross-entropy + Jaccard
    loss and SGD 0.1. The seed reports PSPNet F1 0.916 / IoU 0.8545 on the 7766 test images.
    Unlike the seed, the merged classes get contiguous ids 0–7 (its one-hot encoding of ids
    13 and 16 with depth 8 silently dropped ears and glasses), and PSPNet works at 256×256.
"""

P3_CELLS = [
    header(
        "03_pspnet_deeplab_face8.ipynb",
        "Project 3 — PSPNet and DeepLabv3+: 8 face classes",
        P3_BODY,
        GPU_ACCELERATOR,
    ),
    *SETUP,
    *parameters("p3_face8", 3, 128, 8, "`EPOCHS = 39`, `IMAGE_SIZE = 256`, `BATCH_SIZE = 32`"),
    md("""
        ## Configuration

        Two configs, identical but for the model: `configs/p3_pspnet_face8.json` and
        `configs/p3_deeplab_face8.json`. The 18 → 8 merge is a plain table
        (`facecolab.datasets.labels.FACE8_MERGE`); the source class order is not published
        with the seed, so the order below is an assumption you can edit.
    """),
    code("""
        from facecolab.datasets.labels import FACE8_MERGE, FACE8_SOURCE_CLASSES
        from facecolab.sample_mode import project_config, raw_format

        CONFIG_FILES = {"PSPNet": "p3_pspnet_face8.json", "DeepLabv3+": "p3_deeplab_face8.json"}
        configs = {name: project_config(file, DATA_ROOT, WORK_DIR, epochs=EPOCHS,
                                        image_size=IMAGE_SIZE, batch_size=BATCH_SIZE,
                                        imagenet=IMAGENET_WEIGHTS, sample_count=SAMPLE_COUNT,
                                        overrides=OVERRIDES)
                   for name, file in CONFIG_FILES.items()}
        config = configs["PSPNet"]
        spec = raw_format(config).spec
        print({FACE8_SOURCE_CLASSES[source]: spec.class_names[target]
               for source, target in FACE8_MERGE.items()})
    """),
    *DATA,
    md("""
        ## Train

        Both models go through the same training loop (`facecolab.train.train`, resumable
        after a disconnect). With `PRETRAINED = True` published weights are loaded when
        available; otherwise the message says how to get them and the config is trained.
    """),
    code("""
        from facecolab.train import load_or_train, run_dir_for
        from facecolab.viz import training_curves

        trained = {name: load_or_train(cfg, run_dir_for(cfg, WORK_DIR), pretrained=PRETRAINED)
                   for name, cfg in configs.items()}
        models = {name: model for name, (model, _) in trained.items()}
        training_curves(trained["PSPNet"][1])
    """),
    code("""
        training_curves(trained["DeepLabv3+"][1])
    """),
    md("""
        ## Evaluate

        One confusion matrix per model over the whole test split. The seed's F1 and IoU are
        segmentation-models' means over all 8 classes, background included.
    """),
    code("""
        from IPython.display import Image, Markdown, display

        from facecolab.evaluate import comparison_table, evaluate_prepared, write_evaluation
        from facecolab.metrics import format_table

        results = {name: evaluate_prepared(model, PREPARED, config["data"]["test_split"])
                   for name, model in models.items()}
        for name, result in results.items():
            write_evaluation(result, f"{WORK_DIR}/evaluation/{configs[name]['name']}",
                             configs[name]["reference"], title=name)
            display(Markdown(f"### {name}\\n\\n" + format_table(result)))
        display(Markdown(configs["PSPNet"]["reference"]["source"]))
        Markdown(comparison_table(results, configs["PSPNet"]["reference"]))
    """),
    md("""
        ## Predict

        The Kaggle photos come in portrait and landscape; each is predicted at its own size
        (resized in, probabilities resized back, then argmax). Rows: photos, PSPNet,
        DeepLabv3+ (ground truth at the bottom of each grid).
    """),
    code("""
        from facecolab.evaluate import predict_items
        from facecolab.predict import predict_files
        from facecolab.sample_mode import split_items
        from facecolab.viz import prediction_grid

        fmt, aspect = raw_format(config), config["data"]["aspect"]
        items = split_items(config, config["data"]["test_split"], limit=4)
        for name, model in models.items():
            predict_files(model, [item.image_path for item in items],
                          f"{WORK_DIR}/predictions/{configs[name]['name']}", aspect,
                          palette=spec.palette(), names=[item.key for item in items])
        predictions = {name: list(predict_items(model, fmt, items, aspect))
                       for name, model in models.items()}
        prediction_grid(predictions["PSPNet"], spec.palette())
    """),
    code("""
        prediction_grid(predictions["DeepLabv3+"], spec.palette())
    """),
]

P4_EXTRAS = [
    md("""
        ## Helen F1 (the seed's `f1_score.py`)

        As in the seed, predictions of **all** test images are saved as PNG label maps and
        scored against the ground-truth label files: one histogram over all images,
        per-class F1 = 2·TP / (|GT| + |Pred|), and the standard Helen groups (eyes, brows,
        nose, mouth; overall = all four, skin/hair/background excluded). The same from the
        shell: `python f1_score.py --pred PRED_DIR --gt GT_DIR`.
    """),
    code("""
        from facecolab.score import find_label_names, format_report, read_label_names, score_folders

        PRED_DIR = f"{WORK_DIR}/predict_image"
        test_items = split_items(config, config["data"]["test_split"])
        predict_files(model, [item.image_path for item in test_items], PRED_DIR, aspect,
                      names=[item.key for item in test_items])
        GT_DIR = test_items[0].label_paths[0].parent
        scores = score_folders(PRED_DIR, GT_DIR, read_label_names(find_label_names(GT_DIR)))
        display(Markdown(format_report(scores)))
        Markdown(format_reference(scores["metrics"], config["reference"]))
    """),
]

P5_EXTRAS = [
    md("""
        ## Portrait composite

        Project 5's test script: the photo is resized keeping its aspect ratio and
        zero-padded to the model's square input (letterbox), the prediction is thresholded
        at 0.5 and the background replaced. Left to right: photo, mask, blurred background,
        `BACKGROUND`. From the shell:
        `python -m facecolab.apps.portrait -i photo.jpg -m RUN_DIR --background blur -o out.png`.
    """),
    code("""
        from facecolab.apps.common import save_image
        from facecolab.apps.portrait import composite, portrait_mask
        from facecolab.viz import tile

        first = predictions[0]
        mask = portrait_mask(model, first.image)
        composed = composite(first.image, mask, BACKGROUND)
        save_image(composed, f"{WORK_DIR}/portrait/{first.item.key}.png")
        tile([[first.image, mask * 255, composite(first.image, mask, "blur"), composed]])
    """),
    md("""
        ## Webcam

        The seed's `webcam.py` runs the same model on a live camera:
        `python -m facecolab.apps.webcam -m RUN_DIR/model_best.keras` (or a `.tflite`
        export, faster on a CPU) on a machine with a camera and `pip install opencv-python`
        (`q` quits). Colab's kernel runs in the cloud and cannot open your camera, but
        `--source video.mp4 --out out.mp4 --no-window` runs headless on a video. Here is what
        the loop does to one frame: the soft person mask at full resolution (smoothed over
        frames in a video), then the background blurred or replaced.
    """),
    code("""
        from facecolab.apps.webcam import person_alpha, render

        alpha = person_alpha(model, first.image)
        tile([[render(first.image, alpha, mode) for mode in ("mask", "blur", "cutout")]])
    """),
]

QUICKSTART = [
    header(
        "00_quickstart_lfw_parts.ipynb",
        "Quickstart — parse a face with the shipped model",
        """
           Loads the model this repository ships (`weights/lfw_parts_unet.weights.npz`, a small
           U-Net trained with `configs/lfw_parts.json` on the LFW Part Labels train split —
           [Kae et al., 2013](http://vis-www.cs.umass.edu/lfw/part_labels/); background /
           skin / hair) and parses a real photo that ships with scikit-image (NASA's
           public-domain portrait of astronaut Eileen Collins). Then see the five project
           notebooks, which reproduce:

           1. `01_segnet_celeba_face` — Bayesian SegNet, face vs background, with
              Monte-Carlo dropout uncertainty ([arXiv 1511.02680](https://arxiv.org/abs/1511.02680));
           2. `02_unet_celebamask_hq` — U-Net on CelebAMask-HQ's 19 classes, lip and hair
              recolouring;
           3. `03_pspnet_deeplab_face8` — PSPNet and DeepLabv3+ on 8 merged face classes;
           4. `04_unet_helen` — U-Net on Helen, scored with the Helen F1 protocol;
           5. `05_portrait_mobilenetv2` — MobileNetV2 U-Net portrait segmentation and
              background replacement.
           """,
        "none needed: everything here runs on a CPU in about a minute.",
    ),
    *SETUP,
    md("""
        ## Parameters

        `PRETRAINED = True` loads the shipped weights. When they are missing, the message
        says how to get them and a model is trained on LFW Part Labels instead — on the
        bundled sample (`DATA_ROOT = None`) or on the real data (`DATA_ROOT` = the folder
        with `lfw_funneled/` and `parts_lfw_funneled_gt_images/`).
    """),
    code(
        """
        PRETRAINED = True
        DATA_ROOT = None  # only used when training: None = the bundled sample
        EPOCHS = 3  # None: the config's value
        IMAGE_SIZE = 128  # None: the config's value
        BATCH_SIZE = 8  # None: the config's value
        SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
        WORK_DIR = "outputs/quickstart"
        OVERRIDES = []
    """,
        tags=(PARAMETERS_TAG,),
    ),
    md("""
        ## Load the model
    """),
    code("""
        from facecolab.datasets import get_spec
        from facecolab.sample_mode import project_config
        from facecolab.train import load_or_train, run_dir_for
        from facecolab.weights import read_manifest

        config = project_config("lfw_parts.json", DATA_ROOT, WORK_DIR, epochs=EPOCHS,
                                image_size=IMAGE_SIZE, batch_size=BATCH_SIZE,
                                sample_count=SAMPLE_COUNT, overrides=OVERRIDES)
        model, RUN_DIR = load_or_train(config, run_dir_for(config, WORK_DIR), pretrained=PRETRAINED,
                                       pretrained_name="lfw_parts_unet")
        spec = get_spec("lfw_parts")
        print("shipped model:", read_manifest().get("lfw_parts_unet", "not in the manifest"))
    """),
    md("""
        ## Parse a photo

        The model was trained on LFW's framing (a face detection enlarged 2.2×), so the photo
        is parsed through the same framing: detect the face (scikit-image's cascade), cut the
        square around it, predict, paste the labels back.
    """),
    code("""
        import numpy as np
        from skimage import data

        from facecolab.apps.common import save_image
        from facecolab.apps.face_parsing import render
        from facecolab.viz import tile
        from facecolab.apps.photo import parse_photo

        photo = data.astronaut()
        label, box = parse_photo(model, photo)
        shares = np.bincount(label.ravel(), minlength=spec.num_classes) / label.size
        print({name: f"{100 * share:.1f}%" for name, share in zip(spec.class_names, shares)})
        save_image(render(photo, label, "side_by_side", spec.palette()),
                   f"{WORK_DIR}/astronaut_side_by_side.png")
        tile([[render(photo, label, "overlay", spec.palette())]])
    """),
    code("""
        tile([[render(photo, label, "parts", spec.palette(), spec.class_names)]])
    """),
    md("""
        ## From the shell

        The same photo parsing, and label maps for a folder of face crops like LFW's:

        ```
        python -m facecolab.apps.face_parsing --face-crop -i me.jpg -m lfw_parts_unet
        python -m facecolab predict --model lfw_parts_unet --input crops/ --out out/
        ```
    """),
]


def build_notebooks() -> dict[str, list]:
    """File name → cells."""
    return {
        "00_quickstart_lfw_parts.ipynb": QUICKSTART,
        "01_segnet_celeba_face.ipynb": project_notebook(
            "01_segnet_celeba_face.ipynb",
            "Project 1 — Bayesian SegNet: face vs background on CelebA",
            """
            Reproduces project 1 (seed 000): **SegNet** ([Badrinarayanan et al.,
            arXiv 1511.00561](https://arxiv.org/abs/1511.00561)) with a VGG16 encoder, max-pooling
            indices reused by the decoder, and Monte-Carlo dropout — **Bayesian SegNet**
            ([Kendall et al., arXiv 1511.02680](https://arxiv.org/abs/1511.02680)) — separating face
            from background on 1000 / 200 / 200 crops of
            [CelebA](http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) at 256×256 (masks: grey
            > 128 = face). Adam 1e-3, batch 1. The seed reports pixel accuracy 0.990, mean IU
            0.977, and uncertainty maps from MC dropout.
            """,
            "p1_segnet_celeba.json",
            "the seed's settings (Bayesian SegNet, 2 classes, 256², Adam 1e-3, batch 1)",
            "`EPOCHS = 30`, `IMAGE_SIZE = 256`, `BATCH_SIZE = 1`",
            "p1_segnet_celeba",
            P1_EXTRAS,
            batch_size=4,
            imagenet=True,
            extra_parameters="MC_SAMPLES = 50  # Monte-Carlo dropout passes (Bayesian SegNet: 50)",
        ),
        "02_unet_celebamask_hq.ipynb": project_notebook(
            "02_unet_celebamask_hq.ipynb",
            "Project 2 — U-Net: 19-class face parsing on CelebAMask-HQ, lip and hair recolouring",
            """
            Reproduces project 2 (seed 001): a **U-Net** ([Ronneberger et al.,
            arXiv 1505.04597](https://arxiv.org/abs/1505.04597); base 16 filters, batch norm)
            parsing faces into the 19 classes of
            [CelebAMask-HQ](https://github.com/switchablenorms/CelebAMask-HQ)
            ([Lee et al., arXiv 1907.11922](https://arxiv.org/abs/1907.11922)) at 256×256 with
            sparse cross-entropy, Adam 1e-3, random brightness and ReduceLROnPlateau; then the
            seed's experiment of recolouring lips and hair inside the predicted masks. The seed
            reports accuracy 91.13 % and mIoU 60.90 % (mIoU averaged per batch; masks resized
            bilinearly — both fixed here: nearest-neighbour masks, one confusion matrix).
            """,
            "p2_unet_celebamask_hq.json",
            "the seed's settings (U-Net base 16 with batch norm, 19 classes, Adam 1e-3, "
            "50 epochs, batch 32, brightness and flips, ReduceLROnPlateau)",
            "`EPOCHS = 50`, `IMAGE_SIZE = 256`, `BATCH_SIZE = 32`",
            "p2_unet_celebamask_hq",
            P2_EXTRAS,
            extra_parameters='PART = "lips"  # or "hair"\nCOLOUR = "#aa0033"',
        ),
        "03_pspnet_deeplab_face8.ipynb": P3_CELLS,
        "04_unet_helen.ipynb": project_notebook(
            "04_unet_helen.ipynb",
            "Project 4 — U-Net on Helen, scored with the Helen F1 protocol",
            """
            Reproduces project 4 (seed 003): a **U-Net** ([Ronneberger et al.,
            arXiv 1505.04597](https://arxiv.org/abs/1505.04597)) on
            [Helen](http://www.ifp.illinois.edu/~vuongle2/helen/) as relabelled by Lin et al.
            ([Face Parsing with RoI Tanh-Warping, arXiv 1906.01342](https://arxiv.org/abs/1906.01342);
            11 classes: bg face lb rb le re nose ulip imouth llip hair; 1999 train / 100 test),
            256×256, Adam 1e-4, batch 4, 30 epochs, binary cross-entropy over the 11 channels;
            predictions saved as PNG and scored with the seed's `f1_score.py` logic. The seed
            reports overall F1 78.02 (published state of the art: about 93–94).
            """,
            "p4_unet_helen.json",
            "the seed's settings (U-Net base 16, 11 classes, Adam 1e-4, batch 4, 30 epochs, "
            "binary cross-entropy)",
            "`EPOCHS = 30`, `IMAGE_SIZE = 256`, `BATCH_SIZE = 4`",
            "p4_unet_helen",
            P4_EXTRAS,
            batch_size=4,
            evaluate_note="This table is at the prepared size; the Helen F1 below is at "
            "each test image's original size, as the seed scored it.",
        ),
        "05_portrait_mobilenetv2.ipynb": project_notebook(
            "05_portrait_mobilenetv2.ipynb",
            "Project 5 — MobileNetV2 U-Net: portrait segmentation and background replacement",
            """
            Reproduces project 5 (seed 004): a U-Net whose encoder is **MobileNetV2**
            ([Sandler et al., arXiv 1801.04381](https://arxiv.org/abs/1801.04381)) separating
            people from the background on the portrait set of
            [Shen et al., 2016](http://xiaoyongshen.me/webpage_portrait/index.html) (1597
            portraits cropped 5× to 512×512: 6985 train / 500 val), one sigmoid output,
            Dice + binary cross-entropy, Adam 1e-4, brightness and JPEG-quality augmentation,
            letterboxed input. The seed reports about 96.1 % mIoU; PortraitNet reaches 96.6 on
            EG1800 and [SINet](https://arxiv.org/abs/1911.09099) 95.2 with 0.087 M parameters.
            """,
            "p5_portrait_mobilenetv2.json",
            "the seed's settings (MobileNetV2 U-Net, sigmoid output, Dice + BCE, Adam 1e-4, "
            "20 epochs, brightness and JPEG augmentation, letterbox)",
            "`EPOCHS = 20`, `IMAGE_SIZE = 256`, `BATCH_SIZE = 8`",
            "p5_portrait_mobilenetv2",
            P5_EXTRAS,
            imagenet=True,
            extra_parameters='BACKGROUND = "white"  # "blur", "white" or an image file',
        ),
    }


def make_notebook(cells: list, accelerator: bool) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "toc_visible": True},
    }
    if accelerator:
        notebook.metadata["accelerator"] = "GPU"
    for index, cell in enumerate(cells):
        cell.id = f"cell-{index:02d}"  # stable ids: reruns write identical files
    notebook.cells = cells
    nbformat.validate(notebook)
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only compare with the files in notebooks/ (exit 1 on a difference)",
    )
    args = parser.parse_args(argv)
    NOTEBOOKS.mkdir(exist_ok=True)
    stale = []
    for filename, cells in build_notebooks().items():
        text = nbformat.writes(make_notebook(cells, not filename.startswith("00_"))) + "\n"
        path = NOTEBOOKS / filename
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(filename)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print(f"out of date (run scripts/make_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

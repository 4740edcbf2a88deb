# %% [markdown]
# # Project 3 — PSPNet and DeepLabv3+: 8 face classes
#
# Reproduces project 3 (seed 002): 8-class face parsing (background, skin, eyebrows, eyes, nose,
# mouth, ears, glasses) on the Kaggle *multiclass face segmentation* set, whose 18 classes are
# merged to 8, with two models trained the same way — **PSPNet** on ResNet50 features ([Zhao et
# al., 2017](https://arxiv.org/abs/1612.01105); [ResNet](https://arxiv.org/abs/1512.03385)) and
# **DeepLabv3+** on EfficientNetB0 ([Chen et al., 2018](https://arxiv.org/abs/1802.02611);
# [EfficientNet](https://arxiv.org/abs/1905.11946)) — with Dice + cross-entropy + Jaccard loss and
# SGD 0.1. The seed reports PSPNet F1 0.916 / IoU 0.8545 on the 7766 test images. Unlike the seed,
# the merged classes get contiguous ids 0–7 (its one-hot encoding of ids 13 and 16 with depth 8
# silently dropped ears and glasses), and PSPNet works at 256×256.
#
# **Accelerator:** a GPU for the real dataset (Colab: Runtime → Change runtime type → GPU); the
# bundled sample runs on a CPU.

# %% [markdown]
# ## Parameters
#
# With `DATA_ROOT = None` everything runs on the **bundled sample**: a miniature copy of the
# dataset in its real on-disk layout, drawn procedurally (faces with hair, brows, eyes, lips,
# ears, glasses…), so every step below runs exactly as on the real data, in a few minutes on a
# CPU. Numbers on the sample only show that the pipeline works. For the real dataset, set
# `DATA_ROOT` to its folder and the sizes to the seed's: `EPOCHS = 39`, `IMAGE_SIZE = 256`,
# `BATCH_SIZE = 32` (or `None` for the config's values).

# %% tags=["parameters"]
DATA_ROOT = None  # None: the bundled sample; else the raw dataset folder
PRETRAINED = False  # True: never trains; loads MODEL_PATHS, else PRETRAINED_NAMES
# shipped: PSPNet on CelebAMask-HQ relabelled to the 8 classes, 384²; DeepLabv3+: none
PRETRAINED_NAMES = {"PSPNet": "p3_pspnet_celebamask_face8", "DeepLabv3+": None}
MODEL_PATHS = {"PSPNet": None, "DeepLabv3+": None}  # with PRETRAINED: your own files
EPOCHS = 3  # None: the config's value
IMAGE_SIZE = 128  # None: the config's value
BATCH_SIZE = 8  # None: the config's value
IMAGENET_WEIGHTS = True  # encoder from ImageNet weights (downloaded); False: random
SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
WORK_DIR = None  # None: on Drive when mounted, else under outputs/ (see Data below)
USE_DRIVE = True  # on Colab: mount Google Drive and keep WORK_DIR there
OVERRIDES = []  # more config overrides, e.g. ["optimizer.learning_rate=1e-4"]

# %% [markdown]
# ## Data: sources, Colab, layout
#
# **Source:** the Kaggle *multiclass face segmentation* set the seed used (18 classes, 7766
# test images; download it from Kaggle with your account and accept its terms), organised as
# below. Not redistributed here. The shipped `p3_pspnet_celebamask_face8` is PSPNet trained on
# [CelebAMask-HQ](https://github.com/switchablenorms/CelebAMask-HQ) relabelled to the same 8
# classes, at 384×384; **no DeepLabv3+ weights ship**, so with `PRETRAINED = True` DeepLabv3+
# is left out unless `MODEL_PATHS["DeepLabv3+"]` names your own file.
#
# **On Colab**, either
#
# 1. keep the unpacked dataset in your Google Drive (mounted below when `USE_DRIVE = True`) and
#    set `DATA_ROOT = "/content/drive/MyDrive/datasets/face8"` (preparation is faster from
#    a copy on the runtime's disk: `!cp -r` it to `/content/face8` first); or
# 2. fetch an archive you may download, checked against its sha256 and unpacked safely (no
#    member may land outside the folder): `from facecolab.apps.colab import fetch_dataset` then
#    `DATA_ROOT = fetch_dataset(URL, SHA256, "/content/data/face8")`.
#
# `DATA_ROOT` must hold this layout (`facecolab.data.check.LAYOUTS`):
#
# ```
# DATA_ROOT/
#   train/images/<stem>.jpg   train/masks/<stem>.png    grey ids of the 18 source classes
#   val/images/...            val/masks/...             (or validation/)
#   test/images/...           test/masks/...
# ```
#
# With Drive mounted, `WORK_DIR` defaults to
# `MyDrive/facecolab/p3_face8`,
# so the prepared data, the runs with their resumable checkpoints and the results survive a
# disconnect; otherwise it is `outputs/p3_face8`. Once the config is loaded,
# `check_dataset` reads every split of `DATA_ROOT` with the dataset's own reader and stops with
# one message naming what is missing.

# %%
from facecolab.apps.colab import mount_drive, project_dir

if USE_DRIVE:
    mount_drive()  # on Colab only: asks for permission once
WORK_DIR = WORK_DIR or str(project_dir("p3_face8"))
print("work folder:", WORK_DIR)

# %% [markdown]
# ## Configuration
#
# Two configs, identical but for the model: `configs/p3_pspnet_face8.json` and
# `configs/p3_deeplab_face8.json`. The 18 → 8 merge is a plain table
# (`facecolab.data.labels.FACE8_MERGE`); the source class order is not published with the
# seed, so the order below is an assumption you can edit.

# %%
from facecolab.data.labels import FACE8_MERGE, FACE8_SOURCE_CLASSES
from facecolab.workflows.sample_mode import project_config, raw_format

CONFIG_FILES = {"PSPNet": "p3_pspnet_face8.json", "DeepLabv3+": "p3_deeplab_face8.json"}
configs = {
    name: project_config(
        file,
        DATA_ROOT,
        WORK_DIR,
        epochs=EPOCHS,
        image_size=IMAGE_SIZE,
        batch_size=BATCH_SIZE,
        imagenet=IMAGENET_WEIGHTS,
        sample_count=SAMPLE_COUNT,
        overrides=OVERRIDES,
    )
    for name, file in CONFIG_FILES.items()
}
config = configs["PSPNet"]
spec = raw_format(config).spec
print(
    {
        FACE8_SOURCE_CLASSES[source]: spec.class_names[target]
        for source, target in FACE8_MERGE.items()
    }
)

# %% [markdown]
# ## Prepare
#
# `prepared_dir` prepares the raw dataset once (resized images, single-channel label PNGs, split
# lists and a `dataset.json` with class pixel counts); reruns reuse it. Labels are resized with
# nearest neighbour only, so no invalid id appears on borders.

# %%
from facecolab.data.check import check_dataset

if DATA_ROOT is not None:  # one message naming what is missing, with the layout expected
    data = config["data"]
    print(
        "raw images per split:", check_dataset(data["dataset"], DATA_ROOT, **data["format_options"])
    )
from facecolab.data.prepare import read_dataset_info
from facecolab.viz import sample_grid
from facecolab.workflows.train import prepared_dir

PREPARED = prepared_dir(config)
print("images per split:", read_dataset_info(PREPARED)["counts"])
sample_grid(PREPARED)

# %% [markdown]
# ## Train
#
# Both models go through the same training loop (`facecolab.workflows.train.train`, resumable after
# a
# disconnect). With `PRETRAINED = True` nothing is trained: each model is loaded from
# `MODEL_PATHS`, else from its shipped `PRETRAINED_NAMES` entry; a model with neither (DeepLabv3+
# ships none) is left out with a message saying so.

# %%
from IPython.display import display

from facecolab.viz import training_curves
from facecolab.workflows.train import load_or_train, run_dir_for

trained, missing = {}, []
for name, cfg in configs.items():
    if PRETRAINED and PRETRAINED_NAMES[name] is None and MODEL_PATHS[name] is None:
        missing.append(f"{name}: no shipped weights; set MODEL_PATHS[{name!r}] to your file")
        continue
    trained[name] = load_or_train(
        cfg,
        run_dir_for(cfg, WORK_DIR),
        pretrained=PRETRAINED,
        pretrained_name=PRETRAINED_NAMES[name],
        model_path=MODEL_PATHS[name],
    )
print("\n".join(missing) or "both models ready")
models = {name: model for name, (model, _) in trained.items()}
for run_dir in (run_dir for _, run_dir in trained.values() if run_dir is not None):
    display(training_curves(run_dir))

# %% [markdown]
# ## Evaluate
#
# One confusion matrix per model over the whole test split. The seed's F1 and IoU are
# segmentation-models' means over all 8 classes, background included.

# %%
from IPython.display import Markdown, display

import facecolab
from facecolab.measures.metrics import format_table
from facecolab.workflows.evaluate import comparison_table, write_evaluation
from facecolab.workflows.sample_mode import SMOKE_CHECK

results = {
    name: facecolab.evaluate(model, PREPARED, config["data"]["test_split"])
    for name, model in models.items()
}
for name, result in results.items():
    write_evaluation(
        result,
        f"{WORK_DIR}/evaluation/{configs[name]['name']}",
        configs[name]["reference"],
        title=name,
    )
    display(Markdown(f"### {name}\n\n" + format_table(result)))
if DATA_ROOT is None:
    display(Markdown(SMOKE_CHECK))
else:
    display(Markdown(configs["PSPNet"]["reference"]["source"]))
    display(Markdown(comparison_table(results, configs["PSPNet"]["reference"])))

# %% [markdown]
# ## Predict
#
# The Kaggle photos come in portrait and landscape; each is predicted at its own size (resized in,
# probabilities resized back, then argmax). Rows: photos, PSPNet, DeepLabv3+ (ground truth at the
# bottom of each grid).

# %%
from facecolab.viz import prediction_grid
from facecolab.workflows.evaluate import predict_items
from facecolab.workflows.predict import predict_files
from facecolab.workflows.sample_mode import split_items

fmt, aspect = raw_format(config), config["data"]["aspect"]
items = split_items(config, config["data"]["test_split"], limit=4)
for name, model in models.items():
    predict_files(
        model,
        [item.image_path for item in items],
        f"{WORK_DIR}/predictions/{configs[name]['name']}",
        aspect,
        palette=spec.palette(),
        names=[item.key for item in items],
    )
predictions = {
    name: list(predict_items(model, fmt, items, aspect)) for name, model in models.items()
}
for name in predictions:
    display(
        Markdown(f"### {name}"),
        prediction_grid(predictions[name], spec.palette(), spec.class_names),
    )

# %% [markdown]
# ## The shipped model on real photos
#
# Whatever `PRETRAINED` says, this section shows the shipped PSPNet
# (`PRETRAINED_NAMES["PSPNet"]`) on real photos: its
# validation figures as `weights/manifest.json` records them (with the command that measured
# them), a few of its validation photos against their ground truth when that dataset is on this
# machine, and NASA's public-domain portrait of astronaut Eileen Collins
# (`skimage.data.astronaut()`), parsed as `facecolab.predict` parses any photo: the face found
# and framed as the model's training faces were.

# %%
from IPython.display import Markdown, display

from facecolab.workflows.sample_mode import shipped_figures, shipped_on_real_photos

display(Markdown(shipped_figures(PRETRAINED_NAMES["PSPNet"])))
for picture in shipped_on_real_photos(PRETRAINED_NAMES["PSPNet"]):
    display(picture)

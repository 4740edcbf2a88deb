# %% [markdown]
# # Project 4 — U-Net on Helen, scored with the Helen F1 protocol
#
# Reproduces project 4 (seed 003): a **U-Net** ([Ronneberger et al., arXiv
# 1505.04597](https://arxiv.org/abs/1505.04597)) on
# [Helen](http://www.ifp.illinois.edu/~vuongle2/helen/) as relabelled by Lin et al. ([Face Parsing
# with RoI Tanh-Warping, arXiv 1906.01342](https://arxiv.org/abs/1906.01342); 11 classes: bg face
# lb rb le re nose ulip imouth llip hair; 1999 train / 100 test), 256×256, Adam 1e-4, batch 4, 30
# epochs, binary cross-entropy over the 11 channels; predictions saved as PNG and scored with the
# seed's `f1_score.py` logic. The seed reports overall F1 78.02 (published state of the art: about
# 93–94).
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
# `DATA_ROOT` to its folder and the sizes to the seed's: `EPOCHS = 30`, `IMAGE_SIZE = 256`,
# `BATCH_SIZE = 4` (or `None` for the config's values).

# %% tags=["parameters"]
DATA_ROOT = None  # None: the bundled sample; else the raw dataset folder
PRETRAINED = False  # True: never trains; loads MODEL_PATH, else PRETRAINED_NAME
PRETRAINED_NAME = "p4_unet_celebamask_helen"  # shipped: CelebAMask-HQ relabelled to Helen's 11
MODEL_PATH = None  # with PRETRAINED: your own .keras, .weights.npz or .tflite file
EPOCHS = 10  # None: the config's value
IMAGE_SIZE = 128  # None: the config's value
BATCH_SIZE = 4  # None: the config's value
SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
WORK_DIR = None  # None: on Drive when mounted, else under outputs/ (see Data below)
USE_DRIVE = True  # on Colab: mount Google Drive and keep WORK_DIR there
OVERRIDES = []  # more config overrides, e.g. ["optimizer.learning_rate=1e-4"]

# %% [markdown]
# ## Data: sources, Colab, layout
#
# **Source:** [Helen](http://www.ifp.illinois.edu/~vuongle2/helen/) (Le et al., 2012) as
# relabelled by Lin et al. ([RoI Tanh-Warping, arXiv
# 1906.01342](https://arxiv.org/abs/1906.01342); 11 classes, 2000 train / 100 test; the seed's
# `helen/` folders). Research use; not redistributed here. The shipped
# `p4_unet_celebamask_helen` was trained on
# [CelebAMask-HQ](https://github.com/switchablenorms/CelebAMask-HQ) relabelled to Helen's 11
# classes, at 512×512 — no Helen image was seen in training.
#
# **On Colab**, either
#
# 1. keep the unpacked dataset in your Google Drive (mounted below when `USE_DRIVE = True`) and
#    set `DATA_ROOT = "/content/drive/MyDrive/datasets/helen"` (preparation is faster from
#    a copy on the runtime's disk: `!cp -r` it to `/content/helen` first); or
# 2. fetch an archive you may download, checked against its sha256 and unpacked safely (no
#    member may land outside the folder): `from facecolab.apps.colab import fetch_dataset` then
#    `DATA_ROOT = fetch_dataset(URL, SHA256, "/content/data/helen")`.
#
# `DATA_ROOT` must hold this layout (`facecolab.data.check.LAYOUTS`):
#
# ```
# DATA_ROOT/                                 (Helen relabelled by Lin et al.)
#   label_names.txt                          bg face lb rb le re nose ulip imouth llip hair
#   train/<id>_image.jpg  train/<id>_label.png   1999 pairs (or train.txt listing ids,
#   test/<id>_image.jpg   test/<id>_label.png    100 pairs    pairs in DATA_ROOT)
# ```
#
# With Drive mounted, `WORK_DIR` defaults to
# `MyDrive/facecolab/p4_unet_helen`,
# so the prepared data, the runs with their resumable checkpoints and the results survive a
# disconnect; otherwise it is `outputs/p4_unet_helen`. Once the config is loaded,
# `check_dataset` reads every split of `DATA_ROOT` with the dataset's own reader and stops with
# one message naming what is missing.

# %%
from facecolab.apps.colab import mount_drive, project_dir

if USE_DRIVE:
    mount_drive()  # on Colab only: asks for permission once
WORK_DIR = WORK_DIR or str(project_dir("p4_unet_helen"))
print("work folder:", WORK_DIR)

# %% [markdown]
# ## Configuration
#
# `configs/p4_unet_helen.json` holds the seed's settings (U-Net base 16, 11 classes, Adam 1e-4,
# batch 4, 30 epochs, binary cross-entropy). `project_config` points it at the data and applies
# the parameters above.

# %%
from facecolab.workflows.sample_mode import project_config

config = project_config(
    "p4_unet_helen.json",
    DATA_ROOT,
    WORK_DIR,
    epochs=EPOCHS,
    image_size=IMAGE_SIZE,
    batch_size=BATCH_SIZE,
    sample_count=SAMPLE_COUNT,
    overrides=OVERRIDES,
)
print(config["description"])

# %% [markdown]
# ## Prepare
#
# `prepared_dir` prepares the raw dataset once (resized images, single-channel label PNGs, split
# lists and a `dataset.json` with class pixel counts); reruns reuse it. Labels are resized with
# nearest neighbour only, so no invalid id appears on borders.

# %%
from facecolab.data.check import check_dataset
from facecolab.data.prepare import read_dataset_info
from facecolab.viz import sample_grid
from facecolab.workflows.train import prepared_dir

if DATA_ROOT is not None:  # one message naming what is missing, with the layout expected
    data = config["data"]
    print("raw images:", check_dataset(data["dataset"], DATA_ROOT, **data["format_options"]))
PREPARED = prepared_dir(config)
print("images per split:", read_dataset_info(PREPARED)["counts"])
sample_grid(PREPARED)

# %% [markdown]
# ## Train
#
# One training loop for every project (`facecolab.workflows.train.train`): it keeps the best and
# the last
# model, a history CSV and a resumable checkpoint after every epoch, so rerunning this cell after
# a Colab disconnect continues where it stopped. With `PRETRAINED = True` nothing is
# trained: `MODEL_PATH` is loaded, or when it is `None` the shipped `PRETRAINED_NAME`, at its own
# input size (evaluation and prediction resize to it); when neither is available, or the model
# predicts another label set, the cell stops with one message saying what to do.

# %%
from facecolab.viz import training_curves
from facecolab.workflows.train import load_or_train, run_dir_for

model, RUN_DIR = load_or_train(
    config,
    run_dir_for(config, WORK_DIR),
    pretrained=PRETRAINED,
    pretrained_name=PRETRAINED_NAME,
    model_path=MODEL_PATH,
)
print("run folder:", RUN_DIR)
training_curves(RUN_DIR)

# %% [markdown]
# ## Evaluate
#
# One confusion matrix accumulated over the whole test split (never averaged per batch), then the
# per-class table and the seed's reported numbers side by side. This table is at the prepared
# size; the Helen F1 below is at each test image's original size, as the seed scored it.

# %%
from IPython.display import Image, Markdown, display

import facecolab
from facecolab.measures.metrics import format_table
from facecolab.workflows.evaluate import write_evaluation
from facecolab.workflows.sample_mode import score_notes

result = facecolab.evaluate(model, PREPARED, config["data"]["test_split"])
written = write_evaluation(result, f"{WORK_DIR}/evaluation", config["reference"])
display(Markdown(format_table(result)))
display(Markdown(score_notes(result, config, DATA_ROOT)))
Image(filename=str(written["confusion_matrix"]))

# %% [markdown]
# ## Predict
#
# Test images at their original size: the model sees them resized to its input, the probabilities
# are resized back and only then turned into labels. Top: photos; middle: predictions; bottom:
# ground truth.

# %%
from facecolab.viz import prediction_grid
from facecolab.workflows.evaluate import predict_items
from facecolab.workflows.predict import predict_files
from facecolab.workflows.sample_mode import raw_format, split_items

fmt, aspect = raw_format(config), config["data"]["aspect"]
spec = fmt.spec
items = split_items(config, config["data"]["test_split"], limit=4)
predict_files(
    model,
    [item.image_path for item in items],
    f"{WORK_DIR}/predictions",
    aspect,
    palette=spec.palette(),
    names=[item.key for item in items],
)
predictions = list(predict_items(model, fmt, items, aspect))
prediction_grid(predictions, spec.palette(), spec.class_names)

# %% [markdown]
# ## Helen F1 (the seed's `f1_score.py`)
#
# As in the seed, predictions of **all** test images are saved as PNG label maps and scored
# against the ground-truth label files: one histogram over all images, per-class F1 = 2·TP / (|GT|
# + |Pred|), and the standard Helen groups (eyes, brows, nose, mouth; overall = all four,
# skin/hair/background excluded). The same from the shell: `python f1_score.py --pred PRED_DIR
# --gt GT_DIR`.

# %%
from facecolab.measures.score import (
    find_label_names,
    format_report,
    read_label_names,
    score_folders,
)

PRED_DIR = f"{WORK_DIR}/predict_image"
test_items = split_items(config, config["data"]["test_split"])
predict_files(
    model,
    [item.image_path for item in test_items],
    PRED_DIR,
    aspect,
    names=[item.key for item in test_items],
)
GT_DIR = test_items[0].label_paths[0].parent
scores = score_folders(PRED_DIR, GT_DIR, read_label_names(find_label_names(GT_DIR)))
display(Markdown(format_report(scores)))
Markdown(score_notes(scores["metrics"], config, DATA_ROOT))

# %% [markdown]
# ## The shipped model on real photos
#
# Whatever `PRETRAINED` says, this section shows the shipped `PRETRAINED_NAME` on real photos: its
# validation figures as `weights/manifest.json` records them (with the command that measured
# them), a few of its validation photos against their ground truth when that dataset is on this
# machine, and NASA's public-domain portrait of astronaut Eileen Collins
# (`skimage.data.astronaut()`), parsed as `facecolab.predict` parses any photo: the face found
# and framed as the model's training faces were.

# %%
from IPython.display import Markdown, display

from facecolab.workflows.sample_mode import shipped_figures, shipped_on_real_photos

display(Markdown(shipped_figures(PRETRAINED_NAME)))
for picture in shipped_on_real_photos(PRETRAINED_NAME):
    display(picture)

# %% [markdown]
# # Project 5 — MobileNetV2 U-Net: portrait segmentation and background replacement
#
# Reproduces project 5 (seed 004): a U-Net whose encoder is **MobileNetV2** ([Sandler et al.,
# arXiv 1801.04381](https://arxiv.org/abs/1801.04381)) separating people from the background on
# the portrait set of [Shen et al., 2016](http://xiaoyongshen.me/webpage_portrait/index.html)
# (1597 portraits cropped 5× to 512×512: 6985 train / 500 val), one sigmoid output, Dice + binary
# cross-entropy, Adam 1e-4, brightness and JPEG-quality augmentation, letterboxed input. The seed
# reports about 96.1 % mIoU; PortraitNet reaches 96.6 on EG1800 and
# [SINet](https://arxiv.org/abs/1911.09099) 95.2 with 0.087 M parameters.
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
# `DATA_ROOT` to its folder and the sizes to the seed's: `EPOCHS = 20`, `IMAGE_SIZE = 256`,
# `BATCH_SIZE = 8` (or `None` for the config's values).

# %% tags=["parameters"]
DATA_ROOT = None  # None: the bundled sample; else the raw dataset folder
PRETRAINED = False  # True: never trains; loads MODEL_PATH, else PRETRAINED_NAME
PRETRAINED_NAME = "p5_portrait_shen_mobilenetv2"  # shipped, 256×192; or "p5_portrait_shen_fast"
MODEL_PATH = None  # with PRETRAINED: your own .keras, .weights.npz or .tflite file
EPOCHS = 3  # None: the config's value
IMAGE_SIZE = 128  # None: the config's value
BATCH_SIZE = 8  # None: the config's value
IMAGENET_WEIGHTS = True  # encoder from ImageNet weights (downloaded); False: random
SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
WORK_DIR = None  # None: on Drive when mounted, else under outputs/ (see Data below)
USE_DRIVE = True  # on Colab: mount Google Drive and keep WORK_DIR there
OVERRIDES = []  # more config overrides, e.g. ["optimizer.learning_rate=1e-4"]
BACKGROUND = "white"  # "blur", "white" or an image file

# %% [markdown]
# ## Data: sources, Colab, layout
#
# **Source:** the portraits of [Shen et al., 2016](http://xiaoyongshen.me/webpage_portrait/index.html)
# as the seed cropped them (`train|val/{data,label_1}`), or EG1800 as released with
# [PortraitNet](https://doi.org/10.1016/j.cag.2019.08.018) (same people, 1447 train / 289 test;
# set `OVERRIDES = ["data.dataset=eg1800"]`). Research use; not redistributed here. The
# shipped models were trained on the Shen et al. photos in the EG1800 layout at 256×192:
# `p5_portrait_shen_mobilenetv2` (alpha 0.5, 1.31 M parameters, the more accurate) and
# `p5_portrait_shen_fast` (alpha 0.35 with a light decoder, 0.27 M, the webcam's).
#
# **On Colab**, either
#
# 1. keep the unpacked dataset in your Google Drive (mounted below when `USE_DRIVE = True`) and
#    set `DATA_ROOT = "/content/drive/MyDrive/datasets/portrait"` (preparation is faster from
#    a copy on the runtime's disk: `!cp -r` it to `/content/portrait` first); or
# 2. fetch an archive you may download, checked against its sha256 and unpacked safely (no
#    member may land outside the folder): `from facecolab.apps.colab import fetch_dataset` then
#    `DATA_ROOT = fetch_dataset(URL, SHA256, "/content/data/portrait")`.
#
# `DATA_ROOT` must hold this layout (`facecolab.data.check.LAYOUTS`):
#
# ```
# DATA_ROOT/
#   train/data/<stem>.jpg   train/label_1/<stem>.png   masks 0/1 or 0/255 (person = 1)
#   val/data/<stem>.jpg     val/label_1/<stem>.png
# ```
#
# With Drive mounted, `WORK_DIR` defaults to
# `MyDrive/facecolab/p5_portrait_mobilenetv2`,
# so the prepared data, the runs with their resumable checkpoints and the results survive a
# disconnect; otherwise it is `outputs/p5_portrait_mobilenetv2`. Once the config is loaded,
# `check_dataset` reads every split of `DATA_ROOT` with the dataset's own reader and stops with
# one message naming what is missing.

# %%
from facecolab.apps.colab import mount_drive, project_dir

if USE_DRIVE:
    mount_drive()  # on Colab only: asks for permission once
WORK_DIR = WORK_DIR or str(project_dir("p5_portrait_mobilenetv2"))
print("work folder:", WORK_DIR)

# %% [markdown]
# ## Configuration
#
# `configs/p5_portrait_mobilenetv2.json` holds the seed's settings (MobileNetV2 U-Net, sigmoid
# output, Dice + BCE, Adam 1e-4, 20 epochs, brightness and JPEG augmentation, letterbox).
# `project_config` points it at the data and applies the parameters above.

# %%
from facecolab.workflows.sample_mode import project_config

config = project_config(
    "p5_portrait_mobilenetv2.json",
    DATA_ROOT,
    WORK_DIR,
    epochs=EPOCHS,
    image_size=IMAGE_SIZE,
    batch_size=BATCH_SIZE,
    imagenet=IMAGENET_WEIGHTS,
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
# per-class table and the seed's reported numbers side by side.

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
# ## Portrait composite
#
# Project 5's test script: the photo is resized keeping its aspect ratio and zero-padded to the
# model's square input (letterbox), the prediction is thresholded at 0.5 and the background
# replaced. Left to right: photo, mask, blurred background, `BACKGROUND`. From the shell: `python
# -m facecolab.apps.portrait -i photo.jpg -m RUN_DIR --background blur -o out.png`.

# %%
from facecolab.apps.common import save_image
from facecolab.apps.inference import portrait_mask
from facecolab.apps.portrait import composite
from facecolab.viz import tile

first = predictions[0]
mask = portrait_mask(model, first.image)
composed = composite(first.image, mask, BACKGROUND)
save_image(composed, f"{WORK_DIR}/portrait/{first.item.key}.png")
tile([[first.image, mask * 255, composite(first.image, mask, "blur"), composed]])

# %% [markdown]
# ## Webcam
#
# The seed's `webcam.py` runs the same model on a live camera: `python -m facecolab.apps.webcam -m
# RUN_DIR/model_best.keras` (or a `.tflite` export, faster on a CPU) on a machine with a camera
# and `pip install opencv-python` (`q` quits). Colab's kernel runs in the cloud and cannot open
# your camera, but `--source video.mp4 --out out.mp4 --no-window` runs headless on a video. Here
# is what the loop does to one frame: the soft person mask at full resolution (smoothed over
# frames in a video), then the background blurred or replaced.

# %%
from facecolab.apps.inference import person_alpha
from facecolab.apps.webcam import render

alpha = person_alpha(model, first.image)
tile([[render(first.image, alpha, mode) for mode in ("mask", "blur", "cutout")]])

# %% [markdown]
# ## The shipped model on real photos
#
# Whatever `PRETRAINED` says, this section shows the shipped `PRETRAINED_NAME` on real photos: its
# validation figures as `weights/manifest.json` records them (with the command that measured
# them), a few of its validation photos against their ground truth when that dataset is on this
# machine, and NASA's public-domain portrait of astronaut Eileen Collins
# (`skimage.data.astronaut()`), parsed as `facecolab.predict` parses any photo: the whole
# photo, letterboxed.

# %%
from IPython.display import Markdown, display

from facecolab.workflows.sample_mode import shipped_figures, shipped_on_real_photos

display(Markdown(shipped_figures(PRETRAINED_NAME)))
for picture in shipped_on_real_photos(PRETRAINED_NAME):
    display(picture)

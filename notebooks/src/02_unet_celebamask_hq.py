# %% [markdown]
# # Project 2 — U-Net: 19-class face parsing on CelebAMask-HQ, lip and hair recolouring
#
# Reproduces project 2 (seed 001): a **U-Net** ([Ronneberger et al., arXiv
# 1505.04597](https://arxiv.org/abs/1505.04597); base 16 filters, batch norm) parsing faces into
# the 19 classes of [CelebAMask-HQ](https://github.com/switchablenorms/CelebAMask-HQ) ([Lee et
# al., arXiv 1907.11922](https://arxiv.org/abs/1907.11922)) at 256×256 with sparse cross-entropy,
# Adam 1e-3, random brightness and ReduceLROnPlateau; then the seed's experiment of recolouring
# lips and hair inside the predicted masks. The seed reports accuracy 91.13 % and mIoU 60.90 %
# (mIoU averaged per batch; masks resized bilinearly — both fixed here: nearest-neighbour masks,
# one confusion matrix).
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
# `DATA_ROOT` to its folder and the sizes to the seed's: `EPOCHS = 50`, `IMAGE_SIZE = 256`,
# `BATCH_SIZE = 32` (or `None` for the config's values).

# %% tags=["parameters"]
DATA_ROOT = None  # None: the bundled sample; else the raw dataset folder
PRETRAINED = False  # True: never trains; loads MODEL_PATH, else PRETRAINED_NAME
PRETRAINED_NAME = "p2_unet_celebamask_mini"  # shipped: CelebAMask-HQ, 19 classes, 512²
MODEL_PATH = None  # with PRETRAINED: your own .keras, .weights.npz or .tflite file
EPOCHS = 10  # None: the config's value
IMAGE_SIZE = 128  # None: the config's value
BATCH_SIZE = 4  # None: the config's value
SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
WORK_DIR = None  # None: on Drive when mounted, else under outputs/ (see Data below)
USE_DRIVE = True  # on Colab: mount Google Drive and keep WORK_DIR there
OVERRIDES = []  # more config overrides, e.g. ["optimizer.learning_rate=1e-4"]
PART = "lips"  # or "hair"
COLOUR = "#aa0033"

# %% [markdown]
# ## Data: sources, Colab, layout
#
# **Source:** [CelebAMask-HQ](https://github.com/switchablenorms/CelebAMask-HQ) (Lee et al.,
# 2020): 30 000 faces with 19-class part masks; its README links the `CelebAMask-HQ.zip`
# download (Google Drive / Baidu). Non-commercial research use; not redistributed here. For
# the official train / val / test split put CelebA's `list_eval_partition.txt`
# ([CelebA](http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html)) beside the mapping file. The
# shipped `p2_unet_celebamask_mini` was trained on CelebAMask-HQ at 512×512.
#
# **On Colab**, either
#
# 1. keep the unpacked dataset in your Google Drive (mounted below when `USE_DRIVE = True`) and
#    set `DATA_ROOT = "/content/drive/MyDrive/datasets/CelebAMask-HQ"` (preparation is faster from
#    a copy on the runtime's disk: `!cp -r` it to `/content/CelebAMask-HQ` first); or
# 2. fetch an archive you may download, checked against its sha256 and unpacked safely (no
#    member may land outside the folder): `from facecolab.apps.colab import fetch_dataset` then
#    `DATA_ROOT = fetch_dataset(URL, SHA256, "/content/data/CelebAMask-HQ")`.
#
# `DATA_ROOT` must hold this layout (`facecolab.data.check.LAYOUTS`):
#
# ```
# DATA_ROOT/                                 (the unzipped CelebAMask-HQ.zip)
#   CelebA-HQ-img/<id>.jpg                   30 000 photos, 1024x1024
#   CelebAMask-HQ-mask-anno/<id // 2000>/<id:05d>_<part>.png   one 512x512 mask per part
#   CelebA-HQ-to-CelebA-mapping.txt          optional, with CelebA's list_eval_partition.txt:
#   list_eval_partition.txt                  the official split (else a seeded 70/20/10 split)
# ```
#
# With Drive mounted, `WORK_DIR` defaults to
# `MyDrive/facecolab/p2_unet_celebamask_hq`,
# so the prepared data, the runs with their resumable checkpoints and the results survive a
# disconnect; otherwise it is `outputs/p2_unet_celebamask_hq`. Once the config is loaded,
# `check_dataset` reads every split of `DATA_ROOT` with the dataset's own reader and stops with
# one message naming what is missing.

# %%
from facecolab.apps.colab import mount_drive, project_dir

if USE_DRIVE:
    mount_drive()  # on Colab only: asks for permission once
WORK_DIR = WORK_DIR or str(project_dir("p2_unet_celebamask_hq"))
print("work folder:", WORK_DIR)

# %% [markdown]
# ## Configuration
#
# `configs/p2_unet_celebamask_hq.json` holds the seed's settings (U-Net base 16 with batch norm,
# 19 classes, Adam 1e-3, 50 epochs, batch 32, brightness and flips, ReduceLROnPlateau).
# `project_config` points it at the data and applies the parameters above.

# %%
from facecolab.workflows.sample_mode import project_config

config = project_config(
    "p2_unet_celebamask_hq.json",
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
# ## Visualisation modes
#
# Project 2's test script showed the parsing in several ways; `facecolab.apps.face_parsing`
# renders each (`mask`, `overlay`, `side_by_side`, `parts`), also from the shell: `python -m
# facecolab.apps.face_parsing -i face.jpg -m RUN_DIR -v parts`.

# %%
from facecolab.apps.face_parsing import render
from facecolab.viz import tile

first = predictions[0]
tile([[render(first.image, first.label, "parts", spec.palette(), spec.class_names)]])

# %% [markdown]
# ## Recolouring lips and hair
#
# The seed's experiment: change the colour of a part in HSV inside its mask (soft edge, then a
# light sharpening). The part's ids come from the class names (lips: `u_lip`, `l_lip`; hair:
# `hair`). Left to right: photo, recoloured with the predicted mask, recoloured with the
# ground-truth mask. From the shell: `python -m facecolab.apps.recolour -i face.jpg -m RUN_DIR
# --part lips --colour '#a03'`.

# %%
from facecolab.apps.common import save_image
from facecolab.apps.recolour import part_class_ids, recolour

part_ids = part_class_ids(spec.class_names, PART)
recoloured = recolour(first.image, first.label, part_ids, colour=COLOUR)
save_image(recoloured, f"{WORK_DIR}/recolour/{first.item.key}_{PART}.png")
with_truth = recolour(first.image, first.truth_at_image_size, part_ids, colour=COLOUR)
tile([[first.image, recoloured, with_truth]])

# %% [markdown]
# ## Recolouring a real photo with the shipped model
#
# The shipped 19-class U-Net (`PRETRAINED_NAME`, trained on real CelebAMask-HQ faces at 512²)
# parses a real photo that ships with scikit-image (NASA's public-domain portrait of astronaut
# Eileen Collins), framed as its training faces were, and recolours her hair and lips
# (`facecolab.apps.demo.parse_and_recolour_astronaut`, the main job's last step). Left: the parsing;
# right: the recoloured photo. This section always uses the shipped weights, whatever
# `PRETRAINED` says, since a model trained on the drawn sample has never seen a photo.

# %%
from pathlib import Path

from facecolab.apps.demo import parse_and_recolour_astronaut
from facecolab.data.imageio import read_image
from facecolab.viz import with_legend

written = parse_and_recolour_astronaut(Path(WORK_DIR) / "astronaut", PRETRAINED_NAME)
with_legend(
    tile([[read_image(path) for path in written.values()]]), spec.class_names, spec.palette()
)

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

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
PRETRAINED = False  # True: load the weights named in weights/manifest.json
EPOCHS = 3  # None: the config's value
IMAGE_SIZE = 128  # None: the config's value
BATCH_SIZE = 8  # None: the config's value
SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
WORK_DIR = "outputs/p2_unet_celebamask_hq"  # samples, prepared data, runs and results go here
OVERRIDES = []  # more config overrides, e.g. ["optimizer.learning_rate=1e-4"]
PART = "lips"  # or "hair"
COLOUR = "#aa0033"

# %% [markdown]
# ## Configuration
#
# `configs/p2_unet_celebamask_hq.json` holds the seed's settings (U-Net base 16 with batch norm,
# 19 classes, Adam 1e-3, 50 epochs, batch 32, brightness and flips, ReduceLROnPlateau).
# `project_config` points it at the data and applies the parameters above.

# %%
from facecolab.sample_mode import project_config

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
# ## Data
#
# `prepared_dir` prepares the raw dataset once (resized images, single-channel label PNGs, split
# lists and a `dataset.json` with class pixel counts); reruns reuse it. Labels are resized with
# nearest neighbour only, so no invalid id appears on borders.

# %%
from facecolab.datasets.prepare import read_dataset_info
from facecolab.train import prepared_dir
from facecolab.viz import sample_grid

PREPARED = prepared_dir(config)
print("images per split:", read_dataset_info(PREPARED)["counts"])
sample_grid(PREPARED)

# %% [markdown]
# ## Train
#
# One training loop for every project (`facecolab.train.train`): it keeps the best and the last
# model, a history CSV and a resumable checkpoint after every epoch, so rerunning this cell after
# a Colab disconnect continues where it stopped. With `PRETRAINED = True` the published weights
# are loaded instead; when they are not available the message says how to get them, and the config
# is trained.

# %%
from facecolab.train import load_or_train, run_dir_for
from facecolab.viz import training_curves

model, RUN_DIR = load_or_train(config, run_dir_for(config, WORK_DIR), pretrained=PRETRAINED)
print("run folder:", RUN_DIR)
training_curves(RUN_DIR)

# %% [markdown]
# ## Evaluate
#
# One confusion matrix accumulated over the whole test split (never averaged per batch), then the
# per-class table and the seed's reported numbers side by side.

# %%
from IPython.display import Image, Markdown, display

from facecolab.evaluate import evaluate_prepared, format_reference, write_evaluation
from facecolab.metrics import format_table

result = evaluate_prepared(model, PREPARED, config["data"]["test_split"])
written = write_evaluation(result, f"{WORK_DIR}/evaluation", config["reference"])
display(Markdown(format_table(result)))
display(Markdown(format_reference(result, config["reference"])))
Image(filename=str(written["confusion_matrix"]))

# %% [markdown]
# ## Predict
#
# Test images at their original size: the model sees them resized to its input, the probabilities
# are resized back and only then turned into labels. Top: photos; middle: predictions; bottom:
# ground truth.

# %%
from facecolab.evaluate import predict_items
from facecolab.predict import predict_files
from facecolab.sample_mode import raw_format, split_items
from facecolab.viz import prediction_grid

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
prediction_grid(predictions, spec.palette())

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

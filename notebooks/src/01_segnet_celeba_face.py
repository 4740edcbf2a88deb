# %% [markdown]
# # Project 1 — Bayesian SegNet: face vs background on CelebA
#
# Reproduces project 1 (seed 000): **SegNet** ([Badrinarayanan et al., arXiv
# 1511.00561](https://arxiv.org/abs/1511.00561)) with a VGG16 encoder, max-pooling indices reused
# by the decoder, and Monte-Carlo dropout — **Bayesian SegNet** ([Kendall et al., arXiv
# 1511.02680](https://arxiv.org/abs/1511.02680)) — separating face from background on 1000 / 200 /
# 200 crops of [CelebA](http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) at 256×256 (masks: grey
# > 128 = face). Adam 1e-3, batch 1. The seed reports pixel accuracy 0.990, mean IU 0.977, and
# uncertainty maps from MC dropout.
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
# `BATCH_SIZE = 1` (or `None` for the config's values).

# %% tags=["parameters"]
DATA_ROOT = None  # None: the bundled sample; else the raw dataset folder
PRETRAINED = False  # True: never trains; loads MODEL_PATH, else PRETRAINED_NAME
PRETRAINED_NAME = "p1_segnet_celebamask_face"  # shipped: CelebAMask-HQ relabelled face/bg, 256²
MODEL_PATH = None  # with PRETRAINED: your own .keras, .weights.npz or .tflite file
EPOCHS = 3  # None: the config's value
IMAGE_SIZE = 64  # None: the config's value (64: SegNet learns the sample in 3 epochs)
BATCH_SIZE = 4  # None: the config's value
IMAGENET_WEIGHTS = True  # encoder from ImageNet weights (downloaded); False: random
SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
WORK_DIR = None  # None: on Drive when mounted, else under outputs/ (see Data below)
USE_DRIVE = True  # on Colab: mount Google Drive and keep WORK_DIR there
OVERRIDES = []  # more config overrides, e.g. ["optimizer.learning_rate=1e-4"]
MC_SAMPLES = 50  # Monte-Carlo dropout passes (Bayesian SegNet: 50)

# %% [markdown]
# ## Data: sources, Colab, layout
#
# **Source:** the seed's 1000 / 200 / 200 crops of
# [CelebA](http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) (Liu et al., 2015) with grey face
# masks and its list files; CelebA is for non-commercial research use and is not redistributed
# here. The shipped `p1_segnet_celebamask_face` was trained on
# [CelebAMask-HQ](https://github.com/switchablenorms/CelebAMask-HQ) relabelled to the same two
# classes (face = skin, nose, eyes, brows, ears, mouth, lips), at 256×256.
#
# **On Colab**, either
#
# 1. keep the unpacked dataset in your Google Drive (mounted below when `USE_DRIVE = True`) and
#    set `DATA_ROOT = "/content/drive/MyDrive/datasets/celeba_face"` (preparation is faster from
#    a copy on the runtime's disk: `!cp -r` it to `/content/celeba_face` first); or
# 2. fetch an archive you may download, checked against its sha256 and unpacked safely (no
#    member may land outside the folder): `from facecolab.apps.colab import fetch_dataset` then
#    `DATA_ROOT = fetch_dataset(URL, SHA256, "/content/data/celeba_face")`.
#
# `DATA_ROOT` must hold this layout (`facecolab.data.check.LAYOUTS`):
#
# ```
# DATA_ROOT/
#   Train1000.txt  Dev200.txt  Test200.txt   one 'image_path label_path' pair per line
#   <the images and grey masks they name>    paths relative to DATA_ROOT; mask > 128 = face
# ```
#
# With Drive mounted, `WORK_DIR` defaults to
# `MyDrive/facecolab/p1_segnet_celeba`,
# so the prepared data, the runs with their resumable checkpoints and the results survive a
# disconnect; otherwise it is `outputs/p1_segnet_celeba`. Once the config is loaded,
# `check_dataset` reads every split of `DATA_ROOT` with the dataset's own reader and stops with
# one message naming what is missing.

# %%
from facecolab.apps.colab import mount_drive, project_dir

if USE_DRIVE:
    mount_drive()  # on Colab only: asks for permission once
WORK_DIR = WORK_DIR or str(project_dir("p1_segnet_celeba"))
print("work folder:", WORK_DIR)

# %% [markdown]
# ## Configuration
#
# `configs/p1_segnet_celeba.json` holds the seed's settings (Bayesian SegNet, 2 classes, 256²,
# Adam 1e-3, batch 1). `project_config` points it at the data and applies the parameters above.

# %%
from facecolab.workflows.sample_mode import project_config

config = project_config(
    "p1_segnet_celeba.json",
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
# ## Uncertainty: Monte-Carlo dropout
#
# Bayesian SegNet keeps its dropout layers on at test time and averages `MC_SAMPLES` forward
# passes (50 in the paper, 30 in the seed). The predictive entropy is the total uncertainty; the
# mutual information is the part due to the weights, high where the samples disagree — typically
# along the face boundary.

# %%
from facecolab.workflows.predict import predict_mc_files

mc_files = predict_mc_files(
    model,
    [item.image_path for item in items[:2]],
    f"{WORK_DIR}/uncertainty",
    samples=MC_SAMPLES,
    palette=spec.palette(),
)
Image(filename=str(mc_files[0].with_suffix(".png")))

# %% [markdown]
# Averaging the samples should also give better calibrated probabilities than one pass with
# dropout off: the reliability diagram bins pixels by confidence and compares it with their
# accuracy (expected calibration error, ECE, in the legend).

# %%
from facecolab.data.host_pipeline import PreparedBatches
from facecolab.measures.metrics import confusion_matrix, mean_iou, predicted_labels
from facecolab.models import without_mc_dropout
from facecolab.viz import plot_reliability
from facecolab.workflows.uncertainty import predict_mc, reliability_diagram

test_split = PreparedBatches(
    PREPARED, config["data"]["test_split"], batch_size=64, image_size=model.input_shape[1:3]
)
images, labels = test_split[0]  # the first 64 test images
mc = predict_mc(model, images, samples=MC_SAMPLES)
single = without_mc_dropout(model).predict(images, verbose=0)
for name, predicted in (("MC mean", mc.labels), ("single pass", predicted_labels(single))):
    print(f"{name}: mean IoU {100 * mean_iou(confusion_matrix(labels, predicted, 2)):.2f}")
diagrams = {
    f"MC mean ({MC_SAMPLES})": reliability_diagram(mc.mean, labels),
    "single pass": reliability_diagram(single, labels),
}
for name, diagram in diagrams.items():
    print(f"{name}: expected calibration error {100 * diagram.ece:.2f}%")
figure = plot_reliability(diagrams)
figure.savefig(f"{WORK_DIR}/uncertainty/reliability.png", dpi=100)
Image(filename=f"{WORK_DIR}/uncertainty/reliability.png")

# %% [markdown]
# ## Uncertainty on a real photo
#
# With `PRETRAINED = True` the shipped Bayesian SegNet (trained on real CelebAMask-HQ faces)
# parses a real photo that ships with scikit-image (NASA's public-domain portrait of astronaut
# Eileen Collins): the face is detected and framed as its training faces were, then `MC_SAMPLES`
# dropout passes give the face mask, the predictive entropy and the mutual information. Each map
# is scaled to its 99th percentile (`facecolab.viz.display_range`), so the uncertain band along
# the face boundary shows even when a few pixels are far more uncertain. (A model trained on the
# drawn sample faces has not seen a photo: the section runs only with `PRETRAINED`.)

# %%
from skimage import data

from facecolab.modelfiles.manifest import read_manifest
from facecolab.viz import plot_uncertainty
from facecolab.workflows.faces import framing_of
from facecolab.workflows.uncertainty import face_uncertainty

if PRETRAINED:
    framing = framing_of(read_manifest().get(PRETRAINED_NAME, {}).get("config"))
    crop, mc_photo = face_uncertainty(model, data.astronaut(), framing, MC_SAMPLES)
    photo_maps = plot_uncertainty(
        crop,
        mc_photo.labels[0],
        mc_photo.entropy[0],
        mc_photo.mutual_information[0],
        f"{WORK_DIR}/uncertainty/astronaut_mc.png",
        spec.palette(),
        title=f"{MC_SAMPLES} Monte-Carlo dropout samples",
    )
    display(Image(filename=str(photo_maps)))
else:
    print("PRETRAINED = False: set it to True to see the shipped model on a real photo")

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

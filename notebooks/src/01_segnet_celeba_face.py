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
PRETRAINED = False  # True: load the weights named in weights/manifest.json
EPOCHS = 3  # None: the config's value
IMAGE_SIZE = 128  # None: the config's value
BATCH_SIZE = 4  # None: the config's value
IMAGENET_WEIGHTS = True  # encoder from ImageNet weights (downloaded); False: random
SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
WORK_DIR = "outputs/p1_segnet_celeba"  # samples, prepared data, runs and results go here
OVERRIDES = []  # more config overrides, e.g. ["optimizer.learning_rate=1e-4"]
MC_SAMPLES = 50  # Monte-Carlo dropout passes (Bayesian SegNet: 50)

# %% [markdown]
# ## Configuration
#
# `configs/p1_segnet_celeba.json` holds the seed's settings (Bayesian SegNet, 2 classes, 256²,
# Adam 1e-3, batch 1). `project_config` points it at the data and applies the parameters above.

# %%
from facecolab.sample_mode import project_config

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
# ## Uncertainty: Monte-Carlo dropout
#
# Bayesian SegNet keeps its dropout layers on at test time and averages `MC_SAMPLES` forward
# passes (50 in the paper, 30 in the seed). The predictive entropy is the total uncertainty; the
# mutual information is the part due to the weights, high where the samples disagree — typically
# along the face boundary.

# %%
from facecolab.predict import predict_mc_files

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
from facecolab.loader import PreparedBatches
from facecolab.metrics import confusion_matrix, mean_iou, predicted_labels
from facecolab.models import without_mc_dropout
from facecolab.uncertainty import predict_mc, reliability_diagram
from facecolab.viz import plot_reliability

test_split = PreparedBatches(
    PREPARED, config["data"]["test_split"], batch_size=64, image_size=model.input_shape[1:3]
)
images, labels = test_split[0]  # the first 64 test images
mc = predict_mc(model, images, samples=MC_SAMPLES)
single = without_mc_dropout(model).predict(images, verbose=0)
for name, predicted in (("MC mean", mc.labels), ("single pass", predicted_labels(single))):
    print(f"{name}: mean IoU {100 * mean_iou(confusion_matrix(labels, predicted, 2)):.2f}")
figure = plot_reliability(
    {
        f"MC mean ({MC_SAMPLES})": reliability_diagram(mc.mean, labels),
        "single pass": reliability_diagram(single, labels),
    }
)
figure.savefig(f"{WORK_DIR}/uncertainty/reliability.png", dpi=100)
Image(filename=f"{WORK_DIR}/uncertainty/reliability.png")

# %% [markdown]
# # Quickstart — parse a face with the shipped model
#
# Loads the model this repository ships (`weights/lfw_parts_unet.weights.npz`, a small U-Net
# trained with `configs/lfw_parts.json` on the LFW Part Labels train split — [Kae et al.,
# 2013](http://vis-www.cs.umass.edu/lfw/part_labels/); background / skin / hair) and parses a real
# photo that ships with scikit-image (NASA's public-domain portrait of astronaut Eileen Collins).
# Then see the five project notebooks, which reproduce:
#
# 1. `01_segnet_celeba_face` — Bayesian SegNet, face vs background, with Monte-Carlo dropout
#    uncertainty ([arXiv 1511.02680](https://arxiv.org/abs/1511.02680));
# 2. `02_unet_celebamask_hq` — U-Net on CelebAMask-HQ's 19 classes, lip and hair recolouring;
# 3. `03_pspnet_deeplab_face8` — PSPNet and DeepLabv3+ on 8 merged face classes;
# 4. `04_unet_helen` — U-Net on Helen, scored with the Helen F1 protocol;
# 5. `05_portrait_mobilenetv2` — MobileNetV2 U-Net portrait segmentation and background
#    replacement.
#
# **Accelerator:** none needed: everything here runs on a CPU in about a minute.

# %% [markdown]
# ## Parameters
#
# `PRETRAINED = True` loads the shipped weights and never trains: when they are missing, the
# cell stops with one message saying what to do. `PRETRAINED = False` trains a model on LFW Part
# Labels instead — on the bundled sample (`DATA_ROOT = None`) or on the real data (`DATA_ROOT` =
# the folder with `lfw_funneled/` and `parts_lfw_funneled_gt_images/`, from [LFW Part
# Labels](http://vis-www.cs.umass.edu/lfw/part_labels/)).

# %% tags=["parameters"]
PRETRAINED = True
DATA_ROOT = None  # only used when training: None = the bundled sample
EPOCHS = 3  # None: the config's value
IMAGE_SIZE = 128  # None: the config's value
BATCH_SIZE = 8  # None: the config's value
SAMPLE_COUNT = 40  # images in the bundled sample (DATA_ROOT = None only)
WORK_DIR = "outputs/quickstart"
OVERRIDES = []

# %% [markdown]
# ## Load the model

# %%
import facecolab
from facecolab.modelfiles.manifest import read_manifest
from facecolab.workflows.sample_mode import project_config
from facecolab.workflows.train import load_or_train, run_dir_for

config = project_config(
    "lfw_parts.json",
    DATA_ROOT,
    WORK_DIR,
    epochs=EPOCHS,
    image_size=IMAGE_SIZE,
    batch_size=BATCH_SIZE,
    sample_count=SAMPLE_COUNT,
    overrides=OVERRIDES,
)
model, RUN_DIR = load_or_train(
    config, run_dir_for(config, WORK_DIR), pretrained=PRETRAINED, pretrained_name="lfw_parts_unet"
)
spec = facecolab.get_spec("lfw_parts")
print("shipped model:", read_manifest().get("lfw_parts_unet", "not in the manifest"))

# %% [markdown]
# ## Parse a photo
#
# The model was trained on LFW's framing (a face detection enlarged 2.2×), so the photo is parsed
# through the same framing: detect the face (scikit-image's cascade), cut the square around it,
# predict, paste the labels back.

# %%
import numpy as np
from skimage import data

from facecolab.apps.common import save_image
from facecolab.apps.face_parsing import render
from facecolab.viz import tile
from facecolab.workflows.predict import predict

photo = data.astronaut()
label = predict(model, photo)  # the face found, cropped as LFW's faces, pasted back
shares = np.bincount(label.ravel(), minlength=spec.num_classes) / label.size
print({name: f"{100 * share:.1f}%" for name, share in zip(spec.class_names, shares, strict=True)})
save_image(
    render(photo, label, "side_by_side", spec.palette()), f"{WORK_DIR}/astronaut_side_by_side.png"
)
tile([[render(photo, label, "overlay", spec.palette())]])

# %%
tile([[render(photo, label, "parts", spec.palette(), spec.class_names)]])

# %% [markdown]
# ## From the shell
#
# The same photo parsing, and label maps for a folder of face crops like LFW's:
#
# ```
# python -m facecolab.apps.face_parsing -i me.jpg -m lfw_parts_unet
# python -m facecolab predict --model lfw_parts_unet --input crops/ --out out/ --no-face-crop
# ```

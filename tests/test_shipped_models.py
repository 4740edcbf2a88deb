"""Every shipped model on real validation images: it loads by name, scores near the figures
its manifest entry records (a subset of the split, at the original resolution), and its float
TFLite export predicts the same masks as Keras."""

from __future__ import annotations

import pytest

from facecolab.data.imageio import read_image
from facecolab.data.readers import get_format
from facecolab.modelfiles.load import load_pretrained
from facecolab.modelfiles.manifest import read_manifest
from facecolab.workflows.evaluate import evaluate_items, flatten_metrics

# model name -> (raw layout, relabel table, headline metric); the first 40 validation items
# must come within 3 points of the whole split's recorded figure.
CELEBAMASK_MODELS = {
    "p1_segnet_celebamask_face": ("celeba_face", "pixel_accuracy"),
    "p2_unet_celebamask_mini": (None, "mean_iou"),
    "p3_pspnet_celebamask_face8": ("face8", "mean_f1"),
    "p4_unet_celebamask_helen": ("helen", "f1_overall"),
}
SUBSET, TOLERANCE = 40, 0.03


def _score(name, fmt, root):
    items = fmt.list_items(root, "val")[:SUBSET]
    result = evaluate_items(load_pretrained(name), fmt, items, progress=False)
    return flatten_metrics(result)


@pytest.mark.parametrize("name", sorted(CELEBAMASK_MODELS))
def test_celebamask_models_meet_their_manifest(name, celebamask_mini_root):
    relabel, metric = CELEBAMASK_MODELS[name]
    fmt = get_format("celebamask_hq", relabel)
    recorded = read_manifest()[name]["metrics"][metric]
    assert _score(name, fmt, celebamask_mini_root)[metric] > recorded - TOLERANCE


@pytest.mark.parametrize("name", ["p5_portrait_shen_fast", "p5_portrait_shen_mobilenetv2"])
def test_portrait_models_meet_their_manifest(name, portrait_shen_root):
    recorded = read_manifest()[name]["metrics"]["mean_iou"]
    assert _score(name, get_format("eg1800"), portrait_shen_root)["mean_iou"] > recorded - 0.02


def test_float_tflite_export_predicts_the_keras_masks(portrait_shen_root, tmp_path):
    from facecolab.modelfiles.export import agreement, export_tflite
    from facecolab.modelfiles.runner import keras_runner, load_runner

    model = load_pretrained("p5_portrait_shen_fast")
    path = export_tflite(model, tmp_path / "fast.tflite")
    items = get_format("eg1800").list_items(portrait_shen_root, "val")[:SUBSET]
    scores = agreement(
        keras_runner(model), load_runner(path), [read_image(i.image_path) for i in items]
    )
    assert scores["mean_iou"] >= 0.99

"""Sample mode shows a working pipeline: each project's config, trained briefly on its bundled
sample (drawn faces, ``facecolab.workflows.sample_mode``, what the notebooks run with ``DATA_ROOT =
None``), reaches numbers that look like learning on the sample's validation split.

The floors are set below what these runs measured (in the comments: pixel accuracy, mean IoU
and the classes drawn large enough to learn at 64², on this project's 2-core CPU) and far above
what a model predicting one class everywhere gets (project 1 on validation used to score 14 %
pixel accuracy, project 4 "nose" everywhere). The small parts (eyes, brows, lips) are a few
pixels at 64² and are not learned in runs this short; they are not asserted. Encoders start
from random weights (``imagenet=False``: no download).
"""

from __future__ import annotations

import pytest

from facecolab.workflows.sample_mode import project_config
from facecolab.workflows.train import train

# (config, epochs, floors: {metric: minimum}, {class: minimum IoU})
SAMPLE_RUNS = [
    # measured 94.0 / 80.1; IoU background 93, face 67
    pytest.param("p1_segnet_celeba.json", 3, {"mean_iou": 0.6}, {"face": 0.5}, id="p1-segnet"),
    # measured 93.7 / 22.1; IoU bg 96, face 73, hair 74
    pytest.param(
        "p4_unet_helen.json",
        10,
        {"pixel_accuracy": 0.85, "mean_iou": 0.15},
        {"bg": 0.8, "face": 0.5, "hair": 0.5},
        id="p4-unet-helen",
    ),
    # measured 89.3 / 80.5; IoU person 79
    pytest.param(
        "p5_portrait_mobilenetv2.json", 3, {"mean_iou": 0.6}, {"person": 0.5}, id="p5-portrait"
    ),
    # measured 89.2 / 19.0; IoU background 94, skin 67, hair 74, cloth 86
    pytest.param(
        "p2_unet_celebamask_hq.json",
        10,
        {"pixel_accuracy": 0.8, "mean_iou": 0.12},
        {"background": 0.8, "skin": 0.4, "hair": 0.4},
        id="p2-unet-celebamask",
    ),
    # measured 92.5 / 23.1; IoU background 95, skin 41
    pytest.param(
        "p3_pspnet_face8.json",
        8,
        {"pixel_accuracy": 0.85, "mean_iou": 0.15},
        {"background": 0.8, "skin": 0.25},
        id="p3-pspnet",
    ),
    # measured 92.3 / 18.0; IoU background 94, skin 45
    pytest.param(
        "p3_deeplab_face8.json",
        6,
        {"pixel_accuracy": 0.85, "mean_iou": 0.12},
        {"background": 0.8, "skin": 0.25},
        id="p3-deeplab",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("config_name, epochs, floors, class_floors", SAMPLE_RUNS)
def test_a_short_run_on_the_sample_learns(tmp_path, config_name, epochs, floors, class_floors):
    config = project_config(
        config_name,
        None,
        tmp_path,
        epochs=epochs,
        image_size=64,
        batch_size=4,
        imagenet=False,
        sample_count=40,
    )
    metrics = train(config, tmp_path / "run", verbose=0)
    iou = {row["name"]: row["iou"] for row in metrics["classes"]}
    shown = f"pixel accuracy {metrics['pixel_accuracy']:.3f}, mIoU {metrics['mean_iou']:.3f}, {iou}"
    for name, minimum in floors.items():
        assert metrics[name] >= minimum, f"{name} below {minimum}: {shown}"
    for name, minimum in class_floors.items():
        assert (iou[name] or 0) >= minimum, f"IoU {name} below {minimum}: {shown}"

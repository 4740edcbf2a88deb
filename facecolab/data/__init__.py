"""The data layer: everything between files on disk and batches of arrays.

Holds image and label-map I/O (``imageio``), resizing (``resize``), dataset specs and the
label tables (``specs``, ``labels``), one reader per raw layout (``readers``, the dataset
registry ``FORMATS``), split lists, the sample writer, ``prepare`` (raw layout → prepared
folder), the input selection of the commands (``inputs``), the one augmentation definition
(``augment``) and the pipelines that feed training: ``tf_pipeline`` (tf.data, TensorFlow
only), ``host_pipeline`` (a ``keras.utils.PyDataset``, any backend).

May import: ``facecolab.constants``, ``facecolab.fsutil``, ``facecolab.console`` and
itself. Nothing here imports Keras at module level except the pipelines and ``augment``
(which are imported only by training and evaluation), so ``data_prep/load_data.py`` and
``f1_score.py`` start without TensorFlow.
"""

from facecolab.data.readers import FORMATS, DatasetFormat, Item, get_format
from facecolab.data.specs import SPECS, DatasetSpec, get_spec

__all__ = [
    "FORMATS",
    "SPECS",
    "DatasetFormat",
    "DatasetSpec",
    "Item",
    "get_format",
    "get_spec",
]

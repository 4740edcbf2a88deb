"""Values every layer shares; this module imports nothing, so anything may import it.

``IGNORE_INDEX``: the label-map value meaning "no class here" (letterbox padding, ids a
relabel table drops, the border of a rotation). Label maps are ``uint8`` ids, so it is the one
value no class of a ≤ 255-class label set takes. Losses and metrics take an ``ignore_index``
argument that defaults to it; the data layers write it (letterbox and augmentation borders) as
the prepared label maps' value.

``KERAS_PACKAGE``: the Keras serialisation package of facecolab's custom layers, losses and
metrics (``facecolab>AlwaysOnDropout`` in a saved model).

``MAX_SIDE``: the largest image side a config or ``prepare --size`` may ask for (a typo such
as 25600 would exhaust memory before any message).

``DEFAULT_THREADS``: CPU threads of a TFLite model unless told otherwise (this project's CPUs
have 2 cores; XNNPACK scales to about that).

``MAX_PIXELS``: the default limit on the pixels of one image a command decodes (about 50 MP,
a 8660 × 5770 photo; ``--max-pixels`` changes it). It is checked on the file's header, before
any pixel is decoded, so a decompression bomb is refused before it takes memory.

``MAX_THREADS``, ``MAX_WORKERS``, ``MAX_BATCH``, ``MAX_SAMPLES``: the caps of ``--threads``,
``prepare --workers``, ``--batch-size`` and Monte-Carlo ``--samples`` (more starts nothing
faster and ends in an abort or out of memory).

``VERSION``: the package's version (``facecolab.__version__``; ``pyproject.toml`` says the same,
which ``tests/test_package.py`` checks).

The choices of command-line options whose work loads Keras (``STRATEGIES`` of ``train``, the
``export`` formats and quantisations): here, so ``facecolab <command> --help`` lists them
without importing the modules that use them.
"""

VERSION = "0.1.0"
IGNORE_INDEX = 255
KERAS_PACKAGE = "facecolab"
MAX_SIDE = 8192
DEFAULT_THREADS = 2
MAX_PIXELS = 50_000_000
MAX_THREADS = 64
MAX_WORKERS = 64
MAX_BATCH = 1024
MAX_SAMPLES = 1000
STRATEGIES = ("auto", "one", "mirrored", "tpu")  # workflows.train's distribution strategies
QUANTIZE_MODES = ("none", "float16", "dynamic", "int8")  # modelfiles.export's TFLite modes
CALIBRATION_IMAGES = 100  # representative images read for int8 calibration
# Export format → file suffix ("" = a folder).
EXPORT_FORMATS = {"keras": ".keras", "tflite": ".tflite", "onnx": ".onnx", "saved_model": ""}

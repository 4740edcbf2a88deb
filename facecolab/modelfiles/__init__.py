"""The model-files layer: one verb per module.

``save`` (atomic ``.keras``/weights/``.npz`` writes), ``load`` (any model file or a shipped
name: ``open_model``, ``load_pretrained``), ``manifest`` (the shipped weights' manifest,
checksums, download and cache), ``portable`` (backend-independent ``.weights.npz``),
``compat`` (class-set and Keras-version checks), ``export`` (TFLite and SavedModel) and
``runner`` (one inference interface over a Keras model or a ``.tflite`` file).

May import: the ground floor, ``facecolab.data``, ``facecolab.measures``,
``facecolab.models`` and ``facecolab.config``.
"""

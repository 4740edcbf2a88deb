"""ONNX exports of a Keras model, for ONNX Runtime and the other ONNX runtimes.

The Keras model is traced as a ``tf.function`` (``serve(image) -> {"probabilities": …}``,
inference mode) and converted by ``tf2onnx`` (``pip install 'facecolab[onnx]'``: tf2onnx,
onnx and onnxruntime; the TensorFlow install is the one facecolab already uses). Opset
``OPSET`` (13) is what ONNX Runtime, OpenCV's DNN module, TensorRT 8 and ONNX Runtime Web
all run. Layout and dtypes are the Keras model's: input ``image`` float32 ``(1, h, w, 3)``
NHWC RGB in [0, 1] (the model normalises inside), output ``probabilities`` float32
``(1, h, w, C)`` (``facecolab.modelfiles.export.deploy_model`` gives every class its channel).
The label map and the other metadata ride in the file's ``metadata_props``
(``class_names`` as JSON, ``input``, ``output``), which ONNX Runtime shows as
``session.get_modelmeta().custom_metadata_map``.
"""

from __future__ import annotations

import json

ONNX_SUFFIX = ".onnx"
OPSET = 13
EXTRA_HINT = "ONNX export needs tf2onnx and onnx: pip install 'facecolab[onnx]'"


def to_onnx(model, metadata=None, opset: int = OPSET) -> bytes:
    """The serialised ONNX model of a batch-1 ``keras.Model`` (TensorFlow backend).

    Args:
        model: a ``keras.Model`` with a fixed input shape ``(1, h, w, 3)``.
        metadata: a ``facecolab.modelfiles.tflite_metadata.SegmenterMetadata`` written into
            ``doc_string`` and ``metadata_props``, or ``None``.
        opset: the ONNX opset to target.

    Raises:
        ImportError: tf2onnx is not installed (the message says how to install it).
        ValueError: the converter failed (its first line follows).
    """
    try:
        import tf2onnx
    except ImportError as error:
        raise ImportError(f"{EXTRA_HINT} ({error})") from None
    import tensorflow as tf

    spec = (tf.TensorSpec(model.input_shape, tf.float32, name="image"),)

    @tf.function(input_signature=spec)
    def serve(image):
        return {"probabilities": model(image, training=False)}

    try:
        proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=opset)
    except Exception as error:  # tf2onnx raises many kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ValueError(f"ONNX conversion failed: {first}") from None
    if metadata is not None:
        proto.doc_string = metadata.description
        proto.model_version = 1
        props = {
            "name": metadata.name,
            "version": metadata.version,
            "author": metadata.author,
            "license": metadata.license,
            "class_names": json.dumps(list(metadata.class_names)),
            "input": "image: float32 (1, H, W, 3) NHWC RGB in [0, 1]",
            "output": f"probabilities: float32 (1, H, W, C), {metadata.model_activation} "
            "applied in the model, one channel per class name",
        }
        for key, value in props.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
    return proto.SerializeToString()

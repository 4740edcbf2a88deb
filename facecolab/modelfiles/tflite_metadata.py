"""The standard TFLite model metadata of a segmentation model, written into its flatbuffer,
so MediaPipe Tasks' ``ImageSegmenter`` and LiteRT's support library take the file as it is.

The metadata is the ``TFLITE_METADATA`` buffer of TFLite's ``metadata_schema.fbs`` (file
identifier ``M001``), built here with the ``flatbuffers`` package TensorFlow already depends
on, table by table (no ``tflite-support`` or ``mediapipe`` install, whose protobuf and numpy
pins clash with TensorFlow's). It holds what MediaPipe's own ``image_segmenter`` metadata
writer writes, and more:

- model: name, description, version, author, licence, ``min_parser_version`` 1.5.0;
- input ``image``: RGB image properties with its default size, ``NormalizationOptions``
  mean 0 / std 255 (our models take float32 RGB in [0, 1] and normalise inside, so a
  runtime feeding ``uint8`` pixels divides by 255), stats min 0 / max 1;
- output ``segmentation_masks``: grayscale image properties, content range 1–2, and the
  label map ``labels.txt`` (class names in id order, ``TENSOR_AXIS_LABELS``);
- ``SEGMENTER_METADATA`` (MediaPipe's custom metadata, identifier ``V001``): the activation
  the runtime is to apply. Always ``NONE``: the exports end in their own softmax (or sigmoid),
  so the output already holds probabilities, and a second softmax would flatten MediaPipe's
  confidence masks (a second sigmoid would break its threshold). Which activation the model
  applies is written in the output's description instead.

Associated files (the label map) are appended to the flatbuffer as an uncompressed zip
archive, as TFLite's metadata populator does: flatbuffer readers ignore the tail, zip readers
find the archive's directory at the end. :func:`read_metadata` reads the fields back
(for tests and ``facecolab export``'s report) without any of those packages either.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import flatbuffers
import numpy as np

METADATA_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.5.0"  # custom metadata in a subgraph (schema 1.5.0)
SEGMENTER_METADATA_NAME = "SEGMENTER_METADATA"
SEGMENTER_IDENTIFIER = b"V001"
LABELS_FILE = "labels.txt"
TFLITE_IDENTIFIER = b"TFL3"
# Schema enum values (metadata_schema.fbs, image_segmenter_metadata_schema.fbs).
_RGB, _GRAYSCALE = 1, 2
_IMAGE_PROPERTIES = 2  # ContentProperties
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions
_TENSOR_AXIS_LABELS = 2  # AssociatedFileType
ACTIVATIONS = {"none": 0, "sigmoid": 1, "softmax": 2}  # MediaPipe's Activation enum


@dataclass(frozen=True)
class SegmenterMetadata:
    """What the metadata says about one exported segmentation model.

    Attributes:
        name, description, version, author, license: the model's general fields.
        class_names: the label map, class names in id order.
        input_size: ``(height, width)`` of the model input.
        model_activation: ``"softmax"`` or ``"sigmoid"``: what the model's last layer applies
            (recorded in the output description; the runtime applies nothing).
    """

    name: str
    description: str
    version: str
    author: str
    license: str
    class_names: tuple[str, ...]
    input_size: tuple[int, int]
    model_activation: str = "softmax"


# --- writing --------------------------------------------------------------------------------


def _table(builder, slots: int, fields) -> int:
    """One table: ``fields`` = ``(slot, kind, value)``, kind ``"offset"``, ``"int8"``,
    ``"uint8"``, ``"int32"`` or ``"uint32"``; ``None`` values are left out."""
    prepend = {
        "offset": builder.PrependUOffsetTRelativeSlot,
        "int8": builder.PrependInt8Slot,
        "uint8": builder.PrependUint8Slot,
        "int32": builder.PrependInt32Slot,
        "uint32": builder.PrependUint32Slot,
    }
    builder.StartObject(slots)
    for slot, kind, value in fields:
        if value is not None:
            prepend[kind](slot, value, 0)
    return builder.EndObject()


def _offsets(builder, offsets) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _floats(builder, values) -> int:
    return builder.CreateNumpyVector(np.asarray(values, np.float32))


def _bytes(builder, data: bytes, alignment: int = 16) -> int:
    builder.StartVector(1, len(data), alignment)
    for byte in reversed(data):
        builder.PrependUint8(byte)
    return builder.EndVector()


def _image_content(builder, color_space: int, size=None, value_range=None) -> int:
    default_size = None
    if size is not None:
        height, width = size
        default_size = _table(builder, 2, [(0, "uint32", width), (1, "uint32", height)])
    properties = _table(builder, 2, [(0, "int8", color_space), (1, "offset", default_size)])
    range_table = None
    if value_range is not None:
        low, high = value_range
        range_table = _table(builder, 2, [(0, "int32", low), (1, "int32", high)])
    return _table(
        builder,
        3,
        [(0, "uint8", _IMAGE_PROPERTIES), (1, "offset", properties), (2, "offset", range_table)],
    )


def _stats(builder) -> int:
    """Stats max 1, min 0: images in [0, 1] in, probabilities out."""
    maximum, minimum = _floats(builder, [1.0]), _floats(builder, [0.0])
    return _table(builder, 2, [(0, "offset", maximum), (1, "offset", minimum)])


def _output_description(info: SegmenterMetadata) -> str:
    height, width = info.input_size
    classes = len(info.class_names)
    return (
        f"class probabilities, float32 (1, {height}, {width}, {classes}): channel c is class c "
        f"of {LABELS_FILE}; the model applies {info.model_activation} itself, so the runtime "
        "applies no activation"
    )


def _segmenter_options() -> bytes:
    """MediaPipe's ``ImageSegmenterOptions`` (activation ``NONE``: module docstring)."""
    builder = flatbuffers.Builder(64)
    version = builder.CreateString(MIN_PARSER_VERSION)
    options = _table(builder, 2, [(0, "int8", ACTIVATIONS["none"]), (1, "offset", version)])
    builder.Finish(options, SEGMENTER_IDENTIFIER)
    return bytes(builder.Output())


def metadata_buffer(info: SegmenterMetadata) -> bytes:
    """The ``TFLITE_METADATA`` flatbuffer (``metadata_schema.fbs``, identifier ``M001``)."""
    builder = flatbuffers.Builder(1024)
    text = builder.CreateString

    # input: RGB in [0, 1], normalised from uint8 pixels by (x - 0) / 255
    mean, std = _floats(builder, [0.0]), _floats(builder, [255.0])
    normalization = _table(builder, 2, [(0, "offset", mean), (1, "offset", std)])
    process_unit = _table(
        builder, 2, [(0, "uint8", _NORMALIZATION_OPTIONS), (1, "offset", normalization)]
    )
    input_stats = _stats(builder)
    height, width = info.input_size
    input_tensor = _table(
        builder,
        7,
        [
            (0, "offset", text("image")),
            (1, "offset", text(f"RGB image, float32 (1, {height}, {width}, 3) in [0, 1]")),
            (3, "offset", _image_content(builder, _RGB, info.input_size)),
            (4, "offset", _offsets(builder, [process_unit])),
            (5, "offset", input_stats),
        ],
    )

    # output: per-class probabilities, with the label map
    labels = _table(
        builder,
        5,
        [
            (0, "offset", text(LABELS_FILE)),
            (1, "offset", text("class names in id order")),
            (2, "int8", _TENSOR_AXIS_LABELS),
        ],
    )
    output_stats = _stats(builder)
    output_tensor = _table(
        builder,
        7,
        [
            (0, "offset", text("segmentation_masks")),
            (1, "offset", text(_output_description(info))),
            (3, "offset", _image_content(builder, _GRAYSCALE, value_range=(1, 2))),
            (5, "offset", output_stats),
            (6, "offset", _offsets(builder, [labels])),
        ],
    )

    segmenter = _table(
        builder,
        2,
        [
            (0, "offset", text(SEGMENTER_METADATA_NAME)),
            (1, "offset", _bytes(builder, _segmenter_options())),
        ],
    )
    subgraph = _table(
        builder,
        10,
        [
            (0, "offset", text("ImageSegmenter")),
            (2, "offset", _offsets(builder, [input_tensor])),
            (3, "offset", _offsets(builder, [output_tensor])),
            (9, "offset", _offsets(builder, [segmenter])),
        ],
    )
    model = _table(
        builder,
        8,
        [
            (0, "offset", text(info.name)),
            (1, "offset", text(info.description)),
            (2, "offset", text(info.version)),
            (3, "offset", _offsets(builder, [subgraph])),
            (4, "offset", text(info.author)),
            (5, "offset", text(info.license)),
            (7, "offset", text(MIN_PARSER_VERSION)),
        ],
    )
    builder.Finish(model, METADATA_IDENTIFIER)
    return bytes(builder.Output())


def add_metadata(model: bytes, info: SegmenterMetadata) -> bytes:
    """``model`` (a ``.tflite`` flatbuffer) with ``info``'s metadata and label map; metadata
    already there is replaced. Uses TensorFlow's own TFLite schema to rewrite the model."""
    from tensorflow.lite.python import schema_py_generated as schema

    if len(info.class_names) < 2:
        raise ValueError(f"a segmentation model has at least 2 classes, got {info.class_names}")
    tree = schema.ModelT.InitFromPackedBuf(bytearray(_flatbuffer_part(model)), 0)
    tree.metadata = [entry for entry in tree.metadata or [] if _name(entry) != METADATA_NAME]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata_buffer(info), np.uint8)
    tree.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(tree.buffers) - 1
    tree.metadata.append(entry)
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(tree.Pack(builder), file_identifier=TFLITE_IDENTIFIER)
    archive = io.BytesIO()
    archive.write(builder.Output())
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_STORED) as files:
        files.writestr(_zip_info(LABELS_FILE), "\n".join(info.class_names) + "\n")
    return archive.getvalue()


def _zip_info(name: str) -> zipfile.ZipInfo:
    """A fixed timestamp, so the same model writes the same bytes (the sha256 in the
    manifest)."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def _name(entry) -> str:
    name = entry.name
    return name.decode() if isinstance(name, bytes) else str(name)


def _flatbuffer_part(model: bytes) -> bytes:
    """The model without an appended zip of associated files (a flatbuffer read ignores it,
    but a rewrite must not carry the old archive inside the new one)."""
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as files:
            start = min(info.header_offset for info in files.infolist())
        return model[:start]
    except (zipfile.BadZipFile, ValueError):
        return model


# --- reading --------------------------------------------------------------------------------


def _field(buffer: bytes, table: int, slot: int) -> int | None:
    """The absolute position of ``slot``'s value in the table at ``table``, or ``None``."""
    vtable = table - int.from_bytes(buffer[table : table + 4], "little", signed=True)
    vtable_size = int.from_bytes(buffer[vtable : vtable + 2], "little")
    entry = 4 + 2 * slot
    if entry >= vtable_size:
        return None
    offset = int.from_bytes(buffer[vtable + entry : vtable + entry + 2], "little")
    return table + offset if offset else None


def _deref(buffer: bytes, position: int) -> int:
    return position + int.from_bytes(buffer[position : position + 4], "little")


def _sub(buffer, table, slot):
    position = _field(buffer, table, slot)
    return None if position is None else _deref(buffer, position)


def _string(buffer, table, slot) -> str | None:
    start = _sub(buffer, table, slot)
    if start is None:
        return None
    length = int.from_bytes(buffer[start : start + 4], "little")
    return bytes(buffer[start + 4 : start + 4 + length]).decode()


def _vector(buffer, table, slot) -> tuple[int, int]:
    """``(first element position, length)`` of a vector field (``(0, 0)`` when absent)."""
    start = _sub(buffer, table, slot)
    if start is None:
        return 0, 0
    return start + 4, int.from_bytes(buffer[start : start + 4], "little")


def _tables(buffer, table, slot) -> list[int]:
    first, count = _vector(buffer, table, slot)
    return [_deref(buffer, first + 4 * index) for index in range(count)]


def _float_list(buffer, table, slot) -> list[float]:
    first, count = _vector(buffer, table, slot)
    return np.frombuffer(bytes(buffer[first : first + 4 * count]), "<f4").tolist()


def _int(buffer, table, slot, size: int, default: int = 0) -> int:
    position = _field(buffer, table, slot)
    if position is None:
        return default
    return int.from_bytes(buffer[position : position + size], "little", signed=True)


def _model_metadata(model: bytes) -> bytes | None:
    """The bytes of ``model``'s ``TFLITE_METADATA`` buffer (TFLite schema: Model.metadata is
    slot 6, Model.buffers slot 4; Metadata.name 0, .buffer 1; Buffer.data 0)."""
    root = _deref(model, 0)
    buffers = _tables(model, root, 4)
    for entry in _tables(model, root, 6):
        if _string(model, entry, 0) == METADATA_NAME:
            data_start, length = _vector(model, buffers[_int(model, entry, 1, 4)], 0)
            return bytes(model[data_start : data_start + length])
    return None


def read_metadata(model: bytes) -> dict | None:
    """The metadata fields this module writes, read back from a ``.tflite`` file's bytes
    (``None`` when it has none): ``name``, ``version``, ``author``, ``license``,
    ``min_parser_version``, ``input`` (``mean``, ``std``, ``color_space``, ``size``),
    ``output`` (``description``, ``label_file``), ``activation`` (MediaPipe's) and
    ``labels`` (from the appended archive)."""
    data = _model_metadata(model)
    if data is None:
        return None
    if data[4:8] != METADATA_IDENTIFIER:
        raise ValueError(f"metadata buffer has identifier {data[4:8]!r}, not {METADATA_IDENTIFIER}")
    root = _deref(data, 0)
    (subgraph,) = _tables(data, root, 3)
    (image,) = _tables(data, subgraph, 2)
    (masks,) = _tables(data, subgraph, 3)
    (unit,) = _tables(data, image, 4)
    normalization = _sub(data, unit, 1)
    properties = _sub(data, _sub(data, image, 3), 1)
    size = _sub(data, properties, 1)
    activation = None
    for custom in _tables(data, subgraph, 9):
        if _string(data, custom, 0) == SEGMENTER_METADATA_NAME:
            first, length = _vector(data, custom, 1)
            options = bytes(data[first : first + length])
            code = _int(options, _deref(options, 0), 0, 1)
            activation = {value: key for key, value in ACTIVATIONS.items()}[code]
    (label_file,) = _tables(data, masks, 6)
    with zipfile.ZipFile(io.BytesIO(model)) as files:
        labels = files.read(_string(data, label_file, 0)).decode().splitlines()
    return {
        "name": _string(data, root, 0),
        "description": _string(data, root, 1),
        "version": _string(data, root, 2),
        "author": _string(data, root, 4),
        "license": _string(data, root, 5),
        "min_parser_version": _string(data, root, 7),
        "input": {
            "name": _string(data, image, 0),
            "mean": _float_list(data, normalization, 0),
            "std": _float_list(data, normalization, 1),
            "color_space": {1: "RGB", 2: "GRAYSCALE"}.get(_int(data, properties, 0, 1)),
            "size": (_int(data, size, 1, 4), _int(data, size, 0, 4)),
        },
        "output": {
            "name": _string(data, masks, 0),
            "description": _string(data, masks, 1),
            "label_file": _string(data, label_file, 0),
        },
        "activation": activation,
        "labels": labels,
    }

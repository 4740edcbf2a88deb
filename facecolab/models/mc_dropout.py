"""Monte-Carlo dropout in a model: find its always-on dropout layers, or make the
deterministic copy (dropout off) that MC averaging is compared with."""

from __future__ import annotations

from collections.abc import Iterable

import keras

from facecolab.models.layers import AlwaysOnDropout


def _mc_layers(layer) -> Iterable[keras.layers.Layer]:
    """Every ``AlwaysOnDropout`` in ``layer``, searching nested models."""
    if isinstance(layer, AlwaysOnDropout):
        yield layer
    for inner in getattr(layer, "layers", ()):
        yield from _mc_layers(inner)


def has_mc_dropout(model: keras.Model) -> bool:
    """Whether ``model`` (or a model nested in it) has always-on dropout layers."""
    return next(_mc_layers(model), None) is not None


def require_mc_dropout(model: keras.Model) -> None:
    """The check before any Monte-Carlo sampling (one message for every entry point).

    Raises:
        ValueError: ``model`` has no always-on dropout layers.
    """
    if not has_mc_dropout(model):
        raise ValueError(
            f"model {model.name!r} has no Monte-Carlo dropout layers; build it with "
            "bayesian=True / mc_dropout=True"
        )


def without_mc_dropout(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (same weights) whose always-on dropout is ordinary dropout, i.e.
    off at inference: the deterministic single pass that MC averaging is compared with."""

    def clone_layer(layer):
        cls = keras.layers.Dropout if isinstance(layer, AlwaysOnDropout) else type(layer)
        return cls.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
    copy.set_weights(model.get_weights())
    return copy


def deterministic(model: keras.Model) -> keras.Model:
    """``model`` with Monte-Carlo dropout off (:func:`without_mc_dropout`) when it has any,
    else ``model`` itself."""
    return without_mc_dropout(model) if has_mc_dropout(model) else model

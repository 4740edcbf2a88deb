"""Stop a training run at the first non-finite number, before anything records it.

:class:`NonFiniteGuard` goes first in the callback list. At the end of every epoch it checks
the epoch's losses (a mean over the batches, so one non-finite batch makes it non-finite) and
every weight and optimiser variable. It reads nothing after a batch: a per-step read would make
the host wait for the accelerator at every step (and keeps Keras from dispatching callbacks
asynchronously), so training never stalls for it; a diverged epoch is caught at its end.
On the first NaN or infinity it ends the other callbacks (their ``on_train_end`` closes the
CSV log and TensorBoard writers) and raises :class:`TrainingDivergedError`: because it runs first,
the CSV row, the resume checkpoint and ``model_best.keras`` of the bad epoch are never
written, the last good checkpoint stays, and ``train`` never reaches ``model_final.keras``.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss, weight or optimiser value; nothing of the bad
    epoch was saved. The message says where it happened and what was kept."""


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True  # not a number (e.g. a string in the logs): nothing to check


class NonFiniteGuard(keras.callbacks.Callback):
    """Raise :class:`TrainingDivergedError` at the first non-finite loss or variable.

    Args:
        run_dir: the run folder, for the message.
        others: the callbacks after this one, ended (``on_train_end``) before raising.
    """

    def __init__(self, run_dir, others=()):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.others = list(others)
        self.epoch = 0
        self.last_good: int | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.last_good is None:
            self.last_good = epoch  # epochs finished before this run (resume) or 0

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if name.endswith("loss") and not _finite(value):
                self._stop(f"the {name} is {float(value)} (the epoch's mean)")
        optimizer = self.model.optimizer
        variables = [*self.model.weights, *(optimizer.variables if optimizer else [])]
        variables = [v for v in variables if "float" in keras.backend.standardize_dtype(v.dtype)]
        # One flag per variable reduced where it lives, then one transfer to the host.
        ops = keras.ops
        flags = ops.stack([ops.all(ops.isfinite(ops.convert_to_tensor(v))) for v in variables])
        for variable, finite in zip(variables, ops.convert_to_numpy(flags), strict=True):
            if not finite:
                self._stop(f"variable {variable.path} holds NaN or infinite values")
        self.last_good = epoch + 1

    def _stop(self, what: str):
        for callback in self.others:
            callback.on_train_end()
        learning_rate = float(np.asarray(self.model.optimizer.learning_rate))
        kept = (
            f"the checkpoint of epoch {self.last_good} and model_best.keras are kept"
            if self.last_good
            else "no epoch had finished, so no model was saved"
        )
        raise TrainingDivergedError(
            f"{self.run_dir}: training diverged in epoch {self.epoch + 1}: {what}. Stopped "
            f"without saving that epoch; {kept}. Lower optimizer.learning_rate (now "
            f"{learning_rate:g}) or set optimizer.clipnorm, and train into a new folder"
        )

"""Probabilities of a whole in-memory cube for scoring, through the shipped inference path.

A bundle file is scored with :class:`cropcube.inference.Classifier` (the C++ kernel when built, as
shipped); a module still in training with the same Python runner the ``python`` backend ships
(:class:`cropcube.inference.torch_backend.TorchRunner`): one tiling plan, one executor, so a score
measures what users run. Pixels whose bands are all nodata get all-zero probabilities (class 0).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from cropcube.errors import InputError
from cropcube.inference.torch_backend import ModuleFacts, TorchRunner


def predict_probabilities(
    module: Callable[[Tensor], Tensor],
    cube: npt.NDArray[np.number],
    n_channels: int,
    halo: int,
    downsampling_factor: int,
    num_classes: int,
    tile: int = 256,
    nodata: float = 0,
    core: tuple[int, int, int, int] | None = None,
) -> npt.NDArray[np.float32]:
    """Softmax probabilities (K, h, w) of a module in memory over a raw-DN cube (T*C, H, W).

    Args:
        module: raw DN (B, T*C, h, w) -> logits (B, K, h, w), e.g. an ``InferenceModule`` in training.
        cube: the digital numbers.
        n_channels: T*C the module expects.
        halo: context pixels on each side of a tile core (multiple of the downsampling factor).
        downsampling_factor: the module's; tiles keep the core's alignment to it.
        num_classes: K.
        tile: core size (rounded up to the downsampling factor).
        nodata: DN meaning no data.
        core: ``(row, col, rows, cols)`` to score only that window (the rest is context); default all.

    Raises:
        InputError: wrong band count, NaN/inf or negative values, a core outside the cube.
    """
    if cube.ndim != 3 or cube.shape[0] != n_channels:
        raise InputError("cube", f"has shape {cube.shape}; the model needs ({n_channels}, H, W)")
    facts = ModuleFacts(module, halo, downsampling_factor, float(nodata), num_classes)
    runner = TorchRunner(facts, torch.device("cpu"), tile_size=tile, threads=torch.get_num_threads())
    view = cube if cube.dtype in (np.uint16, np.int16, np.float32) else cube.astype(np.float32)
    probs = runner.run(view, probabilities=True, core=core).probabilities
    assert probs is not None
    return probs


def classes_from_probabilities(probs: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Class index (H, W): argmax + 1, and 0 where every probability is 0 (nodata)."""
    out = (np.argmax(probs, axis=0) + 1).astype(np.uint8)
    out[probs.max(axis=0) <= 0] = 0
    return out

"""Tiled prediction of a whole in-memory cube with a bundle module (for evaluation and validation).

Tiles overlap by the model's halo and only their cores are kept, so the result does not depend on
the tile size (up to float rounding). Pixels whose bands are all nodata get class 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from cropcube.datasets.scene import check_cube_values
from cropcube.errors import InputError


def predict_probabilities(
    module: Callable[[Tensor], Tensor],
    cube: npt.NDArray[np.number],
    n_channels: int,
    halo: int,
    downsampling_factor: int,
    tile: int = 256,
    nodata: float = 0,
) -> npt.NDArray[np.float32]:
    """Softmax probabilities (K, H, W) of a raw-DN cube (T*C, H, W); nodata pixels get all zeros.

    Args:
        module: raw DN (B, T*C, h, w) -> logits (B, K, h, w), e.g. a bundle's module.
        cube: the digital numbers.
        n_channels: T*C the module expects.
        halo: context pixels on each side of a tile core (multiple of the downsampling factor).
        downsampling_factor: tile offsets are multiples of it.
        tile: core size (rounded up to the downsampling factor).
        nodata: DN meaning no data.

    Raises:
        InputError: wrong band count, NaN/inf values.
    """
    if cube.ndim != 3 or cube.shape[0] != n_channels:
        raise InputError("cube", f"has shape {cube.shape}; the model needs ({n_channels}, H, W)")
    check_cube_values(cube, "cube")
    d = downsampling_factor
    tile = max(d, -(-tile // d) * d)
    _, h, w = cube.shape
    probs: npt.NDArray[np.float32] | None = None
    with torch.inference_mode():
        for r in range(0, h, tile):
            for c in range(0, w, tile):
                r0, c0 = max(0, r - halo), max(0, c - halo)
                r1, c1 = min(h, r + tile + halo), min(w, c + tile + halo)
                x = torch.from_numpy(np.ascontiguousarray(cube[:, r0:r1, c0:c1], dtype=np.float32))[None]
                p = torch.softmax(module(x).float(), dim=1)[0].numpy()
                if probs is None:
                    probs = np.zeros((p.shape[0], h, w), dtype=np.float32)
                rr, cc = min(h, r + tile), min(w, c + tile)
                probs[:, r:rr, c:cc] = p[:, r - r0 : rr - r0, c - c0 : cc - c0]
    assert probs is not None
    probs[:, (cube == nodata).all(axis=0)] = 0.0
    return probs


def classes_from_probabilities(probs: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Class index (H, W): argmax + 1, and 0 where every probability is 0 (nodata)."""
    out = (np.argmax(probs, axis=0) + 1).astype(np.uint8)
    out[probs.max(axis=0) <= 0] = 0
    return out

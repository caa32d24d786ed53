"""Spatially smooth random fields: coarse Gaussian noise upsampled with smooth interpolation.

Cheaper than filtering full-size noise (no SciPy needed) and evaluable on any window of rows, so
large scenes can be rendered in strips.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def _axis_weights(n: int, cell: float, offset: int = 0) -> tuple[npt.NDArray[np.intp], FloatArray]:
    pos = (np.arange(offset, offset + n, dtype=np.float64) + 0.5) / cell
    idx = np.floor(pos).astype(np.intp)
    frac = pos - idx
    smooth = frac * frac * (3.0 - 2.0 * frac)  # smoothstep: no visible grid creases
    return idx, smooth.astype(np.float32)


class SmoothField:
    """A smooth zero-mean random field of about unit standard deviation on a ``height x width`` grid.

    Args:
        rng: random generator (consumed once, at construction).
        height: rows of the full grid.
        width: columns of the full grid.
        cell: correlation length in pixels (spacing of the coarse noise).
        octaves: extra octaves at half, quarter, ... the cell size (fractal detail).
    """

    def __init__(
        self, rng: np.random.Generator, height: int, width: int, cell: float, octaves: int = 1
    ) -> None:
        self.height = height
        self.width = width
        self.layers: list[tuple[float, float, FloatArray]] = []
        weight = 1.0
        for _ in range(octaves):
            c = max(float(cell), 1.0)
            coarse = rng.standard_normal((int(height / c) + 3, int(width / c) + 3)).astype(np.float32)
            self.layers.append((c, weight, coarse))
            cell /= 2.0
            weight /= 2.0
        # Smoothstep interpolation of unit noise has s.d. about 0.66; rescale to about 1.
        self.scale = np.float32(1.0 / (0.66 * np.sqrt(sum(w * w for _, w, _ in self.layers))))

    def rows(self, r0: int, r1: int, supersample: int = 1) -> FloatArray:
        """The field on rows ``r0:r1`` of a grid ``supersample`` times finer than the base grid."""
        s = supersample
        out = np.zeros((r1 - r0, self.width * s), dtype=np.float32)
        for cell, weight, coarse in self.layers:
            ri, rw = _axis_weights(r1 - r0, cell * s, r0)
            ci, cw = _axis_weights(self.width * s, cell * s)
            top = coarse[ri]
            strip = top + (coarse[ri + 1] - top) * rw[:, None]
            left = strip[:, ci]
            out += weight * (left + (strip[:, ci + 1] - left) * cw[None, :])
        out *= self.scale
        return out

    def full(self) -> FloatArray:
        """The whole field on the base grid."""
        return self.rows(0, self.height)

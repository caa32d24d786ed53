"""Spatially blocked train/val/test splits: whole blocks go to one split, so chips never straddle two."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class BlockSplit:
    """Assignment of square blocks of the grid to splits.

    Attributes:
        height: grid height in pixels.
        width: grid width in pixels.
        block_size: block edge in pixels.
        buffer: pixels at each block edge that no chip uses (a guard band against parcels that cross
            block edges).
        assignment: split index (0 train, 1 val, 2 test) per block, shape (blocks_y, blocks_x).
    """

    height: int
    width: int
    block_size: int
    buffer: int
    assignment: npt.NDArray[np.int8]

    def windows(self, split: str, chip_size: int, stride: int | None = None) -> list[tuple[int, int]]:
        """Upper-left (row, col) of every chip of ``split`` on a regular grid inside its blocks.

        Chips lie entirely inside one block's interior (block minus buffer), so a chip of one split
        never overlaps, and keeps ``2 * buffer`` pixels from, a chip of another split.
        """
        if split not in SPLITS:
            raise InputError("split", f"{split!r} is not one of {SPLITS}")
        inner = self.block_size - 2 * self.buffer
        if chip_size > inner:
            raise InputError("chip_size", f"{chip_size} exceeds the usable block size {inner}")
        stride = stride or chip_size
        offsets = list(range(0, inner - chip_size + 1, stride))
        if offsets[-1] != inner - chip_size:
            offsets.append(inner - chip_size)  # cover the block's far edge too
        target = SPLITS.index(split)
        out: list[tuple[int, int]] = []
        for by, bx in zip(*np.nonzero(self.assignment == target), strict=True):
            r0 = int(by) * self.block_size + self.buffer
            c0 = int(bx) * self.block_size + self.buffer
            out.extend((r0 + dr, c0 + dc) for dr in offsets for dc in offsets)
        return out

    def mask(self, split: str) -> npt.NDArray[np.bool_]:
        """Pixels (H, W) usable by ``split`` (block interiors)."""
        m = np.zeros((self.height, self.width), dtype=bool)
        for r, c in self.windows(split, self.block_size - 2 * self.buffer):
            m[r : r + self.block_size - 2 * self.buffer, c : c + self.block_size - 2 * self.buffer] = True
        return m


def blocked_split(
    height: int,
    width: int,
    block_size: int,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    buffer: int = 0,
) -> BlockSplit:
    """Assign whole blocks to train/val/test at random with a fixed seed.

    Every split with a positive fraction gets at least one block. Pixels beyond the last full block
    are not used.

    Raises:
        InputError: blocks do not fit, too few blocks, or bad fractions.
    """
    if block_size <= 2 * buffer or block_size < 1:
        raise InputError("block_size", f"{block_size} must exceed twice the buffer ({buffer})")
    ny, nx = height // block_size, width // block_size
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise InputError("split fractions", f"{fractions} must be three non-negative numbers summing to 1")
    need = sum(1 for f in fractions if f > 0)
    if ny * nx < need:
        raise InputError(
            "block_size", f"{block_size} leaves {ny * nx} blocks in {height}x{width}; need {need}"
        )
    n = ny * nx
    counts = [max(1, round(f * n)) if f > 0 else 0 for f in fractions[1:]]
    n_train = n - sum(counts)
    if n_train < (1 if fractions[0] > 0 else 0):
        raise InputError("block_size", f"{n} blocks are too few for the split {fractions}")
    labels = np.array([0] * n_train + [1] * counts[0] + [2] * counts[1], dtype=np.int8)
    np.random.default_rng(seed).shuffle(labels)
    return BlockSplit(height, width, block_size, buffer, labels.reshape(ny, nx))


def cross_validation_splits(
    height: int, width: int, block_size: int, folds: int, n_val: int, seed: int = 0
) -> list[BlockSplit]:
    """Spatial k-fold cross-validation: every block is a test block in exactly one fold.

    The blocks are shuffled once (``seed``) and cut into ``folds`` groups; fold f tests on group f,
    validates on the ``n_val`` blocks that follow it in the shuffled order, and trains on the rest.
    On a small labelled tile this scores every labelled pixel once, by a model that never saw its block.

    Raises:
        InputError: a block size below 1 px, or too few blocks for the folds and the validation blocks.
    """
    if block_size < 1:
        raise InputError("block_size", f"{block_size} px: a block needs at least 1 px")
    ny, nx = height // block_size, width // block_size
    n = ny * nx
    if folds < 2 or n_val < 1 or n < folds or n - (n + folds - 1) // folds - n_val < 1:
        raise InputError(
            "folds", f"{folds} folds with {n_val} validation blocks do not fit {n} blocks of {block_size} px"
        )
    order = np.random.default_rng(seed).permutation(n)
    groups = np.array_split(order, folds)
    out = []
    for f, test in enumerate(groups):
        assignment = np.zeros(n, dtype=np.int8)
        assignment[test] = 2
        rest = np.concatenate([groups[(f + 1 + i) % folds] for i in range(folds - 1)])
        assignment[rest[:n_val]] = 1
        out.append(BlockSplit(height, width, block_size, 0, assignment.reshape(ny, nx)))
    return out

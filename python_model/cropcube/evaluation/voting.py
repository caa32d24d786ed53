"""Parcel voting: every pixel of a parcel gets the class with the highest mean probability in it.

:class:`ParcelVoter` accumulates per-parcel probability sums window by window (streaming, for
large images classified in tiles); :func:`parcel_vote` is the one-shot form for a whole image.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError


class ParcelVoter:
    """Streaming per-parcel sums of class probabilities.

    Args:
        num_classes: K, the number of probability channels (channel k = class k + 1).
    """

    def __init__(self, num_classes: int) -> None:
        self.num_classes = int(num_classes)
        self._sums: dict[int, npt.NDArray[np.float64]] = {}
        self._counts: dict[int, int] = {}

    def add(self, probs: npt.NDArray[np.floating], parcel_ids: npt.NDArray[np.integer]) -> None:
        """Add a window: probabilities (K, h, w) and the parcel ids (h, w) of the same pixels (0 = none).

        Each pixel must be added once (add only the core of overlapping tiles).
        """
        if probs.ndim != 3 or probs.shape[0] != self.num_classes or probs.shape[1:] != parcel_ids.shape:
            raise InputError(
                "parcel vote window", f"probabilities {probs.shape} do not match ids {parcel_ids.shape}"
            )
        ids = parcel_ids.ravel().astype(np.int64)
        keep = ids > 0
        if not keep.any():
            return
        ids = ids[keep]
        flat = probs.reshape(self.num_classes, -1)[:, keep].astype(np.float64)
        uniq, inverse = np.unique(ids, return_inverse=True)
        sums = np.zeros((len(uniq), self.num_classes), dtype=np.float64)
        np.add.at(sums, inverse, flat.T)
        counts = np.bincount(inverse, minlength=len(uniq))
        for j, pid in enumerate(uniq.tolist()):
            if pid in self._sums:
                self._sums[pid] += sums[j]
                self._counts[pid] += int(counts[j])
            else:
                self._sums[pid] = sums[j]
                self._counts[pid] = int(counts[j])

    def state(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """The sums as arrays (parcel ids, probability sums (n, K), pixel counts) for a checkpoint."""
        ids = np.array(sorted(self._sums), dtype=np.int64)
        sums = np.array([self._sums[p] for p in ids.tolist()], dtype=np.float64)
        counts = np.array([self._counts[p] for p in ids.tolist()], dtype=np.int64)
        return ids, sums.reshape(len(ids), self.num_classes), counts

    def restore(
        self, ids: npt.NDArray[np.integer], sums: npt.NDArray[np.floating], counts: npt.NDArray[np.integer]
    ) -> None:
        """Replace the sums by those of :meth:`state` (shapes checked by the caller)."""
        self._sums = {int(p): np.array(s, dtype=np.float64) for p, s in zip(ids.tolist(), sums, strict=True)}
        self._counts = {int(p): int(c) for p, c in zip(ids.tolist(), counts.tolist(), strict=True)}

    def result(self) -> dict[int, int]:
        """Parcel id -> voted class index (1..K)."""
        return {pid: int(np.argmax(s)) + 1 for pid, s in self._sums.items()}

    def mean_probabilities(self) -> dict[int, npt.NDArray[np.float64]]:
        """Parcel id -> mean probability per class (K,) over the parcel's pixels (the per-parcel table)."""
        return {pid: s / self._counts[pid] for pid, s in self._sums.items()}

    def apply(
        self, classes: npt.NDArray[np.integer], parcel_ids: npt.NDArray[np.integer]
    ) -> npt.NDArray[np.uint8]:
        """Replace per-pixel classes by the parcel's voted class where a parcel id is known."""
        votes = self.result()
        out = np.asarray(classes).astype(np.uint8, copy=True)
        if not votes:
            return out
        ids = np.asarray(parcel_ids).astype(np.int64)
        keys = np.array(sorted(votes), dtype=np.int64)
        vals = np.array([votes[k] for k in keys.tolist()], dtype=np.uint8)
        pos = np.clip(np.searchsorted(keys, ids), 0, len(keys) - 1)
        hit = (ids > 0) & (keys[pos] == ids)
        out[hit] = vals[pos[hit]]
        return out


def parcel_vote(
    probs: npt.NDArray[np.floating],
    parcel_ids: npt.NDArray[np.integer],
    classes: npt.NDArray[np.integer] | None = None,
) -> npt.NDArray[np.uint8]:
    """Classes (H, W) after parcel voting over probabilities (K, H, W).

    Args:
        probs: class probabilities (channel k = class k + 1).
        parcel_ids: parcel id per pixel (0 = no parcel).
        classes: per-pixel classes to keep outside parcels (default: argmax of ``probs`` + 1).
    """
    if probs.ndim != 3 or probs.shape[1:] != parcel_ids.shape:
        raise InputError("parcel_ids", f"shape {parcel_ids.shape} does not match probabilities {probs.shape}")
    voter = ParcelVoter(probs.shape[0])
    voter.add(probs, parcel_ids)
    base = np.argmax(probs, axis=0).astype(np.uint8) + 1 if classes is None else classes
    return voter.apply(base, parcel_ids)


def parcel_truth(parcel_ids: npt.NDArray[np.integer], labels: npt.NDArray[np.integer]) -> dict[int, int]:
    """Parcel id -> majority label over its labelled pixels (parcels without labels are left out)."""
    keep = (parcel_ids > 0) & (labels > 0)
    ids, labs = parcel_ids[keep].astype(np.int64), labels[keep].astype(np.int64)
    if ids.size == 0:
        return {}
    uniq, inverse = np.unique(ids, return_inverse=True)
    counts = np.zeros((len(uniq), int(labs.max()) + 1), dtype=np.int64)
    np.add.at(counts, (inverse, labs), 1)
    return {int(p): int(c) for p, c in zip(uniq.tolist(), counts.argmax(axis=1).tolist(), strict=True)}


def parcel_accuracy(votes: dict[int, int], truth: dict[int, int]) -> tuple[int, float]:
    """(parcels graded, fraction whose voted class equals their majority label)."""
    graded = [p for p in truth if p in votes]
    if not graded:
        return 0, 0.0
    return len(graded), sum(votes[p] == truth[p] for p in graded) / len(graded)

"""Losses for 1..K class logits with class 0 (unlabelled) ignored, and class weights from frequencies."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

IGNORE = -1


def class_weights(pixel_counts: npt.NDArray[np.int64], power: float = 0.5) -> Tensor:
    """Inverse-frequency weights ``count ** -power`` (K,) for counts (K + 1,) indexed by class (0 ignored).

    ``power`` 0.5 (inverse square root, the default) softens the imbalance; 1 equalises the classes.

    Classes absent from training get weight 0 (they never occur as targets anyway); weights are
    scaled so that the average weight over training pixels is 1.
    """
    counts = pixel_counts[1:].astype(np.float64)
    w = np.divide(1.0, counts**power, out=np.zeros_like(counts), where=counts > 0)
    total = (w * counts).sum()
    if total > 0:
        w *= counts.sum() / total
    return torch.tensor(w, dtype=torch.float32)


class SegmentationLoss(nn.Module):
    """Cross-entropy (optionally weighted) or focal loss over labelled pixels.

    Args:
        kind: ``ce``, ``weighted_ce`` or ``focal``.
        weights: per-class weights (K,) for ``weighted_ce``.
        gamma: focal-loss focusing parameter.
        label_smoothing: cross-entropy label smoothing (not used by ``focal``).
    """

    def __init__(
        self, kind: str, weights: Tensor | None = None, gamma: float = 2.0, label_smoothing: float = 0.0
    ) -> None:
        super().__init__()
        self.kind = kind
        self.gamma = gamma
        self.label_smoothing = label_smoothing
        self.weights: Tensor | None = weights if kind == "weighted_ce" else None

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Mean loss of logits (B, K, h, w) against class indices (B, h, w), 0 ignored."""
        target = labels - 1  # class k -> channel k - 1; class 0 -> IGNORE
        logits = logits.float()
        if not bool((target != IGNORE).any()):
            return logits.sum() * 0.0  # keeps the graph; a chip without labels teaches nothing
        if self.kind == "focal":
            logp = F.log_softmax(logits, dim=1)
            keep = target != IGNORE
            t = target.clamp(min=0).unsqueeze(1)
            logpt = logp.gather(1, t).squeeze(1)[keep]
            return (-((1 - logpt.exp()) ** self.gamma) * logpt).mean()
        return F.cross_entropy(
            logits, target, weight=self.weights, ignore_index=IGNORE, label_smoothing=self.label_smoothing
        )

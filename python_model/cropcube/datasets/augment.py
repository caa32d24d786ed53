"""Batch augmentation on raw DN chips: D4 symmetries, whole-date dropout, cloud blobs, band gains.

Augmenting raw DN (before the model's own normalisation) means a dropped date looks exactly like a
cloud-masked/nodata date at inference time (all bands 0), which the model learns to ignore.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings.

    Attributes:
        d4: random flips and transposes (the 8 symmetries of the square).
        date_dropout: probability that a date of a chip is set to nodata (0); one date always stays.
        cloud: probability that a chip gets a bright cloud blob on one random date.
        n_bands: bands per date (to find a date's channels).
        gain: standard deviation of a log-normal gain drawn per chip, date and band and multiplied
            into the values (0 = off): field-to-field vigour and atmospheric differences, so that a
            class seen on few parcels is not learnt as exactly their brightness. Nodata (0) stays 0.
    """

    d4: bool = True
    date_dropout: float = 0.1
    cloud: float = 0.2
    n_bands: int = 4
    gain: float = 0.0


def augment_batch(x: Tensor, y: Tensor, cfg: AugmentConfig, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Augment x (B, T*C, h, w) raw DN and y (B, h, w) labels; returns new tensors.

    Args:
        x: raw digital numbers.
        y: labels.
        cfg: settings.
        gen: seeded generator (reproducible augmentation).
    """
    x, y = x.clone(), y.clone()
    b, k, h, w = x.shape
    t = k // cfg.n_bands
    for i in range(b):
        if cfg.d4:
            code = int(torch.randint(0, 8, (1,), generator=gen))
            xi, yi = x[i], y[i]
            if code & 1:
                xi, yi = xi.flip(-1), yi.flip(-1)
            if code & 2:
                xi, yi = xi.flip(-2), yi.flip(-2)
            if code & 4 and h == w:
                xi, yi = xi.transpose(-1, -2), yi.transpose(-1, -2)
            x[i], y[i] = xi.clone(), yi.clone()
        if cfg.date_dropout > 0:
            drop = torch.rand(t, generator=gen) < cfg.date_dropout
            if bool(drop.all()):
                drop[int(torch.randint(0, t, (1,), generator=gen))] = False
            for d in torch.nonzero(drop).flatten().tolist():
                x[i, d * cfg.n_bands : (d + 1) * cfg.n_bands] = 0
        if cfg.gain > 0:
            x[i] *= torch.exp(torch.randn(k, 1, 1, generator=gen) * cfg.gain)
        if cfg.cloud > 0 and float(torch.rand(1, generator=gen)) < cfg.cloud:
            d = int(torch.randint(0, t, (1,), generator=gen))
            r0, c0 = (int(v) for v in torch.randint(0, max(1, h // 2), (2,), generator=gen))
            r1 = r0 + int(torch.randint(h // 4 + 1, h // 2 + 2, (1,), generator=gen))
            c1 = c0 + int(torch.randint(w // 4 + 1, w // 2 + 2, (1,), generator=gen))
            opacity = 0.5 + 0.5 * float(torch.rand(1, generator=gen))
            bright = 3000.0 + 5000.0 * float(torch.rand(1, generator=gen))
            sl = x[i, d * cfg.n_bands : (d + 1) * cfg.n_bands, r0:r1, c0:c1]
            x[i, d * cfg.n_bands : (d + 1) * cfg.n_bands, r0:r1, c0:c1] = torch.where(
                sl > 0, sl * (1 - opacity) + bright * opacity, sl
            )
    return x, y

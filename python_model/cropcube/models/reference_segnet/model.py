"""ReferenceSegNet: the reference's SegNet/U-Net hybrid (1,501,709 parameters), exactly as described.

Plain 2-D CNN on the 28 stacked channels; 3x3 conv + BatchNorm + ReLU with reflect padding;
encoder 28->64->64, max-pool (indices), 64->128->128, max-pool, 128->256->128; decoder max-unpool,
concat with the 128-channel skip, 256->128->64, max-unpool, concat with the 64-channel skip,
128->128->64, final 3x3 conv 64->77 logits (class 0 included, as in the reference).

To fit the bundle contract the forward drops the class-0 logit (the reference ignores class 0 in its
loss, so that logit is never trained) and returns 76 logits. ``valid`` and ``doy`` are ignored: the
reference knows neither time nor clouds. Its normalisation (DN / per-band maximum) is expressed in the
bundle as mean 0, std = maximum * dn_scale. Input H and W must be >= 8 (reflect padding at 1/4).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect"),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ReferenceSegNet(nn.Module):
    """The reference SegNet; see the module docstring.

    Args:
        n_dates: number of dates T.
        n_bands: bands per date C.
        n_classes: crop classes (without class 0); the last conv has ``n_classes + 1`` outputs.
    """

    # Theoretical receptive field (pixels, full width): 2 convs (5), pool (6), 2 convs at stride 2 (14),
    # pool (16), 2 convs at stride 4 (32), unpool, 2 convs at stride 2 (40), unpool, 3 convs (46) for a
    # centred window; pooling makes it lean one way at some positions: the largest one-sided reach is
    # 24 px (tests/models), so the full width is 2 * 24 + 1.
    receptive_field: int = 49
    downsampling_factor: int = 4

    def __init__(self, n_dates: int = 7, n_bands: int = 4, n_classes: int = 76) -> None:
        super().__init__()
        cin = n_dates * n_bands
        self.enc1 = nn.Sequential(_conv(cin, 64), _conv(64, 64))
        self.enc2 = nn.Sequential(_conv(64, 128), _conv(128, 128))
        self.enc3 = nn.Sequential(_conv(128, 256), _conv(256, 128))
        self.dec2 = nn.Sequential(_conv(256, 128), _conv(128, 64))
        self.dec1 = nn.Sequential(_conv(128, 128), _conv(128, 64))
        self.head = nn.Conv2d(64, n_classes + 1, 3, padding=1, padding_mode="reflect")

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        """Logits (B, n_classes, H, W) for x (B, T, C, H, W); ``valid`` and ``doy`` are unused."""
        b, t, c, h, w = x.shape
        s1 = self.enc1(x.reshape(b, t * c, h, w))
        p1, i1 = F.max_pool2d(s1, 2, 2, return_indices=True)
        s2 = self.enc2(p1)
        p2, i2 = F.max_pool2d(s2, 2, 2, return_indices=True)
        bottom = self.enc3(p2)
        u2 = F.max_unpool2d(bottom, i2, [2, 2], [2, 2], output_size=[s2.shape[2], s2.shape[3]])
        d2 = self.dec2(torch.cat([u2, s2], dim=1))
        u1 = F.max_unpool2d(d2, i1, [2, 2], [2, 2], output_size=[s1.shape[2], s1.shape[3]])
        d1 = self.dec1(torch.cat([u1, s1], dim=1))
        return self.head(d1)[:, 1:]

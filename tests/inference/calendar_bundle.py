"""A small calendar-free network and its format-2 bundle, for the tests of dates on every path.

The network obeys the bundle contract for format 2 (:mod:`cropcube.bundle.module`): no layer's size
depends on T; each date is embedded with its own day of year (a sinusoidal encoding of ``doy``
(B, T)), dates are pooled by attention over the valid ones, then a small two-scale spatial head
(downsampling factor 2) gives 76 logits. Written with :func:`cropcube.bundle.export.export_bundle`,
so the export's parity checks at the calendar's extremes run too.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from cropcube.bundle.export import export_bundle
from cropcube.calendar import Calendar
from cropcube.classes import load_class_table
from cropcube.cube_spec import REFERENCE_2018_SPEC

MEAN = [0.05, 0.07, 0.06, 0.25]
STD = [0.03, 0.03, 0.04, 0.1]
CALENDAR = Calendar(
    min_dates=3,
    max_dates=12,
    season_start=1,
    season_end=335,
    default_dates=REFERENCE_2018_SPEC.dates,
    trained_on="untrained test network",
)


class CalendarNet(nn.Module):
    receptive_field: int = 14  # an upper bound: one-sided reach 1 + 1 + 2 + 1 px
    downsampling_factor: int = 2

    def __init__(self, n_bands: int = 4, n_classes: int = 76, width: int = 12) -> None:
        super().__init__()
        self.embed = nn.Linear(n_bands + 4, width)
        self.score = nn.Linear(n_bands + 4, 1)
        self.spatial = nn.Conv2d(width, width, 3, padding=1)
        self.coarse = nn.Conv2d(width, width, 3, padding=1)
        self.head = nn.Conv2d(2 * width, n_classes, 1)

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        b, t, _, h, w = x.shape
        freq = torch.tensor([1.0, 2.0], dtype=x.dtype, device=x.device) * (2 * math.pi / 365.0)
        angles = doy.to(x.dtype).unsqueeze(2) * freq  # (B, T, 2)
        pe = torch.cat([torch.sin(angles), torch.cos(angles)], dim=2)  # (B, T, 4)
        feats = torch.cat([x, pe.view(b, t, 4, 1, 1).expand(b, t, 4, h, w)], dim=2).permute(0, 1, 3, 4, 2)
        e = torch.relu(self.embed(feats))  # (B, T, H, W, width)
        s = self.score(feats).squeeze(-1) + (valid - 1.0) * 1e4
        pooled = (torch.softmax(s, dim=1).unsqueeze(-1) * e).sum(1).permute(0, 3, 1, 2)
        f = torch.relu(self.spatial(pooled))
        g = torch.relu(self.coarse(F.avg_pool2d(f, 2)))
        up = F.interpolate(g, scale_factor=2.0, mode="nearest")
        return self.head(torch.cat([f, up], dim=1))


def make_calendar_bundle(path: str | Path, seed: int = 0, calendar: Calendar = CALENDAR) -> Path:
    """Write a format-2 bundle of :class:`CalendarNet` (deterministic for a seed) and return its path."""
    torch.manual_seed(seed)
    net = CalendarNet()
    with torch.no_grad():  # larger weights so that classes vary across realistic reflectances
        for p in net.parameters():
            p.mul_(3.0)
    export_bundle(
        net.eval(),
        REFERENCE_2018_SPEC.with_dates(calendar.default_dates),
        load_class_table(),
        {"kind": "standardize", "mean": MEAN, "std": STD},
        {"data": "none (untrained)"},
        {},
        path,
        "calendar_test_net",
        f"test-seed{seed}",
        calendar=calendar,
    )
    return Path(path)


def dates_2019(n: int) -> tuple[dt.date, ...]:
    """``n`` dates spread over the 2019 growing season (another year and calendar than the default)."""
    start, end = dt.date(2019, 3, 15), dt.date(2019, 10, 20)
    step = (end - start).days / max(n - 1, 1)
    return tuple(start + dt.timedelta(days=round(i * step)) for i in range(n))

"""The scriptable inference wrapper every bundle holds.

Contract of the exported ``forward(x, doy=None)``: input float32 ``(B, T*C, H, W)`` raw digital
numbers in the cube's date-major band order, any H, W >= 1; ``doy`` float32 ``(T,)`` (or ``(B, T)``,
one calendar per sample) day of year of each date, None = the bundle's default dates; output float32
logits ``(B, K, H, W)`` where channel k is class index k + 1 (class 0 = nodata is never predicted;
callers set pixels whose bands are all nodata to 0). T is ``x.shape[1] // C`` and must lie in the
bundle's range (format 1: exactly its own T); ``doy`` must be finite, strictly increasing and inside
the bundle's season. Violations raise ``RuntimeError("cropcube: ...")``. Normalisation (per date and
band for format 1, per band for format 2), per-date validity and padding to the downsampling factor
happen inside, so no caller needs band maxima or statistics.

Contract of the wrapped network (every architecture in :mod:`cropcube.models`):
``net(x, valid, doy) -> logits`` with ``x`` float ``(B, T, C, H, W)`` standardised reflectance (0 on
invalid dates), ``valid`` float ``(B, T, H, W)`` 1 where a date has data, ``doy`` float day of
year, ``(B, T)``; H and W are multiples of ``net.downsampling_factor``. The network declares
``receptive_field`` (pixels, full width) and ``downsampling_factor`` as int attributes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Optional

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from cropcube.calendar import Calendar
from cropcube.cube_spec import CubeSpec


def cloud_masking(spec: CubeSpec, normalisation: dict[str, Any]) -> dict[str, Any]:
    """InferenceModule arguments for the cloud masking recorded in a normalisation dict."""
    threshold = float(normalisation.get("cloud_blue_threshold", 0.0))
    if threshold <= 0 or "B02" not in spec.bands:
        return {"cloud_band": -1, "cloud_threshold": 0.0}
    return {"cloud_band": spec.bands.index("B02"), "cloud_threshold": threshold}


def halo_for(receptive_field: int, downsampling_factor: int) -> int:
    """Tile halo: at least half the receptive field, rounded up to the downsampling factor."""
    half = math.ceil(receptive_field / 2)
    return int(math.ceil(half / downsampling_factor) * downsampling_factor)


class InferenceModule(nn.Module):
    """Raw DN (and optionally the dates) in, logits out; wraps a network with the cube's normalisation.

    Args:
        net: the segmentation network (see module docstring for its contract).
        n_dates: T of the default calendar (format 1: the only T).
        n_bands: C.
        mean: mean of reflectance (DN * dn_scale) used to standardise: length T*C (format 1, per
            date and band) or C (format 2, with ``calendar``: per band, any date).
        std: standard deviation, same length as ``mean``.
        doy: day of year per date of the default calendar, length T.
        dn_scale: DN -> reflectance factor.
        nodata: DN value meaning "no data".
        cloud_band: index within a date of the band used to flag clouds (B02), -1 for none.
        cloud_threshold: reflectance of ``cloud_band`` above which a date of a pixel counts as
            cloudy and is masked like a missing date (0 = no cloud masking). Clear land stays below
            ~0.2 in B02, thick clouds above ~0.25.
        calendar: the calendars accepted (format 2); None = exactly the default calendar's T,
            any day of year (format 1).
    """

    if TYPE_CHECKING:  # buffers, typed for mypy only (TorchScript infers them itself)
        mean: Tensor
        inv_std: Tensor
        doy: Tensor

    def __init__(
        self,
        net: nn.Module,
        n_dates: int,
        n_bands: int,
        mean: list[float],
        std: list[float],
        doy: list[float],
        dn_scale: float = 1e-4,
        nodata: float = 0.0,
        cloud_band: int = -1,
        cloud_threshold: float = 0.0,
        calendar: Calendar | None = None,
    ) -> None:
        super().__init__()
        per = n_bands if calendar is not None else n_dates * n_bands
        if len(mean) != per or len(std) != per:
            raise ValueError(f"mean/std need {per} values, got {len(mean)}/{len(std)}")
        if len(doy) != n_dates:
            raise ValueError(f"doy needs {n_dates} values, got {len(doy)}")
        if min(std) <= 0:
            raise ValueError("std values must be positive")
        self.net = net
        self.n_dates = int(n_dates)
        self.n_bands = int(n_bands)
        self.dn_scale = float(dn_scale)
        self.nodata = float(nodata)
        if cloud_threshold > 0 and not 0 <= cloud_band < n_bands:
            raise ValueError(f"cloud_band {cloud_band} is not a band index 0..{n_bands - 1}")
        self.cloud_band = int(cloud_band) if cloud_threshold > 0 else -1
        self.cloud_threshold = float(cloud_threshold)
        self.downsampling_factor = int(getattr(net, "downsampling_factor"))  # noqa: B009
        self.receptive_field = int(getattr(net, "receptive_field"))  # noqa: B009
        self.has_calendar = calendar is not None
        self.min_dates = int(calendar.min_dates) if calendar is not None else self.n_dates
        self.max_dates = int(calendar.max_dates) if calendar is not None else self.n_dates
        self.season_start = float(calendar.season_start) if calendar is not None else 1.0
        self.season_end = float(calendar.season_end) if calendar is not None else 366.0
        shape = (1, 1 if calendar is not None else n_dates, n_bands, 1, 1)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(shape))
        self.register_buffer("inv_std", (1.0 / torch.tensor(std, dtype=torch.float32)).view(shape))
        self.register_buffer("doy", torch.tensor(doy, dtype=torch.float32))

    def dates_of(self, x: Tensor, doy: Optional[Tensor]) -> Tensor:  # noqa: UP045 (TorchScript)
        """The checked day of year, (B, T), for input ``x``; raises RuntimeError("cropcube: ...")."""
        b, k = x.shape[0], x.shape[1]
        if k % self.n_bands != 0:
            raise RuntimeError(
                f"cropcube: wrong number of input bands: {k} is not a multiple of the bundle's "
                f"{self.n_bands} bands per date"
            )
        t = k // self.n_bands
        if t < self.min_dates or t > self.max_dates:
            raise RuntimeError(
                f"cropcube: wrong number of input bands: {k} bands = {t} dates; the bundle takes "
                f"{self.min_dates}..{self.max_dates} dates"
            )
        if doy is None:
            if t != self.doy.shape[0]:
                raise RuntimeError(
                    f"cropcube: input has {t} dates but no doy was given; the default calendar has "
                    f"{self.doy.shape[0]}"
                )
            return self.doy.to(x.device).unsqueeze(0).expand(b, t)
        d = doy.to(device=x.device, dtype=torch.float32)
        if d.dim() == 1:
            d = d.unsqueeze(0).expand(b, d.shape[0])
        if d.dim() != 2 or d.shape[0] != b or d.shape[1] != t:
            raise RuntimeError(f"cropcube: doy must have shape ({t},) or ({b}, {t}) for this input")
        if not torch.compiler.is_compiling():  # data-dependent checks: eager and TorchScript only
            if not bool(torch.isfinite(d).all()):
                raise RuntimeError("cropcube: doy holds NaN or infinite values")
            if t > 1 and not bool((d[:, 1:] > d[:, :-1]).all()):
                raise RuntimeError("cropcube: doy must be strictly increasing")
            if bool((d < self.season_start).any()) or bool((d > self.season_end).any()):
                raise RuntimeError(
                    "cropcube: doy outside the bundle's season "
                    f"{int(self.season_start)}..{int(self.season_end)}"
                )
        return d

    def forward(self, x: Tensor, doy: Optional[Tensor] = None) -> Tensor:  # noqa: UP045 (TorchScript)
        """Classify raw DN; see the module docstring for the contract."""
        if x.dim() != 4:
            raise RuntimeError("cropcube: input must be (B, T*C, H, W)")
        days = self.dates_of(x, doy)
        b, k, h, w = x.shape
        t = k // self.n_bands
        x5 = x.float().view(b, t, self.n_bands, h, w)
        valid = (x5 != self.nodata).any(dim=2)
        if self.cloud_band >= 0:
            valid = valid & (x5[:, :, self.cloud_band] * self.dn_scale < self.cloud_threshold)
        valid = valid.to(x5.dtype)
        # (x * dn_scale - mean) / std as one fused multiply-add pass over the cube.
        z = torch.addcmul(-self.mean * self.inv_std, x5, self.inv_std * self.dn_scale) * valid.unsqueeze(2)
        d = self.downsampling_factor
        ph = (d - h % d) % d
        pw = (d - w % d) % d
        if ph > 0 or pw > 0:
            # Replicate so that tiles touching the image edge see the same padding as the whole image.
            z = F.pad(z.view(b, k, h, w), (0, pw, 0, ph), mode="replicate").view(
                b, t, self.n_bands, h + ph, w + pw
            )
            valid = F.pad(valid, (0, pw, 0, ph), mode="replicate")
        logits = self.net(z, valid, days)
        return logits[:, :, :h, :w]

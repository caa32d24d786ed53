"""The scriptable inference wrapper every bundle holds.

Contract of the exported ``forward``: input float32 ``(B, T*C, H, W)`` raw digital numbers in the
cube's date-major band order, any H, W >= 1; output float32 logits ``(B, K, H, W)`` where channel k is
class index k + 1 (class 0 = nodata is never predicted; callers set pixels whose bands are all nodata
to 0). Normalisation, per-date validity and padding to the downsampling factor happen inside, so no
caller needs band maxima or statistics.

Contract of the wrapped network (every architecture in :mod:`cropcube.models`):
``net(x, valid, doy) -> logits`` with ``x`` float ``(B, T, C, H, W)`` standardised reflectance (0 on
invalid dates), ``valid`` float ``(B, T, H, W)`` 1 where a date has data, ``doy`` float ``(T,)`` day of
year; H and W are multiples of ``net.downsampling_factor``. The network declares
``receptive_field`` (pixels, full width) and ``downsampling_factor`` as int attributes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

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
    """Raw DN in, logits out; wraps a network with the cube's normalisation.

    Args:
        net: the segmentation network (see module docstring for its contract).
        n_dates: T.
        n_bands: C.
        mean: per-channel mean of reflectance (DN * dn_scale), length T*C, used to standardise.
        std: per-channel standard deviation, length T*C.
        doy: day of year per date, length T.
        dn_scale: DN -> reflectance factor.
        nodata: DN value meaning "no data".
        cloud_band: index within a date of the band used to flag clouds (B02), -1 for none.
        cloud_threshold: reflectance of ``cloud_band`` above which a date of a pixel counts as
            cloudy and is masked like a missing date (0 = no cloud masking). Clear land stays below
            ~0.2 in B02, thick clouds above ~0.25.
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
    ) -> None:
        super().__init__()
        if len(mean) != n_dates * n_bands or len(std) != n_dates * n_bands:
            raise ValueError(f"mean/std need {n_dates * n_bands} values, got {len(mean)}/{len(std)}")
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
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, n_dates, n_bands, 1, 1))
        self.register_buffer(
            "inv_std", (1.0 / torch.tensor(std, dtype=torch.float32)).view(1, n_dates, n_bands, 1, 1)
        )
        self.register_buffer("doy", torch.tensor(doy, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        """Classify raw DN; see the module docstring for the contract."""
        if x.dim() != 4:
            raise RuntimeError("cropcube: input must be (B, T*C, H, W)")
        b, k, h, w = x.shape
        if k != self.n_dates * self.n_bands:
            raise RuntimeError("cropcube: wrong number of input bands for this bundle")
        x5 = x.float().view(b, self.n_dates, self.n_bands, h, w)
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
                b, self.n_dates, self.n_bands, h + ph, w + pw
            )
            valid = F.pad(valid, (0, pw, 0, ph), mode="replicate")
        logits = self.net(z, valid, self.doy)
        return logits[:, :, :h, :w]

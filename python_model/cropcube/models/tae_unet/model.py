"""TaeUNet: a per-pixel temporal attention encoder (L-TAE-like) feeding a light 2-D U-Net.

Why this design: the 7 dates are a time series, not 28 unrelated channels. Each date of each pixel
is embedded by a small shared MLP whose first layer is shifted by a sinusoidal day-of-year encoding
(so the network knows *when* a value was seen, and a model can run on cubes with other dates). A
learned master query per head then attends over the dates; invalid (nodata/cloud-masked) dates get
a large negative score, so they are ignored, and a pixel with no valid date at all gets uniform
weights over zero inputs instead of NaN. The pooled per-pixel feature goes through a 3-level U-Net
(32/64/128 channels, two max-pool downsamplings) that adds spatial context (parcel shapes, edges).
Widths were chosen by measurement: the temporal encoder is memory-bound on CPU, so a 32-wide
embedding with 8 heads keeps the whole model faster per pixel than the reference at a quarter of
its FLOPs.

Geometry for tiling: ``downsampling_factor = 4`` (two 2x2 poolings); ``receptive_field = 47`` px,
twice the largest one-sided reach (23 px, measured at every position modulo 4 in tests/models) plus
one. The layer-by-layer count gives 44 for a centred window; 2x2 poolings and transposed
convolutions make the window lean one way at some positions:
level 0: two 3x3 convs (5), pool (6), level 1: two 3x3 convs at stride 2 (14), pool (16), bottom:
two 3x3 convs at stride 4 (32), transposed 2x2 convs add nothing, decoder level 1: two 3x3 convs at
stride 2 (40), decoder level 0: two 3x3 convs (44); the temporal encoder and the head are per pixel.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class TemporalAttentionEncoder(nn.Module):
    """Per-pixel multi-head attention pooling over dates with a day-of-year encoding.

    Args:
        n_bands: spectral bands per date C.
        d_model: width of the per-date embedding (split over the heads for pooling).
        n_heads: attention heads (each has one learned master query).
        d_hidden: width of the first embedding layer (also the day-of-year encoding width).
        out_channels: channels of the pooled feature map.
        n_dates: T, for the second, order-aware branch: a 1x1 conv over all T x C masked inputs
            stacked (the full spectral-temporal profile; invalid dates are 0 there), added to the
            attention pooling. It learns much faster than attention alone at negligible cost.
    """

    def __init__(
        self,
        n_bands: int = 4,
        d_model: int = 32,
        n_heads: int = 8,
        d_hidden: int = 32,
        out_channels: int = 32,
        n_dates: int = 7,
    ) -> None:
        super().__init__()
        if d_model % n_heads != 0 or d_hidden % 2 != 0:
            raise ValueError("d_model must be a multiple of n_heads and d_hidden even")
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_hidden = d_hidden
        # Inference-only fast path (same maths, see forward_rows); False forces the plain one.
        self.fast_inference = True
        self.embed_in = nn.Conv2d(n_bands, d_hidden, 1)
        self.embed_out = nn.Conv2d(d_hidden, d_model, 1)
        self.score = nn.Conv2d(d_model, n_heads, 1)  # master query . key, folded into one linear map
        self.stacked = nn.Conv2d(n_dates * n_bands, d_model, 1)
        project_norm = nn.BatchNorm2d(out_channels)
        self.project = nn.Sequential(
            nn.Conv2d(d_model, out_channels, 1, bias=False),
            project_norm,
            nn.ReLU(inplace=True),
        )
        self.project_eps = float(project_norm.eps)  # for forward_rows' BatchNorm folding

    def doy_encoding(self, doy: Tensor) -> Tensor:
        """Sinusoidal encoding (B, T, d_hidden) of day-of-year values (B, T) (or (1, T, d) for (T,))."""
        if doy.dim() == 1:
            doy = doy.unsqueeze(0)
        steps = torch.arange(0, self.d_hidden, 2, dtype=torch.float32, device=doy.device)
        inv_freq = torch.exp(steps * (-math.log(1000.0) / self.d_hidden))
        angles = doy.float().unsqueeze(2) * inv_freq
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=2)

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        """Pool x (B, T, C, H, W) over valid dates into (B, out_channels, H, W)."""
        if self.fast_inference and not self.training:
            return self.forward_rows(x, valid, doy)
        b, t, c, h, w = x.shape
        pe = self.doy_encoding(doy).to(x.dtype).view(-1, t, self.d_hidden, 1, 1)
        e = self.embed_in(x.reshape(b * t, c, h, w)).view(b, t, self.d_hidden, h, w) + pe
        e = self.embed_out(torch.relu(e).view(b * t, self.d_hidden, h, w))
        scores = self.score(e).view(b, t, self.n_heads, h, w)
        # Additive mask, not -inf: a pixel without any valid date gets uniform weights, never NaN.
        scores = scores + (valid.to(scores.dtype).unsqueeze(2) - 1.0) * 1e4
        attn = torch.softmax(scores, dim=1).unsqueeze(3)
        values = e.view(b, t, self.n_heads, self.d_model // self.n_heads, h, w)
        pooled = (attn * values).sum(dim=1).reshape(b, self.d_model, h, w)
        pooled = pooled + self.stacked(x.reshape(b, t * c, h, w))
        return self.project(pooled)

    def forward_rows(self, x: Tensor, valid: Tensor, doy: Tensor, chunk: int = 4096) -> Tensor:
        """Inference path of :meth:`forward`: the same maths, about 6x faster on CPU.

        The plain path runs 1x1 convs on a (B*T, C, H, W) batch: memory-bound passes over
        7 x 32 x H x W intermediates. Here pixels are rows (channels last) and processed in chunks
        that stay in cache: the per-date embedding is one block-diagonal matmul with the
        day-of-year encoding folded into a per-date bias, the score map is folded into the second
        embedding layer, and the eval-mode BatchNorm into the projection. Output is (B, C, H, W)
        in channels-last memory format. Uses running BatchNorm statistics (eval only).
        """
        b, t, c, h, w = x.shape
        n = b * h * w
        dm, nh, dh = self.d_model, self.n_heads, self.d_hidden
        bias_in, bias_out = self.embed_in.bias, self.embed_out.bias
        bias_score, bias_stacked = self.score.bias, self.stacked.bias
        assert bias_in is not None and bias_out is not None
        assert bias_score is not None and bias_stacked is not None
        w_in = torch.kron(torch.eye(t, dtype=x.dtype, device=x.device), self.embed_in.weight.view(dh, c))
        b_in = (
            (bias_in.view(1, dh) + self.doy_encoding(doy).to(x.dtype)).reshape(-1, t * dh).expand(b, t * dh)
        )
        sample = torch.arange(n, device=x.device) // (h * w)  # each row's sample: its dates' bias
        w_out = self.embed_out.weight.view(dm, dh)
        w_score = self.score.weight.view(nh, dm)
        w_es = torch.cat([w_out, w_score @ w_out], 0)
        b_es = torch.cat([bias_out, w_score @ bias_out + bias_score], 0)
        # project = conv, BatchNorm, ReLU: fold the BatchNorm (running statistics) into the conv.
        w_conv, gamma, beta = self.project[0].weight, self.project[1].weight, self.project[1].bias
        mean, var = self.project[1].running_mean, self.project[1].running_var
        assert isinstance(w_conv, Tensor) and isinstance(gamma, Tensor) and isinstance(beta, Tensor)
        assert isinstance(mean, Tensor) and isinstance(var, Tensor)
        scale = gamma * torch.rsqrt(var + self.project_eps)
        w_proj = w_conv.view(-1, dm) * scale.unsqueeze(1)
        b_proj = beta - mean * scale
        w_stacked = self.stacked.weight.view(dm, t * c)
        rows = x.permute(0, 3, 4, 1, 2).reshape(n, t * c)
        mask = (valid.permute(0, 2, 3, 1).reshape(n, t, 1).to(x.dtype) - 1.0) * 1e4
        outs: list[Tensor] = []
        for start in range(0, n, chunk):
            r = rows[start : start + chunk]
            m = r.shape[0]
            hidden = torch.relu(torch.addmm(b_in[sample[start : start + m]], r, w_in.t()))
            es = torch.addmm(b_es, hidden.view(m * t, dh), w_es.t()).view(m, t, dm + nh)
            attn = torch.softmax(es[:, :, dm:] + mask[start : start + chunk], dim=1)
            pooled = (es[:, :, :dm].reshape(m, t, nh, dm // nh) * attn.unsqueeze(3)).sum(1).view(m, dm)
            pooled = torch.addmm(pooled + bias_stacked, r, w_stacked.t())
            outs.append(torch.relu(torch.addmm(b_proj, pooled, w_proj.t())))
        return torch.cat(outs, 0).view(b, h, w, -1).permute(0, 3, 1, 2)


class TaeUNet(nn.Module):
    """Temporal attention encoder + 3-level U-Net; see the module docstring.

    Args:
        n_dates: number of dates T.
        n_bands: bands per date C.
        n_classes: crop classes (without class 0).
        widths: channels of the three U-Net levels.
        d_model: temporal embedding width.
        n_heads: temporal attention heads.
    """

    receptive_field: int = 47
    downsampling_factor: int = 4

    def __init__(
        self,
        n_dates: int = 7,
        n_bands: int = 4,
        n_classes: int = 76,
        widths: tuple[int, int, int] = (32, 64, 128),
        d_model: int = 32,
        n_heads: int = 8,
    ) -> None:
        super().__init__()
        w0, w1, w2 = (int(w) for w in widths)
        self.n_dates = n_dates
        self.temporal = TemporalAttentionEncoder(n_bands, d_model, n_heads, out_channels=w0, n_dates=n_dates)
        self.enc0 = _conv_block(w0, w0)
        self.enc1 = _conv_block(w0, w1)
        self.bottom = _conv_block(w1, w2)
        self.pool = nn.MaxPool2d(2)
        self.up1 = nn.ConvTranspose2d(w2, w1, 2, stride=2)
        self.dec1 = _conv_block(2 * w1, w1)
        self.up0 = nn.ConvTranspose2d(w1, w0, 2, stride=2)
        self.dec0 = _conv_block(2 * w0, w0)
        self.head = nn.Conv2d(w0, n_classes, 1)

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        """Logits (B, n_classes, H, W); H and W must be multiples of 4."""
        f = self.temporal(x, valid, doy)
        s0 = self.enc0(f)
        s1 = self.enc1(self.pool(s0))
        bottom = self.bottom(self.pool(s1))
        d1 = self.dec1(torch.cat([self.up1(bottom), s1], dim=1))
        d0 = self.dec0(torch.cat([self.up0(d1), s0], dim=1))
        return self.head(d0).contiguous()  # the fast temporal path leaves channels-last

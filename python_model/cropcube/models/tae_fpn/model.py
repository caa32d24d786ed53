"""TaeFPN: a light temporal attention encoder feeding a feature pyramid (the default model).

Why this design: on CPU the cost of a segmentation network is its full-resolution work. TaeUNet
spends most of its 250 kFLOP/px and of its time on full-resolution layers (a 32-wide per-date
embedding and 3x3 convolutions). Here full resolution gets only per-pixel work that stays small:

- the temporal encoder (L-TAE-like): per date, the 4 band values plus a day-of-year encoding give
  one attention score per band; invalid (nodata/cloud-masked) dates get a large negative score,
  so they are ignored; each band pools its own values over the dates (the values are the inputs,
  as in L-TAE), and a second, order-aware branch reads the whole masked profile (all T x C
  values); both are projected to 16 channels;
- at the end, one 1x1 convolution from that per-pixel feature plus the upsampled context (narrowed
  to 16 channels before upsampling) to the class logits.

All 3x3 convolutions run at 1/2 .. 1/8 resolution (strided 3x3 convolutions down, a top-down
pathway with additive lateral connections up, as in a feature pyramid network), where a pixel costs
4 .. 64 times less. The pyramid also sees further than TaeUNet (83 px vs 47): whole parcels and
their edges. The output logits are left in channels-last memory (what the per-pixel layers
produce; the arg-max over classes then reads contiguous memory). Depth and widths were chosen by
measurement (docs/model.md): a fourth level (1/16, receptive field 179 px) did not add accuracy
but doubles the tile halo.

Geometry for tiling: ``downsampling_factor = 2 ** levels`` (8 by default, one stride-2 convolution
per level); ``receptive_field`` is the full width of the input window that can reach one output
pixel: twice the largest one-sided reach over all output positions (stride-2 convolutions with
padding 1 reach further on one side), plus one: 83 px for 3 levels (tests/models check it against
the gradient footprint at every position).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

# Input pixels that can reach one output pixel, full width (twice the largest one-sided reach over
# all output positions, plus one), by pyramid depth; tests/models check it against the gradients.
_RECEPTIVE_FIELD = {2: 35, 3: 83, 4: 179}


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _down(cin: int, cout: int) -> nn.Sequential:
    """Halve the resolution (strided 3x3 conv), then one 3x3 conv at the new resolution."""
    return nn.Sequential(_conv_bn_relu(cin, cout, stride=2), _conv_bn_relu(cout, cout))


def _up2(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class _TopDown(nn.Module):
    """One top-down step: project, upsample, add the lateral skip, refine with a 3x3 conv.

    The 1x1 projection of the coarser map runs before the upsampling (the two commute).
    """

    def __init__(self, coarse: int, fine: int) -> None:
        super().__init__()
        self.lateral = nn.Conv2d(coarse, fine, 1)
        self.refine = _conv_bn_relu(fine, fine)

    def forward(self, coarse: Tensor, skip: Tensor) -> Tensor:
        return self.refine(skip + _up2(self.lateral(coarse)))


class LightTemporalEncoder(nn.Module):
    """Per-pixel, per-band attention pooling of the band values over dates, plus the stacked profile.

    Each band has its own attention over the dates (one head per band: the score of date t for
    band c comes from all C values of date t and t's day of year), and pools its own values, so
    that the whole encoder is a few dense matrix products over pixels as rows (channels last) with
    no strided reduction. The softmax is written out (exp of the scores less each pixel's largest,
    sums over dates by a 0/1 matrix product): the same weights, three times faster on CPU than a
    softmax over the date axis. Rows are processed in chunks at inference so memory stays bounded.

    Args:
        n_dates: T.
        n_bands: C.
        d_pe: width of the sinusoidal day-of-year encoding.
        out_channels: channels of the output feature map.
        chunk: pixels per chunk at inference.
    """

    if TYPE_CHECKING:
        doy_freq: Tensor
        date_sum: Tensor

    def __init__(
        self,
        n_dates: int = 7,
        n_bands: int = 4,
        d_pe: int = 16,
        out_channels: int = 16,
        chunk: int = 16384,
    ) -> None:
        super().__init__()
        if d_pe % 2 != 0:
            raise ValueError("d_pe must be even")
        self.n_dates, self.n_bands, self.chunk = n_dates, n_bands, chunk
        self.key = nn.Linear(n_bands, n_bands)  # date's C values -> one score per band, shared over dates
        self.key_pe = nn.Linear(d_pe, n_bands, bias=False)  # the date's day of year -> score offset
        steps = torch.arange(0, d_pe, 2, dtype=torch.float32)
        self.register_buffer("doy_freq", torch.exp(steps * (-math.log(1000.0) / d_pe)), persistent=False)
        # (T*C, C) 0/1: sums a (T, C) row over the dates.
        self.register_buffer("date_sum", torch.eye(n_bands).repeat(n_dates, 1), persistent=False)
        self.pooled = nn.Linear(n_bands, out_channels, bias=False)
        self.stacked = nn.Linear(n_dates * n_bands, out_channels)
        self.norm = nn.BatchNorm1d(out_channels)

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        """(B, T, C, H, W) values and (B, T, H, W) validity -> (B, out, H, W), channels-last memory."""
        b, t, c, h, w = x.shape
        if t != self.n_dates or c != self.n_bands:
            raise RuntimeError("cropcube: input dates/bands do not match the temporal encoder")
        if doy.dim() == 1:  # (T,): one calendar for the batch
            doy = doy.unsqueeze(0).expand(b, t)
        angles = doy.to(x.dtype).unsqueeze(2) * self.doy_freq.to(x.dtype)  # doy (B, T): per sample
        pe_score = self.key_pe(torch.cat([torch.sin(angles), torch.cos(angles)], dim=2))  # (B, T, C)
        # One block-diagonal matmul computes every date's scores: cheaper than T small ones.
        w_key = torch.kron(torch.eye(t, dtype=x.dtype, device=x.device), self.key.weight)
        b_key = (self.key.bias + pe_score).reshape(b, t * c)
        sample = torch.arange(b * h * w, device=x.device) // (h * w)  # each row's sample: its dates' bias
        date_sum = self.date_sum.to(x.dtype)
        rows = x.permute(0, 3, 4, 1, 2).reshape(b * h * w, t * c)
        # Additive mask, not -inf: invalid dates get a weight of at most exp(-80) relative to a valid
        # one; a pixel without any valid date gets uniform weights over its inputs, which are 0
        # there: it pools 0, never NaN.
        masks = (valid.permute(0, 2, 3, 1).reshape(b * h * w, t, 1).to(x.dtype) - 1.0) * 1e4
        n = rows.shape[0]
        step = n if self.training else self.chunk
        out = torch.empty(n, self.stacked.out_features, dtype=x.dtype, device=x.device)
        for start in range(0, n, step):
            r = rows[start : start + step]
            m = r.shape[0]
            scores = (
                torch.addmm(b_key[sample[start : start + m]], r, w_key.t()).view(m, t, c)
                + masks[start : start + step]
            ).view(m, t * c)
            # Clamped at -80 (exp = 2e-35, still a normal float): the masked dates' -1e4 would
            # otherwise underflow to denormals, which x86 CPUs compute tens of times slower.
            e = torch.exp((scores - scores.amax(dim=1, keepdim=True)).clamp_(min=-80.0))
            pooled = torch.mm(e * r, date_sum) / (torch.mm(e, date_sum) + 1e-30)
            out[start : start + m] = torch.relu(self.norm(self.pooled(pooled) + self.stacked(r)))
        return out.view(b, h, w, -1).permute(0, 3, 1, 2)


class CalendarFreeEncoder(nn.Module):
    """Temporal attention pooling with no layer whose size depends on the number of dates.

    For any T and any days of year: each of ``heads`` attention heads per band scores every date
    from its C values and its day of year (sinusoidal encoding), and pools that band's values over
    the valid dates with the softmax of those scores. The H x C pooled values are projected to the
    output channels. What the fixed-calendar encoder's stacked profile (a Linear over T*C) learnt is
    replaced by heads that can each attend to another part of the season.

    Args:
        n_bands: C.
        d_pe: width of the sinusoidal day-of-year encoding.
        out_channels: channels of the output feature map.
        heads: attention heads per band.
        chunk: pixels per chunk at inference.
    """

    if TYPE_CHECKING:
        doy_freq: Tensor

    def __init__(
        self, n_bands: int = 4, d_pe: int = 16, out_channels: int = 16, heads: int = 4, chunk: int = 4096
    ) -> None:
        super().__init__()
        if d_pe % 2 != 0:
            raise ValueError("d_pe must be even")
        if heads < 1:
            raise ValueError("heads must be >= 1")
        self.n_bands, self.heads, self.chunk = n_bands, heads, chunk
        self.key = nn.Linear(n_bands, heads * n_bands)
        self.key_pe = nn.Linear(d_pe, heads * n_bands, bias=False)
        steps = torch.arange(0, d_pe, 2, dtype=torch.float32)
        self.register_buffer("doy_freq", torch.exp(steps * (-math.log(1000.0) / d_pe)), persistent=False)
        self.pooled = nn.Linear(heads * n_bands, out_channels)
        self.out_channels = out_channels
        self.norm = nn.BatchNorm1d(out_channels)

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        """(B, T, C, H, W) values, (B, T, H, W) validity, doy (B, T) or (T,) -> (B, out, H, W)."""
        b, t, c, h, w = x.shape
        if c != self.n_bands:
            raise RuntimeError("cropcube: input bands do not match the temporal encoder")
        if doy.dim() == 1:
            doy = doy.unsqueeze(0).expand(b, t)
        nh, tc, n = self.heads, t * c, h * w
        angles = doy.to(x.dtype).unsqueeze(2) * self.doy_freq.to(x.dtype)
        pe_score = self.key_pe(torch.cat([torch.sin(angles), torch.cos(angles)], dim=2))  # (B, T, H*C)
        # Scores laid out (head, date, band) per pixel, all from one block-diagonal matmul over a
        # pixel's T*C values; a second matmul adds each date's validity mask to all of its scores.
        # Pooling is then one broadcast product over contiguous T*C runs and a 0/1 matmul summing
        # over the dates: no strided reduction, 2x faster on CPU than per-date ops (bench_runtimes).
        eye_t = torch.eye(t, dtype=x.dtype, device=x.device)
        w_key = torch.einsum("hoi,ts->htosi", self.key.weight.view(nh, c, c), eye_t).reshape(nh * tc, tc)
        w_mask = eye_t.view(1, t, 1, t).expand(nh, t, c, t).reshape(nh * tc, t)
        b_key = (self.key.bias + pe_score).view(b, t, nh, c).permute(0, 2, 1, 3).reshape(b, nh * tc)
        date_sum = torch.eye(nh * c, dtype=x.dtype, device=x.device).view(nh, 1, c, nh * c)
        date_sum = date_sum.expand(nh, t, c, nh * c).reshape(nh * tc, nh * c)
        rows = x.reshape(b, tc, n)
        # Additive mask, not -inf: invalid dates get a weight of at most exp(-80) relative to a valid
        # one; a pixel without any valid date gets uniform weights over its inputs, which are 0
        # there: it pools 0, never NaN.
        masks = ((valid.to(x.dtype) - 1.0) * 1e4).reshape(b, t, n)
        w_key, w_mask = w_key.t().expand(b, tc, nh * tc), w_mask.t().expand(b, t, nh * tc)
        step = n if self.training else self.chunk
        out = torch.empty(b, n, self.out_channels, dtype=x.dtype, device=x.device)
        for start in range(0, n, step):
            # (B, m, T*C): each pixel's values as a row, transposed per chunk (where it stays in cache)
            r = rows[:, :, start : start + step].transpose(1, 2).contiguous()
            m = r.shape[1]
            scores = torch.baddbmm(b_key.unsqueeze(1), r, w_key)
            # Out of place: autocast (precision=bfloat16) casts the arguments of baddbmm, not of baddbmm_.
            scores = torch.baddbmm(scores, masks[:, :, start : start + m].transpose(1, 2), w_mask)
            # Clamped at -80 (exp = 2e-35, still a normal float): the masked dates' -1e4 would
            # otherwise underflow to denormals, which x86 CPUs compute tens of times slower.
            e = (scores - scores.amax(dim=2, keepdim=True)).clamp_(min=-80.0).exp_()
            weighted = (e.view(b, m, nh, tc) * r.unsqueeze(2)).view(b, m, nh * tc)
            pooled = torch.matmul(weighted, date_sum) / torch.matmul(e, date_sum)
            features = torch.relu(self.norm(self.pooled(pooled.view(b * m, nh * c))))
            out[:, start : start + m] = features.view(b, m, -1)
        return out.view(b, h, w, -1).permute(0, 3, 1, 2)


class TaeFPN(nn.Module):
    """Light temporal attention encoder + feature pyramid; see the module docstring.

    Args:
        n_dates: number of dates T.
        n_bands: bands per date C.
        n_classes: crop classes (without class 0).
        widths: channels of the full-resolution feature, then of each pyramid level (1/2, 1/4, ...);
            2 to 4 levels.
        calendar_free: use :class:`CalendarFreeEncoder` (any T, any days; for bundle format 2).
        heads: its attention heads per band.
    """

    def __init__(
        self,
        n_dates: int = 7,
        n_bands: int = 4,
        n_classes: int = 76,
        widths: tuple[int, ...] = (16, 32, 64, 128),
        calendar_free: bool = False,
        heads: int = 4,
    ) -> None:
        super().__init__()
        w = [int(v) for v in widths]
        if len(w) - 1 not in _RECEPTIVE_FIELD or min(w) < 1:
            raise ValueError(f"widths must be 3 to 5 positive channel counts, not {widths}")
        self.n_dates = n_dates
        # Calendar-free: any number of dates and any days (bundle format 2); else fixed to n_dates.
        self.temporal: nn.Module = (
            CalendarFreeEncoder(n_bands, out_channels=w[0], heads=heads)
            if calendar_free
            else LightTemporalEncoder(n_dates, n_bands, out_channels=w[0])
        )
        self.downs = nn.ModuleList([_down(w[i], w[i + 1]) for i in range(len(w) - 1)])
        # Top-down pathway, coarsest first: project the coarser map to the finer width, add, refine.
        self.top_down = nn.ModuleList([_TopDown(w[i + 1], w[i]) for i in range(len(w) - 2, 0, -1)])
        # The context is narrowed to the per-pixel width at 1/2 resolution (4x fewer pixels) so that
        # the full-resolution upsampling, concatenation and head move half as much memory.
        self.context = nn.Conv2d(w[1], w[0], 1)
        self.head = nn.Conv2d(2 * w[0], n_classes, 1)
        self.downsampling_factor = 2 ** (len(w) - 1)
        self.receptive_field = _RECEPTIVE_FIELD[len(w) - 1]

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        """Logits (B, n_classes, H, W) in channels-last memory; H, W multiples of downsampling_factor."""
        f0 = self.temporal(x, valid, doy)
        skips = [f0]
        for down in self.downs:
            skips.append(down(skips[-1]))
        p = skips[-1]
        for i, step in enumerate(self.top_down):
            p = step(p, skips[len(skips) - 2 - i])
        return self.head(torch.cat([f0, _up2(self.context(p))], dim=1))

"""Export a trained network as ONE TorchScript bundle (+ a Markdown model card beside it).

The network is wrapped in :class:`~cropcube.bundle.module.InferenceModule` (normalisation inside),
scripted, checked for parity with the eager module, and written atomically with its metadata.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cropcube.bundle.io import save_bundle
from cropcube.bundle.metadata import BundleMetadata
from cropcube.bundle.model_card import write_model_card
from cropcube.bundle.module import InferenceModule, cloud_masking, halo_for
from cropcube.calendar import Calendar
from cropcube.classes import ClassTable
from cropcube.cube_spec import CubeSpec
from cropcube.errors import CropcubeError, InputError


def flops_per_pixel(module: nn.Module, n_channels: int, size: int = 64) -> float:
    """Forward FLOPs per output pixel (a multiply-add counts 2), measured on one size x size tile."""
    x = torch.randint(1, 5000, (1, n_channels, size, size)).float()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return float(counter.get_total_flops()) / (size * size)


ParityInput = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
"""``x`` alone (the default dates) or ``(x, doy)``."""


def check_parity(eager: nn.Module, scripted: torch.jit.ScriptModule, inputs: list[ParityInput]) -> None:
    """Raise :class:`CropcubeError` unless scripted and eager logits agree on every input."""
    with torch.no_grad():
        for item in inputs:
            args = item if isinstance(item, tuple) else (item,)
            try:
                torch.testing.assert_close(scripted(*args), eager(*args), rtol=1e-4, atol=1e-4)
            except AssertionError as exc:
                shape = tuple(args[0].shape)
                raise CropcubeError(f"export parity check failed on input {shape}: {exc}") from None


def calendar_inputs(spec: CubeSpec, calendar: Calendar, gen: torch.Generator) -> list[ParityInput]:
    """Parity inputs at the calendar's extremes: fewest and most dates, spread over the season."""
    out: list[ParityInput] = []
    for t in sorted({calendar.min_dates, calendar.max_dates}):
        doy = torch.linspace(float(calendar.season_start), float(calendar.season_end), t)
        x = torch.randint(0, 10000, (1, t * spec.n_bands, 19, 23), generator=gen).float()
        out.append((x, doy))
    return out


def build_wrapper(
    net: nn.Module, spec: CubeSpec, normalisation: dict[str, Any], calendar: Calendar | None = None
) -> InferenceModule:
    """Wrap ``net`` with the cube layout and normalisation (raw DN in, logits out).

    With ``calendar`` (format 2) the normalisation is per band (length C) and ``spec.dates`` must be
    the calendar's default dates; without it, per date and band (length T*C, format 1).
    """
    per = spec.n_bands if calendar is not None else spec.n_channels
    for key in ("mean", "std"):
        if len(normalisation.get(key, [])) != per:
            raise InputError(f"normalisation {key}", f"needs {per} values")
    if calendar is not None and tuple(calendar.default_dates) != tuple(spec.dates):
        raise InputError("calendar", "default_dates must be the cube layout's dates")
    return InferenceModule(
        net,
        spec.n_dates,
        spec.n_bands,
        list(normalisation["mean"]),
        list(normalisation["std"]),
        [float(v) for v in (calendar.default_doy if calendar is not None else spec.day_of_year())],
        dn_scale=spec.dn_scale,
        nodata=float(spec.nodata),
        calendar=calendar,
        **cloud_masking(spec, normalisation),
    )


def export_bundle(
    net: nn.Module,
    spec: CubeSpec,
    classes: ClassTable,
    normalisation: dict[str, Any],
    training_summary: dict[str, Any],
    metrics: dict[str, Any],
    out_path: str | Path,
    model_name: str,
    model_version: str,
    parity_inputs: list[ParityInput] | None = None,
    calendar: Calendar | None = None,
) -> BundleMetadata:
    """Script, check and write a bundle plus its model card ``<out_path minus .pt>.md``.

    Args:
        net: the trained network (the contract of :mod:`cropcube.bundle.module`), or an
            :class:`InferenceModule` already wrapping one (its own normalisation is then kept).
        spec: cube layout it was trained on.
        classes: class table (K = ``classes.num_classes`` logits).
        normalisation: ``{"kind", "mean", "std", ...}`` (reflectance, per channel).
        training_summary: what it was trained on (stored as metadata ``training``).
        metrics: evaluation numbers (stored as metadata ``metrics``).
        out_path: destination ``.pt``.
        model_name: architecture name.
        model_version: version of these weights.
        parity_inputs: extra raw-DN inputs (or ``(x, doy)`` pairs) for the parity check (e.g. a real tile).
        calendar: the calendars a calendar-free network accepts: writes bundle format 2 (per-band
            normalisation); None writes format 1 (fixed to ``spec.dates``). When ``net`` is already an
            :class:`InferenceModule`, the calendar it was built with.

    Returns:
        The written metadata (with its content hash).

    Raises:
        CropcubeError: the scripted module disagrees with the eager one.
    """
    wrapper = net if isinstance(net, InferenceModule) else build_wrapper(net, spec, normalisation, calendar)
    if bool(wrapper.has_calendar) != (calendar is not None):
        raise InputError("calendar", "the InferenceModule was built with a different calendar setting")
    wrapper = wrapper.eval()
    scripted = torch.jit.script(wrapper)
    gen = torch.Generator().manual_seed(0)
    inputs: list[ParityInput] = [
        torch.randint(0, 10000, (2, spec.n_channels, 37, 45), generator=gen).float(),
        *(calendar_inputs(spec, calendar, gen) if calendar is not None else []),
        *(parity_inputs or []),
    ]
    check_parity(wrapper, scripted, inputs)
    rf, ds = int(wrapper.receptive_field), int(wrapper.downsampling_factor)
    meta = BundleMetadata(
        model_name=model_name,
        model_version=model_version,
        spec=spec,
        classes=classes,
        receptive_field=rf,
        downsampling_factor=ds,
        halo=halo_for(rf, ds),
        normalisation=dict(normalisation),
        parameters=sum(p.numel() for p in wrapper.parameters() if p.requires_grad),
        flops_per_pixel=flops_per_pixel(wrapper, spec.n_channels),
        training=training_summary,
        metrics=metrics,
        calendar=calendar,
    )
    out_path = Path(out_path)
    meta = save_bundle(scripted, meta, out_path)
    umask = os.umask(0)
    os.umask(umask)
    out_path.chmod(0o666 & ~umask)  # the temporary file behind save_bundle is private (0600)
    write_model_card(meta, out_path.with_suffix(".md"))
    return meta

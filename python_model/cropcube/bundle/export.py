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
from cropcube.classes import ClassTable
from cropcube.cube_spec import CubeSpec
from cropcube.errors import CropcubeError, InputError


def flops_per_pixel(module: nn.Module, n_channels: int, size: int = 64) -> float:
    """Forward FLOPs per output pixel (a multiply-add counts 2), measured on one size x size tile."""
    x = torch.randint(1, 5000, (1, n_channels, size, size)).float()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return float(counter.get_total_flops()) / (size * size)


def check_parity(eager: nn.Module, scripted: torch.jit.ScriptModule, inputs: list[torch.Tensor]) -> None:
    """Raise :class:`CropcubeError` unless scripted and eager logits agree on every input."""
    with torch.no_grad():
        for x in inputs:
            try:
                torch.testing.assert_close(scripted(x), eager(x), rtol=1e-4, atol=1e-4)
            except AssertionError as exc:
                raise CropcubeError(f"export parity check failed on input {tuple(x.shape)}: {exc}") from None


def build_wrapper(net: nn.Module, spec: CubeSpec, normalisation: dict[str, Any]) -> InferenceModule:
    """Wrap ``net`` with the cube layout and normalisation (raw DN in, logits out)."""
    for key in ("mean", "std"):
        if len(normalisation.get(key, [])) != spec.n_channels:
            raise InputError(f"normalisation {key}", f"needs {spec.n_channels} values")
    return InferenceModule(
        net,
        spec.n_dates,
        spec.n_bands,
        list(normalisation["mean"]),
        list(normalisation["std"]),
        [float(v) for v in spec.day_of_year()],
        dn_scale=spec.dn_scale,
        nodata=float(spec.nodata),
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
    parity_inputs: list[torch.Tensor] | None = None,
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
        parity_inputs: extra raw-DN inputs for the parity check (e.g. a real tile).

    Returns:
        The written metadata (with its content hash).

    Raises:
        CropcubeError: the scripted module disagrees with the eager one.
    """
    wrapper = net if isinstance(net, InferenceModule) else build_wrapper(net, spec, normalisation)
    wrapper = wrapper.eval()
    scripted = torch.jit.script(wrapper)
    gen = torch.Generator().manual_seed(0)
    inputs = [
        torch.randint(0, 10000, (2, spec.n_channels, 37, 45), generator=gen).float(),
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
    )
    out_path = Path(out_path)
    meta = save_bundle(scripted, meta, out_path)
    umask = os.umask(0)
    os.umask(umask)
    out_path.chmod(0o666 & ~umask)  # the temporary file behind save_bundle is private (0600)
    write_model_card(meta, out_path.with_suffix(".md"))
    return meta

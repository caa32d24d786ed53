"""Segmentation networks, one sub-package per architecture, and their registry.

Every network follows the contract of :mod:`cropcube.bundle.module`:
``net(x (B, T, C, H, W), valid (B, T, H, W), doy (B, T)) -> logits (B, K, H, W)`` with int attributes
``receptive_field`` and ``downsampling_factor``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from torch import nn

from cropcube.errors import InputError
from cropcube.models.reference_segnet import ReferenceSegNet
from cropcube.models.tae_fpn import TaeFPN
from cropcube.models.tae_unet import TaeUNet

DEFAULT_MODEL = "tae_fpn"
DEFAULT_BUNDLE_NAME = "cropcube_default_synthetic.pt"

_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "reference_segnet": ReferenceSegNet,
    "tae_unet": TaeUNet,
    "tae_fpn": TaeFPN,
}


def list_models() -> list[str]:
    """Names of the available architectures."""
    return sorted(_REGISTRY)


def build_model(name: str, **cfg: Any) -> nn.Module:
    """Build an architecture by name.

    Args:
        name: one of :func:`list_models`.
        **cfg: constructor arguments (``n_dates``, ``n_bands``, ``n_classes``, architecture options).

    Raises:
        InputError: unknown name or unknown/invalid options.
    """
    if name not in _REGISTRY:
        raise InputError("model name", f"{name!r} is not one of {list_models()}")
    try:
        return _REGISTRY[name](**cfg)
    except (TypeError, ValueError) as exc:
        raise InputError(f"model {name!r} options", str(exc)) from None


def default_bundle_path() -> Path:
    """Path of the shipped demo bundle (default model trained on a SYNTHETIC scene only)."""
    return Path(str(resources.files("cropcube").joinpath(f"resources/models/{DEFAULT_BUNDLE_NAME}")))


__all__ = [
    "DEFAULT_MODEL",
    "ReferenceSegNet",
    "TaeFPN",
    "TaeUNet",
    "build_model",
    "default_bundle_path",
    "list_models",
]

"""What a map may claim: a bundle trained on synthetic scenes only says nothing about real fields.

The shipped demo bundle is trained on ``cropcube synth`` scenes; on real Flevoland pixels it agreed
with the old reference model on 4.8 % of them (issue 17). Classifying real data with it must say so loudly, in
the terminal, the summary, the COG's tags and the STAC Item, not only in a version suffix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

SYNTHETIC_SOURCE_TAG = "CROPCUBE_SOURCE"
"""GeoTIFF tag that ``cropcube synth`` writes into its cubes (value ``cropcube synthetic scene``)."""
SYNTHETIC_SOURCE_PREFIX = "cropcube synthetic"
TRAINING_TAG = "CROPCUBE_MODEL_TRAINING"
"""GeoTIFF tag of a class map: ``synthetic`` or ``real`` (what its bundle was trained on)."""


def trained_on_synthetic_only(metadata: Any) -> bool:
    """Whether a bundle's metadata says it was trained on synthetic scenes only.

    ``training.synthetic`` is what the trainer records; bundles without it are judged by their
    training data description and version (``...-synthetic``).
    """
    training = getattr(metadata, "training", {}) or {}
    if "synthetic" in training:
        return bool(training["synthetic"])
    data = str(training.get("data", ""))
    return data.startswith("synthetic") or str(getattr(metadata, "model_version", "")).endswith("-synthetic")


def is_synthetic_cube(tags: Mapping[str, str]) -> bool:
    """Whether a cube's GeoTIFF tags mark it as a ``cropcube synth`` scene."""
    return str(tags.get(SYNTHETIC_SOURCE_TAG, "")).startswith(SYNTHETIC_SOURCE_PREFIX)


def synthetic_model_warning(metadata: Any, cube: str | Path, cube_tags: Mapping[str, str]) -> str | None:
    """The warning to show when a synthetic-only bundle classifies data that is not synthetic, else None."""
    if not trained_on_synthetic_only(metadata) or is_synthetic_cube(cube_tags):
        return None
    name = f"{getattr(metadata, 'model_name', 'model')} {getattr(metadata, 'model_version', '')}".strip()
    return (
        f"the model {name} was trained on SYNTHETIC scenes only, and {Path(cube).name} is not a "
        "cropcube synthetic scene: this map is NOT a meaningful crop map of it. Train a model on real "
        "BRP labels (cropcube train) and pass it with --model."
    )


def training_tag(metadata: Any) -> dict[str, str]:
    """The class map's tag recording what its bundle was trained on."""
    return {TRAINING_TAG: "synthetic" if trained_on_synthetic_only(metadata) else "real"}

"""Build the training scene from a config: label rasters on disk, or the synthetic scene generator."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.datasets import BlockSplit, SceneData, load_scene
from cropcube.errors import InputError
from cropcube.trainers.config import DataConfig


def _label_codes(value: str | dict[int, int] | None) -> dict[int, int] | None:
    if value is None or isinstance(value, dict):
        return value
    if value == "worldcereal":
        from cropcube.readers.flanders import worldcereal_lookup

        return worldcereal_lookup()
    raise InputError("data.label_codes", f"{value!r} is not 'worldcereal', a mapping or null")


def scene_from_config(cfg: DataConfig) -> SceneData:
    """Read (or generate) the scene a config names.

    Raises:
        InputError: bad paths, rasters on different grids, bad synthetic options.
    """
    if cfg.synthetic is not None:
        from cropcube.synthetic import SceneConfig, generate_scene

        try:
            scene = generate_scene(SceneConfig(**cfg.synthetic))
        except TypeError as exc:
            raise InputError("data.synthetic", str(exc)) from None
        return SceneData(
            cube=np.asarray(scene.cube, dtype=np.uint16),
            labels=np.asarray(scene.labels, dtype=np.uint8),
            spec=scene.spec,
            transform=scene.transform,
            crs=str(scene.spec.crs),
            parcel_ids=np.asarray(scene.parcel_ids, dtype=np.int32),
            name=f"synthetic({', '.join(f'{k}={v}' for k, v in sorted(cfg.synthetic.items()))})",
        )
    assert cfg.cube is not None and cfg.labels is not None
    return load_scene(cfg.cube, cfg.labels, cfg.parcel_ids, _label_codes(cfg.label_codes))


def normalisation_stats(scene: SceneData, mask: npt.NDArray[np.bool_], kind: str) -> dict[str, Any]:
    """Per-channel normalisation from the valid pixels under ``mask`` (the training blocks).

    ``standardize``: mean/std of reflectance. ``max``: the reference's DN / per-band maximum,
    written as mean 0, std = maximum * dn_scale.
    """
    scale = scene.spec.dn_scale
    mean, std = [], []
    for k in range(scene.spec.n_channels):
        v = scene.cube[k][mask]
        v = v[v != scene.spec.nodata].astype(np.float64) * scale
        if v.size == 0:
            raise InputError(f"{scene.name} band {k + 1}", "has no valid pixel in the training blocks")
        if kind == "max":
            mean.append(0.0)
            std.append(float(v.max()))
        else:
            mean.append(float(v.mean()))
            std.append(float(max(v.std(), 1e-4)))
    return {"kind": kind, "mean": mean, "std": std, "source": "training blocks"}


def class_pixel_counts(
    scene: SceneData, split: BlockSplit, name: str, num_classes: int
) -> npt.NDArray[np.int64]:
    """Labelled pixels per class index (0..K) inside the blocks of ``name``."""
    counts: npt.NDArray[np.int64] = np.bincount(scene.labels[split.mask(name)], minlength=num_classes + 1)[
        : num_classes + 1
    ].astype(np.int64)
    return counts

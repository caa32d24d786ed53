"""The main job on the embedded default (``cropcube demo``), with no database.

Builds (or reuses) a synthetic Sentinel-2 2018 scene on the reference grid, classifies it with the
shipped demo bundle through the C++ kernel (pure-Python path when the kernel is not built), votes per
parcel, and publishes a crop-map COG, a PNG quicklook with legend and a summary. The scene's truth
gives an honest score: the demo scene uses another seed than the scenes the demo model was trained on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cropcube.evaluation.map_scores import MapScores, score_map
from cropcube.inference.files import ClassifySummary, classify_file, sibling_paths
from cropcube.inference.options import InferenceOptions
from cropcube.io import atomic_output, require_file, require_output_dir, require_output_file

DEMO_SEED = 2018
"""Seed of the demo scene (the shipped model was trained on other seeds)."""
MIN_SIZE = 64
"""Smallest scene side that holds enough parcels for a meaningful score."""
_SCENE_FILES = {
    "cube": "cube.tif",
    "labels": "labels.tif",
    "parcel_ids": "parcel_ids.tif",
    "parcels": "parcels.gpkg",
}


@dataclass
class DemoReport:
    """What :func:`run_demo` did.

    Attributes:
        scene: the scene's files (cube, labels, parcel_ids, parcels).
        scene_reused: True when an identical scene from an earlier run was reused.
        classification: the classification's summary.
        scores: the published map against the scene's truth.
        summary: the demo's JSON summary file.
    """

    scene: dict[str, Path]
    scene_reused: bool
    classification: ClassifySummary
    scores: MapScores
    summary: Path

    def lines(self) -> list[str]:
        """The report for a terminal."""
        return [
            self.classification.format(),
            f"against the scene's truth: {self.scores.line()}",
            f"summary: {self.summary}",
        ]


def _check_outputs(out: Path) -> Path:
    require_output_dir(out, "output folder")
    crops = out / "crops.tif"
    require_output_file(crops)
    for path in (*sibling_paths(crops).values(), out / "summary.json"):
        require_output_file(path)
    for name in _SCENE_FILES.values():
        require_output_file(out / "scene" / name)
    return crops


def demo_scene(out: Path, size: int, seed: int, echo: Callable[[str], None]) -> tuple[dict[str, Path], bool]:
    """The demo scene's files in ``out/scene``, generated unless an identical scene is already there."""
    from cropcube.synthetic import SceneConfig, generate_scene, write_scene

    scene_dir = out / "scene"
    paths = {k: scene_dir / v for k, v in _SCENE_FILES.items()}
    marker = scene_dir / "demo_scene.json"
    wanted = {"size": size, "seed": seed}
    try:
        reusable = all(p.is_file() for p in (marker, *paths.values()))
        if reusable and json.loads(marker.read_text(encoding="utf-8")) == wanted:
            echo(f"reusing the scene in {scene_dir}")
            return paths, True
    except (OSError, ValueError):
        pass  # an unreadable marker: build the scene again
    echo(f"building a {size} x {size} px synthetic 2018 scene (seed {seed}) in {scene_dir} ...")
    written = write_scene(generate_scene(SceneConfig(seed=seed, height=size, width=size)), scene_dir)
    with atomic_output(marker) as tmp:
        tmp.write_text(json.dumps(wanted), encoding="utf-8")
    return {k: Path(written[k]) for k in _SCENE_FILES}, False


def run_demo(
    out: str | Path = "demo_out",
    size: int = 1024,
    seed: int = DEMO_SEED,
    model: str | Path | None = None,
    voting: bool = True,
    echo: Callable[[str], None] = lambda _: None,
    options: InferenceOptions | None = None,
) -> DemoReport:
    """Build (or reuse) the demo scene, classify it, publish the map and score it against the truth.

    Every output path and the model are checked before the scene is built.

    Args:
        out: output folder (``crops.tif``, ``crops_confidence.tif``, ``crops.png``, ``crops.json``,
            ``summary.json``, ``scene/``).
        size: scene side in 10 m pixels (>= 64).
        seed: scene seed.
        model: bundle (default: the configured one, else the shipped demo bundle).
        voting: vote one class per parcel.
        echo: receives progress lines ("building a ... scene").
        options: the inference options, passed on unchanged (default: the configuration's).

    Raises:
        InputError: a bad output folder or model, a scene too small.
    """
    from cropcube.bundle.io import read_metadata
    from cropcube.errors import InputError
    from cropcube.inference.config import resolve_model_path

    out = Path(out)
    if size < MIN_SIZE:
        raise InputError("--size", f"{size} px is too small for a meaningful scene (at least {MIN_SIZE})")
    crops = _check_outputs(out)
    if model is not None:
        require_file(model, "model bundle")
    meta = read_metadata(resolve_model_path(model))  # a bad bundle fails before the scene is built
    scene, reused = demo_scene(out, size, seed, echo)
    summary = classify_file(
        scene["cube"],
        crops,
        model=model,
        parcels=scene["parcels"] if voting else None,
        confidence=True,
        quicklook=True,
        options=options if options is not None else InferenceOptions.build(),
    )
    scores = score_map(crops, scene["labels"], scene["parcel_ids"], meta.classes.num_classes)
    report = DemoReport(scene, reused, summary, scores, out / "summary.json")
    document = {
        "scene": {k: str(v) for k, v in scene.items()},
        "classification": summary.to_dict(),
        "scores": scores.to_dict(),
    }
    with atomic_output(report.summary) as tmp:
        tmp.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return report

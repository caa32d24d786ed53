"""From a finished run (or its checkpoint) to a bundle: metrics and training summary go into its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cropcube.bundle.export import export_bundle
from cropcube.bundle.metadata import BundleMetadata
from cropcube.calendar import Calendar
from cropcube.classes import ClassTable, load_class_table
from cropcube.cube_spec import CubeSpec
from cropcube.trainers.checkpoint import load_checkpoint
from cropcube.trainers.loop import TrainResult, build_inference_module


def test_metrics_dict(test: dict[str, Any]) -> dict[str, Any]:
    """Flatten :func:`region_metrics` output into JSON-ready bundle metrics."""
    px = test["pixel"]
    m: dict[str, Any] = {
        "split": "test (held-out blocks)",
        "overall_accuracy": px.overall_accuracy,
        "miou": px.miou,
        "mean_f1": px.mean_f1,
        "labelled_pixels": int(px.confusion.sum()),
        "per_class_iou": {str(k): v["iou"] for k, v in px.per_class.items()},
    }
    if "voted" in test:
        m.update(
            voted_overall_accuracy=test["voted"].overall_accuracy,
            voted_miou=test["voted"].miou,
            parcel_accuracy=test["parcel_accuracy"],
            parcels=test["parcels"],
        )
    return m


def export_result(
    result: TrainResult, out_path: str | Path, version: str, classes: ClassTable | None = None
) -> BundleMetadata:
    """Export the best weights of a finished run as a bundle + model card."""
    return export_bundle(
        result.module,
        result.spec,
        classes or load_class_table(),
        result.normalisation,
        {**result.summary, "model_options": result.model_options},
        test_metrics_dict(result.test),
        out_path,
        result.model_name,
        version,
        calendar=result.calendar,
    )


def export_checkpoint(
    checkpoint: str | Path, out_path: str | Path, version: str, classes: ClassTable | None = None
) -> BundleMetadata:
    """Export a checkpoint's best-validation weights (test metrics when the run had finished)."""
    state = load_checkpoint(checkpoint)
    classes = classes or load_class_table()
    spec = CubeSpec.from_dict(state["spec"])
    calendar = Calendar.from_dict(state["calendar"]) if state.get("calendar") else None
    module = build_inference_module(
        state["model_name"], state["model_options"], spec, state["normalisation"], classes.num_classes,
        calendar,
    )  # fmt: skip
    module.load_state_dict(state["best_state"] or state["model_state"])
    metrics = state.get("test_metrics") or {"split": "val", "best_val_miou": state.get("best_miou")}
    return export_bundle(
        module.eval(),
        spec,
        classes,
        state["normalisation"],
        {**state.get("summary", {}), "model_options": state["model_options"]},
        metrics,
        out_path,
        state["model_name"],
        version,
        calendar=calendar,
    )

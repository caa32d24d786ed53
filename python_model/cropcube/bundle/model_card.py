"""Model cards: a Markdown page beside every exported bundle (data, classes, metrics, limits, use)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cropcube.bundle.metadata import BundleMetadata
from cropcube.io import atomic_output


def _calendar_line(meta: BundleMetadata) -> str:
    """What calendars the bundle takes (format 2) or that it is fixed to its dates (format 1)."""
    cal = meta.calendar
    if cal is None:
        return "- Calendar: fixed (bundle format 1): only cubes of exactly the dates above."
    return (
        f"- Calendar (bundle format 2): {cal.describe()}; default dates (used when a cube's dates are "
        f"unknown) as above. Trained on: {cal.trained_on or 'not stated'}."
    )


def _dates_phrase(meta: BundleMetadata) -> str:
    cal = meta.calendar
    if cal is None:
        return f"exactly the {meta.spec.n_dates} dates of the input"
    return f"{cal.min_dates} to {cal.max_dates} dates within day of year {cal.season_start}..{cal.season_end}"


def _pct(value: Any) -> str:
    return f"{100 * float(value):.1f} %" if isinstance(value, (int, float)) else "n/a"


def model_card_markdown(meta: BundleMetadata) -> str:
    """The model card text of a bundle's metadata."""
    t = meta.training
    synthetic = bool(t.get("synthetic"))
    names = meta.classes.names()
    trained = t.get("train_pixels_per_class", {})
    lines = [f"# Model card: {meta.model_name} {meta.model_version}", ""]
    if synthetic:
        lines += [
            "> **SYNTHETIC-TRAINED DEMO WEIGHTS.** Trained only on a synthetic scene made by "
            "`cropcube.synthetic`; it shows that the pipeline works end to end. Its predictions "
            "on real Sentinel-2 data are NOT meaningful crop maps. Train on real labels (`cropcube train`) "
            "for real use.",
            "",
        ]
    lines += [
        "## Model",
        "",
        f"- Architecture: `{meta.model_name}` ({meta.parameters:,} parameters, "
        f"{meta.flops_per_pixel / 1e3:.0f} kFLOP per pixel).",
        f"- Receptive field {meta.receptive_field} px, downsampling factor {meta.downsampling_factor}, "
        f"tile halo {meta.halo} px.",
        f"- Input: {meta.spec.n_channels} raw digital-number bands, date-major, dates "
        f"{', '.join(d.isoformat() for d in meta.spec.dates)}, bands {', '.join(meta.spec.bands)}; "
        f"reflectance = DN x {meta.spec.dn_scale}; nodata {meta.spec.nodata}. "
        f"Normalisation `{meta.normalisation.get('kind', '?')}` is inside the file.",
        _calendar_line(meta),
        f"- Output: {meta.classes.num_classes} logits per pixel (channel k = class k + 1); "
        "class 0 = no data.",
        f"- Content hash: `{meta.content_hash}`; written by cropcube {meta.cropcube_version} "
        f"on {meta.created}.",
        "",
        "## Intended use",
        "",
        "Per-pixel crop-type maps of Dutch (BRP) agricultural parcels from a Sentinel-2 L2A cube "
        f"({_dates_phrase(meta)}) in the layout above, run with `cropcube classify`, the C++ kernel "
        "or the rasdaman UDF. Optionally "
        "followed by parcel voting. Not for other regions, years or sensors without retraining and "
        "evaluation.",
        "",
        "## Training data",
        "",
        f"- Data: {t.get('data', 'n/a')} (grid {t.get('grid', 'n/a')}, synthetic: {synthetic}).",
        f"- Split: {json.dumps(t.get('split', {}))}",
        f"- Recipe: {t.get('epochs', '?')} epochs x {t.get('chips_per_epoch', '?')} chips of "
        f"{t.get('chip_size', '?')} px, batch {t.get('batch_size', '?')}, peak lr {t.get('lr', '?')}, "
        f"loss {t.get('loss', '?')} (class weight power {t.get('class_weight_power', '?')}), "
        f"sampling {t.get('sampling', '?')}, weight average (EMA) decay {t.get('ema_decay', 0)}, "
        f"augmentation {json.dumps(t.get('augment', {}))}, seed "
        f"{t.get('seed', '?')}, {t.get('train_seconds', '?')} s of training.",
        "",
        "## Classes",
        "",
        f"The bundle carries the full table of {meta.classes.num_classes} BRP classes. "
        f"Classes seen in training ({len(trained)}):",
        "",
        "| class | name | training pixels |",
        "|---|---|---|",
    ]
    lines += [
        f"| {k} | {names[int(k)]} | {v} |" for k, v in sorted(trained.items(), key=lambda kv: int(kv[0]))
    ]
    m = meta.metrics
    lines += ["", "## Metrics (held-out test blocks)", "", "| metric | value |", "|---|---|"]
    for key in (
        "overall_accuracy",
        "miou",
        "mean_f1",
        "voted_overall_accuracy",
        "voted_miou",
        "parcel_accuracy",
    ):
        if key in m:
            lines.append(f"| {key} | {_pct(m[key])} |")
    if "parcels" in m:
        lines.append(f"| parcels graded | {m['parcels']} |")
    precision = m.get("precision")
    if isinstance(precision, dict) and "bfloat16_agreement" in precision:
        lines += [
            "",
            f"bfloat16 against float32 (`scripts/bench_precision.py`, {precision.get('measured', '')}): "
            f"{_pct(precision['bfloat16_agreement'])} arg-max agreement at least, OA and mIoU within "
            f"{float(precision.get('bfloat16_max_accuracy_change', 0.0)):.2f} points; the kernel's "
            "`precision=auto` runs bfloat16 on CPUs with AVX512-BF16 or AMX when this holds (>= 99 %, "
            "within 0.2 points).",
        ]
    lines += [
        "",
        "## Limits",
        "",
        "- Classes never seen in training are never predicted well; rare classes have low recall.",
        (
            "- Bands and DN scale must match the layout above; the dates must lie within the calendar "
            "above (checked at load and run time)."
            if meta.calendar is not None
            else "- Dates, bands and DN scale must match the layout above (checked at load and run time)."
        ),
        "- Cloudy dates should be masked to nodata (0) where a cloud mask exists; the default model "
        "ignores nodata dates per pixel, unmasked clouds degrade it.",
        "- Metrics are from spatially held-out blocks of the training scene, "
        "not from another region or year.",
    ]
    if synthetic:
        lines.append("- Trained on synthetic data only: see the warning at the top.")
    return "\n".join(lines) + "\n"


def write_model_card(meta: BundleMetadata, path: str | Path) -> Path:
    """Write the model card atomically and return its path."""
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(model_card_markdown(meta), encoding="utf-8")
    return path

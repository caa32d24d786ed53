"""Evaluation reports: JSON, Markdown, confusion matrix as CSV and PNG (all written atomically)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

from cropcube.classes import ClassTable
from cropcube.io import atomic_output


def _present(cm: npt.NDArray[np.int64]) -> list[int]:
    """Class indices that occur in truth or prediction (0 kept when predicted on labelled pixels)."""
    idx = np.nonzero(cm.sum(axis=0) + cm.sum(axis=1))[0]
    return [int(i) for i in idx]


def write_confusion_csv(cm: npt.NDArray[np.int64], classes: ClassTable, path: Path) -> Path:
    """Rows = true class, columns = predicted class, over the classes that occur."""
    names = classes.names()
    keep = _present(cm)
    with atomic_output(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["true \\ predicted", *[f"{k} {names[k]}" for k in keep]])
        for k in keep:
            w.writerow([f"{k} {names[k]}", *[int(cm[k, j]) for j in keep]])
    return path


def write_confusion_png(cm: npt.NDArray[np.int64], classes: ClassTable, path: Path, title: str) -> Path:
    """Row-normalised heat map over the classes that occur."""
    names = classes.names()
    keep = _present(cm)
    sub = cm[np.ix_(keep, keep)].astype(np.float64)
    norm = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.35 * len(keep) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(norm, cmap="viridis", vmin=0, vmax=1)
    labels = [f"{k} {names[k][:18]}" for k in keep]
    ax.set_xticks(range(len(keep)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(keep)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="row-normalised")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def write_json(data: dict[str, Any], path: Path) -> Path:
    """Pretty JSON, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def markdown_report(report: dict[str, Any], classes: ClassTable) -> str:
    """Human-readable report: headline numbers and a per-class table."""
    names = classes.names()
    px = report["pixel"]
    lines = [
        f"# Evaluation: {report.get('model', {}).get('name', 'model')} on {report.get('data', 'scene')}",
        "",
        "| metric | value |",
        "|---|---|",
        f"| overall accuracy (labelled pixels) | {100 * px['overall_accuracy']:.2f} % |",
        f"| mIoU (classes present: {px['classes_present']}) | {100 * px['miou']:.2f} % |",
        f"| mean F1 | {100 * px['mean_f1']:.2f} % |",
        f"| labelled pixels | {px['labelled_pixels']} |",
    ]
    if report.get("parcel"):
        pa = report["parcel"]
        lines += [
            f"| pixel OA after parcel voting | {100 * pa['voted_pixel']['overall_accuracy']:.2f} % |",
            f"| mIoU after parcel voting | {100 * pa['voted_pixel']['miou']:.2f} % |",
            f"| parcel-level accuracy ({pa['parcels']} parcels) | {100 * pa['parcel_accuracy']:.2f} % |",
        ]
    lines += [
        "",
        "## Per class",
        "",
        "| class | name | support | IoU | F1 | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, v in sorted(px["per_class"].items(), key=lambda kv: int(kv[0])):
        lines.append(
            f"| {k} | {names[int(k)]} | {v['support']} | {100 * v['iou']:.1f} | {100 * v['f1']:.1f} "
            f"| {100 * v['precision']:.1f} | {100 * v['recall']:.1f} |"
        )
    lines += ["", "Confusion matrix: `confusion.csv`, `confusion.png` (rows = true class).", ""]
    return "\n".join(lines)

#!/usr/bin/env python
"""Reduced precision against float32 on the benchmark scenes: agreement, accuracy, CPU time (a table).

Runs the C++ kernel on the synthetic benchmark scenes of scripts/bench_models.py (the independent scene,
seed 3, 1024², and the robustness scene, seed 1, 512², 30 % clouds, crops 10 days late) in float32 and
in bfloat16, and prints per scene: arg-max agreement, OA and mIoU of each precision and their change,
and CPU seconds per call (one thread, so the time is the work, not the machine's load).

`--record OUT.pt` writes a copy of the bundle whose metadata (``metrics.precision``) records the
result; the kernel's ``precision=auto`` uses bfloat16 only for such a bundle, only where the record
shows parity (>= 99 % agreement and OA/mIoU within 0.2 points on every scene), and only on CPUs with
native bfloat16 dot products (AVX512-BF16 or AMX).

  .venv/bin/python scripts/bench_precision.py [--model BUNDLE] [--record OUT.pt]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

AGREEMENT, ACCURACY_CHANGE = 0.99, 0.2


def _scenes() -> list[tuple[str, Any]]:
    from cropcube.synthetic import SceneConfig, generate_scene

    return [
        ("independent (seed 3, 1024²)", generate_scene(SceneConfig(seed=3, height=1024, width=1024))),
        (
            "robustness (seed 1, 512², 30 % clouds, +10 d)",
            generate_scene(
                SceneConfig(seed=1, height=512, width=512, cloud_fraction=0.3, phenology_shift_days=10.0)
            ),
        ),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None, help="bundle (default: the shipped demo bundle)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--record", type=Path, default=None, help="write a copy of the bundle with the record")
    args = p.parse_args()

    from cropcube.bundle import load_bundle, save_bundle
    from cropcube.bundle.model_card import write_model_card
    from cropcube.evaluation.metrics import segmentation_metrics
    from cropcube.inference import Classifier
    from cropcube.models import default_bundle_path

    model = args.model or default_bundle_path()
    precisions = ("float32", "bfloat16")
    clf = {pr: Classifier(model, backend="native", threads=1, precision=pr) for pr in precisions}
    k = clf["float32"].num_classes
    rows, agreements, changes = [], [], []
    for name, scene in _scenes():
        pred = {pr: c.classify_array(scene.cube) for pr, c in clf.items()}
        cpu: dict[str, list[float]] = {pr: [] for pr in precisions}
        for _ in range(args.repeats):  # interleaved
            for pr, c in clf.items():
                t = time.process_time()
                c.classify_array(scene.cube)
                cpu[pr].append(time.process_time() - t)
        m = {pr: segmentation_metrics(scene.labels, pred[pr], k + 1) for pr in precisions}
        agree = float((pred["float32"] == pred["bfloat16"]).mean())
        d_oa = 100 * (m["bfloat16"].overall_accuracy - m["float32"].overall_accuracy)
        d_miou = 100 * (m["bfloat16"].miou - m["float32"].miou)
        agreements.append(agree)
        changes += [abs(d_oa), abs(d_miou)]
        t32, t16 = statistics.median(cpu["float32"]), statistics.median(cpu["bfloat16"])
        rows.append(
            f"| {name} | {100 * agree:.2f} % | {100 * m['float32'].overall_accuracy:.2f} / "
            f"{100 * m['bfloat16'].overall_accuracy:.2f} ({d_oa:+.2f}) | {100 * m['float32'].miou:.2f} / "
            f"{100 * m['bfloat16'].miou:.2f} ({d_miou:+.2f}) | {t32:.2f} / {t16:.2f} ({t32 / t16:.2f}x) |"
        )
    cpu_name = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in ln
        ),
        "?",
    )
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    print(f"bundle {model}; {cpu_name}, {os.cpu_count()} cores, one thread; {when}, load {load:.1f}")
    print()
    print(
        "| scene | arg-max agreement | OA f32 / bf16 (change, pt) | mIoU f32 / bf16 (change, pt) "
        "| CPU s f32 / bf16 |"
    )
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    parity = min(agreements) >= AGREEMENT and max(changes) <= ACCURACY_CHANGE
    print()
    print(
        f"bfloat16 parity: {'holds' if parity else 'does NOT hold'} (agreement >= {100 * AGREEMENT:.0f} % "
        f"and OA/mIoU within {ACCURACY_CHANGE} points on every scene)"
    )
    if args.record:
        bundle = load_bundle(model)
        meta = bundle.metadata
        meta.metrics = {
            **meta.metrics,
            "precision": {
                "bfloat16_agreement": min(agreements),
                "bfloat16_max_accuracy_change": max(changes),
                "scenes": [r.split(" |")[0].strip("| ") for r in rows],
                "measured": f"{cpu_name}, {when}",
            },
        }
        meta = save_bundle(bundle.module, meta, args.record)
        card = write_model_card(meta, args.record.with_suffix(".md"))
        print(f"recorded in {args.record} (model card {card})")


if __name__ == "__main__":
    main()

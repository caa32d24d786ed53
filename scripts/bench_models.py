#!/usr/bin/env python
"""Reference SegNet vs the default model on synthetic scenes, with an equal training budget.

    .venv/bin/python scripts/bench_models.py [--out runs/bench] [--reuse tae_fpn=runs/demo_synthetic]

Every model sees the same chips budget (epochs x chips per epoch x chip size, from the demo config)
on the standard synthetic scene (seed 0, 2048 x 2048 in the demo config); each uses its own recipe
(the reference: its published one in reference_segnet.toml, Adam 5e-4, batch 4, plain
cross-entropy, DN / band maximum, no cloud mask; the default tae_fpn: demo_synthetic.yaml; the
previous default tae_unet: tae_unet_synthetic.yaml; both with cloud masking inside the bundle).
Prints one table:

- standard scene, held-out test blocks: OA, mIoU, pixel OA after parcel voting, parcel-level accuracy;
- independent scene (seed 3, 1024 x 1024, never trained on, 1148 parcels): the same scores on a
  scene of another seed;
- robustness scene (other seed, 30 % cloud cover on every date, phenology +10 days), whole scene;
- training time, CPU inference px/s (same thread count, scripted bundle, 256x256 tiles), parameters,
  FLOP/px, chips per epoch; and the ratios default / reference.

Runs resume from their checkpoints (runs/bench/<model>); `--reuse MODEL=DIR` takes a finished run.

`--chips MODEL=N` gives one model N chips per epoch instead of the shared number: an equal training
*time* comparison instead of equal data, e.g. (docs/model.md, "Benchmark")

    .venv/bin/python scripts/bench_models.py --out runs/bench_time --models reference_segnet,tae_fpn \
        --chips reference_segnet=96 --chips tae_fpn=768
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cropcube.bundle import load_bundle
from cropcube.classes import load_class_table
from cropcube.datasets import SceneData
from cropcube.evaluation import classes_from_probabilities, segmentation_metrics
from cropcube.evaluation.voting import ParcelVoter, parcel_accuracy, parcel_truth
from cropcube.inference import Classifier
from cropcube.models import DEFAULT_MODEL
from cropcube.synthetic import SceneConfig, generate_scene
from cropcube.trainers import load_config, train
from cropcube.trainers.export import export_result

CONFIGS = Path(str(resources.files("cropcube").joinpath("resources/configs")))


def _scene(cfg: SceneConfig, name: str) -> SceneData:
    s = generate_scene(cfg)
    return SceneData(s.cube, s.labels, s.spec, s.transform, s.crs, s.parcel_ids, name)


def _score_scene(bundle_path: Path, scene: SceneData) -> dict[str, float]:
    # Scored through the shipped path (the C++ kernel when built), as `cropcube classify` runs it.
    probs = Classifier(bundle_path, tile_size=512).predict_proba(scene.cube)
    pred = classes_from_probabilities(probs)
    px = segmentation_metrics(scene.labels, pred, 76)
    assert scene.parcel_ids is not None
    voter = ParcelVoter(76)
    voter.add(probs, scene.parcel_ids)
    voted = segmentation_metrics(scene.labels, voter.apply(pred, scene.parcel_ids), 76)
    n, acc = parcel_accuracy(voter.result(), parcel_truth(scene.parcel_ids, scene.labels))
    return {
        "oa": px.overall_accuracy,
        "miou": px.miou,
        "voted_oa": voted.overall_accuracy,
        "voted_miou": voted.miou,
        "parcel_acc": acc,
        "parcels": n,
    }


def _px_per_s(bundles: dict[str, Path], threads: int, size: int = 256, rounds: int = 3) -> dict[str, float]:
    """Best-of time per model, models interleaved so that both see the same machine load."""
    torch.set_num_threads(threads)
    modules = {n: load_bundle(p).module for n, p in bundles.items()}
    x = torch.randint(1, 9000, (1, 28, size, size)).float()
    best = dict.fromkeys(modules, float("inf"))
    with torch.inference_mode():
        for m in modules.values():
            m(x)
            m(x)  # TorchScript profiles the first calls
        for _ in range(rounds):
            for n, m in modules.items():
                t0 = time.perf_counter()
                m(x)
                best[n] = min(best[n], time.perf_counter() - t0)
    return {n: size * size / t for n, t in best.items()}


def _chips_overrides(items: list[str]) -> dict[str, int]:
    """``["MODEL=N", ...]`` -> {MODEL: N}; a clear error for anything else."""
    out: dict[str, int] = {}
    for item in items:
        name, _, value = item.partition("=")
        if not value.isdigit() or int(value) < 1:
            raise SystemExit(f"--chips {item!r}: expected MODEL=N with N a positive integer")
        out[name] = int(value)
    return out


def ablation(out: Path) -> None:
    """Class-imbalance ablation at small scale: loss x sampling for the default model, same budget."""
    variants = [
        ("ce", "uniform"),
        ("weighted_ce", "uniform"),
        ("focal", "uniform"),
        ("ce", "balanced"),
        ("weighted_ce", "balanced"),
    ]
    print("| loss | sampling | test OA | test mIoU | voted OA | parcel acc |\n|---|---|---|---|---|---|")
    for loss, sampling in variants:
        cfg = load_config(CONFIGS / "demo_synthetic.yaml")
        cfg.data.synthetic = {"seed": 2, "height": 384, "width": 384}
        cfg.data.block_size, cfg.data.buffer, cfg.data.chip_size, cfg.data.chip_stride = 64, 2, 32, 14
        cfg.data.chips_per_epoch, cfg.train.epochs, cfg.train.progress = 128, 4, False
        cfg.train.loss, cfg.train.sampling = loss, sampling
        cfg.out_dir = str(out / f"ablation_{loss}_{sampling}")
        t = train(cfg, resume=True).test
        print(
            f"| {loss} | {sampling} | {100 * t['pixel'].overall_accuracy:.1f} | {100 * t['pixel'].miou:.1f} "
            f"| {100 * t['voted'].overall_accuracy:.1f} | {100 * t['parcel_accuracy']:.1f} |",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/bench"))
    ap.add_argument("--reuse", action="append", default=[], help="MODEL=RUN_DIR of a finished run to reuse")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default=f"reference_segnet,{DEFAULT_MODEL},tae_unet")
    ap.add_argument("--ablation", action="store_true", help="run the class-imbalance ablation instead")
    ap.add_argument("--epochs", type=int, default=None, help="epochs for both models (default: the demo's)")
    ap.add_argument(
        "--chips", action="append", default=[], help="MODEL=N: N chips per epoch for MODEL (equal-time runs)"
    )
    ap.add_argument("--speed-of", default=None, help=argparse.SUPPRESS)  # JSON {name: bundle}
    args = ap.parse_args()
    if args.speed_of:
        bundle_paths = {n: Path(p) for n, p in json.loads(args.speed_of).items()}
        print(json.dumps(_px_per_s(bundle_paths, args.threads)))
        return
    if args.ablation:
        ablation(args.out)
        return
    reuse = dict(r.split("=", 1) for r in args.reuse)
    chips = _chips_overrides(args.chips)
    if unknown := set(chips) - set(args.models.split(",")):
        raise SystemExit(f"--chips names models not in --models: {', '.join(sorted(unknown))}")
    base = load_config(CONFIGS / "demo_synthetic.yaml")
    if args.epochs is not None:
        base.train.epochs = args.epochs
    configs = {
        DEFAULT_MODEL: base,
        "tae_unet": load_config(CONFIGS / "tae_unet_synthetic.yaml"),
        "reference_segnet": load_config(CONFIGS / "reference_segnet.toml"),
    }
    independent = _scene(SceneConfig(seed=3, height=1024, width=1024), "independent (seed 3)")
    robust = _scene(
        SceneConfig(seed=1, height=512, width=512, cloud_fraction=0.3, phenology_shift_days=10.0),
        "robustness (seed 1, 30 % clouds, phenology +10 d)",
    )
    rows: dict[str, dict[str, Any]] = {}
    bundles: dict[str, Path] = {}
    for name in args.models.split(","):
        cfg = configs[name]
        # Equal budget: the default model's data, epochs, chips and chip size for both (unless --chips).
        cfg.data, cfg.train.epochs, cfg.seed = base.data, base.train.epochs, base.seed
        if name in chips:
            cfg.data = dataclasses.replace(base.data, chips_per_epoch=chips[name])
        cfg.out_dir = str(args.out / name)
        cfg.train.progress = False
        if name in reuse:
            Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(reuse[name]) / "checkpoint.pt", Path(cfg.out_dir) / "checkpoint.pt")
        result = train(cfg, resume=True)
        bundle = Path(cfg.out_dir) / "model.pt"
        meta = export_result(result, bundle, f"bench-{name}", load_class_table())
        test = result.test
        rows[name] = {
            "std_oa": test["pixel"].overall_accuracy,
            "std_miou": test["pixel"].miou,
            "std_voted_oa": test["voted"].overall_accuracy,
            "std_parcel_acc": test["parcel_accuracy"],
            **{f"ind_{k}": v for k, v in _score_scene(bundle, independent).items()},
            **{f"rob_{k}": v for k, v in _score_scene(bundle, robust).items()},
            "chips_per_epoch": cfg.data.chips_per_epoch,
            "train_s": result.summary["train_seconds"],
            "params": meta.parameters,
            "flop_per_px": meta.flops_per_pixel,
        }
        bundles[name] = bundle
        print(name, json.dumps(rows[name]), flush=True)
    # In a fresh process: after training in this one, the same forward ran 2-6x slower (allocator
    # and thread-pool state), which would bias the comparison.
    speed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--speed-of",
            json.dumps({n: str(p) for n, p in bundles.items()}),
            "--threads",
            str(args.threads),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    for name, pps in json.loads(speed.stdout.strip().splitlines()[-1]).items():
        rows[name]["px_per_s"] = pps
    (args.out / "bench.json").write_text(json.dumps(rows, indent=2))
    keys = list(next(iter(rows.values())))
    names = list(rows)
    with_ratio = DEFAULT_MODEL in rows and "reference_segnet" in rows
    print("\n| metric | " + " | ".join(names) + (" | default / reference |" if with_ratio else " |"))
    print("|---" * (len(names) + 1 + with_ratio) + "|")
    for k in keys:
        vals = [rows[n][k] for n in names]
        cells = [
            f"{100 * v:.1f} %" if isinstance(v, float) and v <= 1 and k not in ("train_s",) else f"{v:,.0f}"
            for v in vals
        ]
        ratio = ""
        if with_ratio and rows["reference_segnet"][k]:
            ratio = f" | {rows[DEFAULT_MODEL][k] / rows['reference_segnet'][k]:.2f}"
        print(f"| {k} | " + " | ".join(cells) + ratio + " |")
    print(
        f"\nmachine: {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"date {time.strftime('%Y-%m-%d')}"
    )
    np.set_printoptions()


if __name__ == "__main__":
    main()

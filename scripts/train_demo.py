#!/usr/bin/env python
"""Reproduce the shipped demo weights with one command (fixed seeds, CPU, a few minutes).

    .venv/bin/python scripts/train_demo.py [--out-dir runs/demo_synthetic] [--no-resume]

Trains the default model (tae_fpn) on the synthetic scene of
python_model/cropcube/resources/configs/demo_synthetic.yaml and exports it, with its model card, to
python_model/cropcube/resources/models/cropcube_default_synthetic.pt (.md). The run resumes from its
checkpoint when interrupted.
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

from cropcube.models import default_bundle_path
from cropcube.trainers import load_config, train
from cropcube.trainers.export import export_result

CONFIG = Path(str(resources.files("cropcube").joinpath("resources/configs/demo_synthetic.yaml")))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out-dir", default="runs/demo_synthetic", help="run folder (checkpoints, metrics)")
    parser.add_argument(
        "--bundle", type=Path, default=default_bundle_path(), help="where to write the bundle"
    )
    parser.add_argument("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    args = parser.parse_args()
    cfg = load_config(CONFIG)
    cfg.out_dir = args.out_dir
    t0 = time.perf_counter()
    result = train(cfg, resume=not args.no_resume)
    meta = export_result(result, args.bundle, cfg.model.version)
    px = result.test["pixel"]
    print(
        f"trained in {time.perf_counter() - t0:.0f} s (this process); "
        f"test OA {100 * px.overall_accuracy:.1f} %, mIoU {100 * px.miou:.1f} %"
    )
    print(f"bundle {args.bundle} ({args.bundle.stat().st_size / 1e6:.1f} MB, {meta.content_hash[:23]}...)")


if __name__ == "__main__":
    main()

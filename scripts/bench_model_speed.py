#!/usr/bin/env python
"""CPU speed of the models: reference SegNet vs the default (tae_fpn) vs tae_unet variants, side by side.

    nice .venv/bin/python scripts/bench_model_speed.py [--threads 2] [--sizes 512 1024] [--rounds 3]

Every variant is wrapped in the bundle's InferenceModule (raw DN in, logits out) and scripted, as a
bundle holds it; random weights (speed does not depend on them). Variants run interleaved (A, B, C,
A, B, C, ...) and the best of ``--rounds`` calls counts, so that load from other processes on a
shared machine cancels out in the ratios. One table per image size:

- px/s and the ratio to the reference SegNet and to the default model's plain (pre-speed-up) path;
- kFLOP/px of the useful work (the plain maths, counted by torch's FLOP counter) and the GFLOP/s
  it achieves, also as % of a single 3x3 32->32 conv layer measured in the same run (the FLOP-bound
  limit of this machine for this kind of network).

Variants: ``reference_segnet``; ``tae_unet plain`` (the temporal encoder's plain 1x1-conv path, the
default before the speed-up); ``tae_unet`` (default: fast temporal path in eval mode); ``+freeze``
(torch.jit.freeze: folds the U-Net's BatchNorms); candidates that need retraining: slimmer widths.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from cropcube.bundle.export import build_wrapper, flops_per_pixel
from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.models import TaeUNet, build_model
from cropcube.trainers import load_config, train

NORM = {"kind": "standardize", "mean": [0.1] * 28, "std": [0.05] * 28}


@dataclass
class Variant:
    """One network configuration to time."""

    name: str
    build: Callable[[], nn.Module]
    freeze: bool = False
    retrain: bool = False


def _tae(fast: bool = True, **options: object) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        net = build_model("tae_unet", **options)
        assert isinstance(net, TaeUNet)
        net.temporal.fast_inference = fast
        return net

    return build


VARIANTS = [
    Variant("reference_segnet", lambda: build_model("reference_segnet")),
    Variant("tae_fpn (default)", lambda: build_model("tae_fpn"), retrain=True),
    Variant("tae_unet plain (before)", _tae(fast=False)),
    Variant("tae_unet (fast path)", _tae()),
    Variant("tae_unet +freeze", _tae(), freeze=True),
    Variant("tae_unet w(16,48,96) +freeze", _tae(widths=(16, 48, 96)), freeze=True, retrain=True),
    Variant(
        "tae_unet w(16,32,64) d16 h4 +freeze",
        _tae(widths=(16, 32, 64), d_model=16, n_heads=4),
        freeze=True,
        retrain=True,
    ),
]


def _module(variant: Variant) -> tuple[torch.jit.ScriptModule, float]:
    """The scripted wrapper and the useful work (plain-path FLOPs) per pixel."""
    torch.manual_seed(0)
    net = variant.build().eval()
    wrapper = build_wrapper(net, REFERENCE_2018_SPEC, NORM).eval()
    if isinstance(net, TaeUNet):
        fast = net.temporal.fast_inference
        net.temporal.fast_inference = False
        flops = flops_per_pixel(wrapper, 28)
        net.temporal.fast_inference = fast
    else:
        flops = flops_per_pixel(wrapper, 28)
    scripted = torch.jit.script(wrapper)
    if variant.freeze:
        scripted = torch.jit.freeze(scripted)
    return scripted, flops


def _conv_limit(size: int, rounds: int) -> float:
    """GFLOP/s of one 3x3 32->32 conv layer on a size x size image (best of rounds)."""
    conv = torch.jit.freeze(torch.jit.script(nn.Conv2d(32, 32, 3, padding=1).eval()))
    x = torch.randn(1, 32, size, size)
    best = float("inf")
    with torch.inference_mode():
        conv(x)
        for _ in range(rounds):
            t0 = time.perf_counter()
            conv(x)
            best = min(best, time.perf_counter() - t0)
    return 2 * 9 * 32 * 32 * size * size / best / 1e9


def bench(size: int, rounds: int, variants: list[Variant]) -> None:
    """Print the side-by-side table for one image size."""
    modules = {v.name: _module(v) for v in variants}
    x = torch.randint(1, 9000, (1, 28, size, size)).float()
    best = dict.fromkeys(modules, float("inf"))
    limit = 0.0
    with torch.inference_mode():
        for module, _ in modules.values():
            module(x)
            module(x)  # TorchScript profiles and optimises on the first calls
        for _ in range(rounds):
            limit = max(limit, _conv_limit(size, 2))
            for name, (module, _) in modules.items():
                t0 = time.perf_counter()
                module(x)
                best[name] = min(best[name], time.perf_counter() - t0)
    px = {n: size * size / t for n, t in best.items()}
    ref = px.get("reference_segnet", 0.0)
    before = px.get("tae_unet plain (before)", 0.0)
    print(f"\n{size}x{size}, {torch.get_num_threads()} threads; 3x3 conv layer limit: {limit:.1f} GFLOP/s")
    print("| variant | retrain? | ms | Mpx/s | x ref | x before | kFLOP/px | GFLOP/s | % of conv limit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for v in variants:
        flops = modules[v.name][1]
        rate = px[v.name]
        gflops = flops * rate / 1e9
        vs_ref = rate / ref if ref else float("nan")
        vs_before = rate / before if before else float("nan")
        print(
            f"| {v.name} | {'yes' if v.retrain else 'no'} | {best[v.name] * 1000:.0f} | {rate / 1e6:.3f} | "
            f"{vs_ref:.2f} | {vs_before:.2f} | {flops / 1e3:.0f} | {gflops:.1f} | {100 * gflops / limit:.0f}|"
        )


ACCURACY_CANDIDATES: list[tuple[str, dict[str, object]]] = [
    ("default", {}),
    ("w(16,48,96)", {"widths": [16, 48, 96]}),
    ("w(16,32,64) d16 h4", {"widths": [16, 32, 64], "d_model": 16, "n_heads": 4}),
]


def accuracy(out: Path) -> None:
    """Test mIoU of the candidates with one small, equal budget (the demo recipe, smaller scene)."""
    configs = Path(str(resources.files("cropcube").joinpath("resources/configs")))
    print("| variant | test OA | test mIoU | voted mIoU |\n|---|---|---|---|")
    for name, options in ACCURACY_CANDIDATES:
        cfg = load_config(configs / "demo_synthetic.yaml")
        cfg.data.synthetic = {"seed": 2, "height": 384, "width": 384}
        cfg.data.block_size, cfg.data.buffer, cfg.data.chip_size, cfg.data.chip_stride = 64, 2, 32, 14
        cfg.data.chips_per_epoch, cfg.train.epochs, cfg.train.progress = 128, 4, False
        cfg.model.options = dict(options)
        cfg.out_dir = str(out / name.replace(" ", "_"))
        t = train(cfg, resume=True).test
        print(
            f"| {name} | {100 * t['pixel'].overall_accuracy:.1f} | {100 * t['pixel'].miou:.1f} "
            f"| {100 * t['voted'].miou:.1f} |",
            flush=True,
        )


def main() -> None:
    """Parse arguments and print one table per size."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="variant names to run (default: all)")
    parser.add_argument("--accuracy", type=Path, default=None, help="run dir: train candidates instead")
    args = parser.parse_args()
    if args.accuracy is not None:
        accuracy(args.accuracy)
        return
    torch.set_num_threads(args.threads)
    variants = [v for v in VARIANTS if args.only is None or v.name in args.only]
    print(f"torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    for size in args.sizes:
        bench(size, args.rounds, variants)


if __name__ == "__main__":
    main()

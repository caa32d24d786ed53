"""A tiny fixture bundle (a few thousand weights) with a known receptive field, for kernel tests.

Run as a script to write bundles: ``python fixture_bundle.py OUT.pt [OUT_SEED2.pt]`` (the C++ tests do
this from ctest); Python tests import :func:`make_fixture_bundle`.

The network is a miniature U-Net: full-resolution conv, two 2x poolings (downsampling factor 4), a
coarse conv, nearest upsampling and a skip connection, so tiling has to respect both the receptive
field and the alignment to the downsampling factor.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from cropcube.bundle import BundleMetadata, InferenceModule, halo_for, save_bundle
from cropcube.classes import load_class_table
from cropcube.cube_spec import REFERENCE_2018_SPEC

RECEPTIVE_FIELD = 24  # an upper bound of the true field (about 21 px)
DOWNSAMPLING = 4


class FixtureNet(nn.Module):
    receptive_field: int = RECEPTIVE_FIELD
    downsampling_factor: int = DOWNSAMPLING

    def __init__(self) -> None:
        super().__init__()
        self.fine = nn.Conv2d(28 + 7, 12, 3, padding=1)
        self.mid = nn.Conv2d(12, 12, 3, padding=1)
        self.coarse = nn.Conv2d(12, 12, 3, padding=1)
        self.head = nn.Conv2d(24, 76, 1)

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        b, t, c, h, w = x.shape
        f = F.relu(self.fine(torch.cat([x.reshape(b, t * c, h, w), valid], dim=1)))
        m = F.relu(self.mid(F.avg_pool2d(f, 2)))
        g = F.relu(self.coarse(F.avg_pool2d(m, 2)))
        up = F.interpolate(g, scale_factor=4.0, mode="nearest")
        return self.head(torch.cat([f, up], dim=1))


def make_fixture_bundle(path: str | Path, seed: int = 0) -> Path:
    """Write the fixture bundle (deterministic for a seed) to ``path`` and return it."""
    torch.manual_seed(seed)
    spec = REFERENCE_2018_SPEC
    net = FixtureNet()
    with torch.no_grad():  # larger weights so that classes vary across realistic reflectances
        for p in net.parameters():
            p.mul_(3.0)
    mean = [0.05, 0.07, 0.06, 0.25] * 7
    std = [0.03, 0.03, 0.04, 0.1] * 7
    module = InferenceModule(net, 7, 4, mean, std, spec.day_of_year().tolist()).eval()
    meta = BundleMetadata(
        model_name="fixture_unet",
        model_version=f"test-seed{seed}",
        spec=spec,
        classes=load_class_table(),
        receptive_field=RECEPTIVE_FIELD,
        downsampling_factor=DOWNSAMPLING,
        halo=halo_for(RECEPTIVE_FIELD, DOWNSAMPLING),
        normalisation={"kind": "standardize", "mean": mean, "std": std},
        parameters=sum(p.numel() for p in net.parameters()),
    )
    save_bundle(torch.jit.script(module), meta, path)
    return Path(path)


if __name__ == "__main__":
    for i, out in enumerate(sys.argv[1:]):
        make_fixture_bundle(out, seed=i)

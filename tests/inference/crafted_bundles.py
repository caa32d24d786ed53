"""Crafted bad bundles, made from the fixture bundle, for the Python tests and the C++ ABI test.

    python tests/inference/crafted_bundles.py FIXTURE.pt OUT_DIR

writes the bundles into OUT_DIR and ``OUT_DIR/manifest.txt``, one ``<stage> <file>`` line each: ``open``
when opening must fail, ``classify`` when opening succeeds (the file and metadata are honest) but the
module breaks its output contract, so classifying must fail before anything is written.
"""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cropcube.bundle import load_bundle, save_bundle
from cropcube.bundle.metadata import METADATA_FILE

BROKEN_OUTPUTS = ("fewer_channels", "more_channels", "smaller", "integer", "three_d")


def resave(
    src: Path,
    dst: Path,
    edit_module: Callable[[torch.jit.ScriptModule], None] | None = None,
    edit_metadata: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """The bundle re-saved with its module and/or metadata edited, the stored content hash kept."""
    extra = {METADATA_FILE: ""}
    module = torch.jit.load(str(src), _extra_files=extra)
    text = extra[METADATA_FILE]
    if edit_module is not None:
        with torch.no_grad():
            edit_module(module)
    if edit_metadata is not None:
        d = json.loads(text)
        edit_metadata(d)
        text = json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    torch.jit.save(module, str(dst), _extra_files={METADATA_FILE: text})
    return dst


def scale_first_weight(module: torch.jit.ScriptModule) -> None:
    next(iter(module.parameters())).mul_(-1000.0)


class Broken(nn.Module):
    """The fixture module with its output cut or grown; its metadata and hash stay honest otherwise."""

    def __init__(self, inner: torch.jit.ScriptModule, how: str) -> None:
        super().__init__()
        self.inner = inner
        self.n_dates, self.n_bands, self.nodata = inner.n_dates, inner.n_bands, inner.nodata
        self.register_buffer("doy", inner.doy.clone())
        self.how = how

    def forward(self, x: Tensor) -> Tensor:
        y = self.inner(x)
        if self.how == "fewer_channels":
            return y[:, :-1]
        if self.how == "more_channels":
            return torch.cat([y, y[:, :1]], dim=1)
        if self.how == "smaller":
            return y[:, :, :-1, :-1]
        if self.how == "integer":
            return y.round().to(torch.int64)
        return y[0]  # "three_d"


def broken_bundle(src: Path, dst: Path, how: str) -> Path:
    """A correctly hashed bundle whose module's output breaks the contract its metadata declares."""
    bundle = load_bundle(src)
    save_bundle(torch.jit.script(Broken(bundle.module, how)), bundle.metadata, dst)
    return dst


def _damaged_zips(src: Path, out: Path) -> dict[str, Path]:
    data = src.read_bytes()
    foreign = out / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("hello.txt", "not a model")
    files = {
        "truncated": data[: len(data) // 2],
        "tail_cut": data[:-10],
        "empty": b"",
        "text": b"a text file\n",
    }
    paths = {"foreign_zip": foreign}
    for name, content in files.items():
        paths[name] = out / f"{name}.pt"
        paths[name].write_bytes(content)
    return paths


def craft_all(src: Path, out: Path) -> list[tuple[str, Path]]:
    """Every crafted bundle with the stage that must refuse it."""
    out.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, Path]] = [("open", p) for p in _damaged_zips(src, out).values()]
    rows += [
        ("open", resave(src, out / "weights_scaled.pt", edit_module=scale_first_weight)),
        ("open", resave(src, out / "halo_changed.pt", edit_metadata=lambda d: d["model"].update(halo=0))),
        ("open", resave(src, out / "format_9.pt", edit_metadata=lambda d: d.update(format_version=9))),
        ("open", resave(src, out / "not_cropcube.pt", edit_metadata=lambda d: d.update(format="other"))),
    ]
    rows += [("classify", broken_bundle(src, out / f"{how}.pt", how)) for how in BROKEN_OUTPUTS]
    return rows


if __name__ == "__main__":
    fixture, folder = Path(sys.argv[1]), Path(sys.argv[2])
    lines = [f"{stage} {path}" for stage, path in craft_all(fixture, folder)]
    (folder / "manifest.txt").write_text("\n".join(lines) + "\n")

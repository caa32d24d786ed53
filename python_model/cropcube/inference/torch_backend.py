"""The pure-Python (torch) path: the same tiling plan and results contract as the C++ kernel."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from cropcube.bundle import Bundle
from cropcube.errors import InputError
from cropcube.inference.cpu_load import free_cpus
from cropcube.inference.result import ClassMaps
from cropcube.tiling import Tile, effective_tile_size, plan_tiles

_SCAN_ROWS = 256  # rows per chunk when scanning for NaN/inf (bounded scratch memory)


def check_values(view: npt.NDArray[Any], refuse_nonfinite: bool) -> None:
    """Refuse negative digital numbers, and NaN/inf when ``refuse_nonfinite``, in a (K, H, W) view.

    The error names the count and the first position (the kernel's rule and wording).
    """
    if view.dtype.kind not in "fi":
        return  # unsigned: nothing to refuse
    rules = [("NaN/inf", lambda v: ~np.isfinite(v))] if refuse_nonfinite and view.dtype.kind == "f" else []
    rules.append(("negative", lambda v: v < 0))  # NaN < 0 is False: non-finite values are the other rule's
    for name, is_bad in rules:
        count, first = 0, None
        for r0 in range(0, view.shape[1], _SCAN_ROWS):
            bad = is_bad(view[:, r0 : r0 + _SCAN_ROWS])
            n = int(bad.sum())
            if n and first is None:
                row, col, ch = np.argwhere(bad.transpose(1, 2, 0))[0]  # first in row-major pixel order
                first = (int(row) + r0, int(col), int(ch))
            count += n
        if first is not None:
            row, col, ch = first
            hint = (
                "digital numbers must be >= 0"
                if name == "negative"
                else "use nonfinite='nodata' to treat such pixels as nodata"
            )
            where = f"the first at row {row} col {col} (channel {ch})"
            raise InputError("cube", f"{count} {name} values, {where}; {hint}")


def _batches(tiles: Iterable[Tile], batch_size: int) -> Iterator[list[Tile]]:
    batch: list[Tile] = []
    for t in tiles:
        if batch and (len(batch) == batch_size or t.batch_key != batch[0].batch_key):
            yield batch
            batch = []
        batch.append(t)
    if batch:
        yield batch


@dataclass(frozen=True)
class ModuleFacts:
    """A module (raw DN in, logits out) and what tiling it needs: a bundle's, or one in training."""

    module: Callable[..., torch.Tensor]  # (x) or (x, doy)
    halo: int
    downsampling_factor: int
    nodata: float
    num_classes: int

    @classmethod
    def of(cls, bundle: Bundle) -> ModuleFacts:
        """The facts of a loaded bundle."""
        meta = bundle.metadata
        return cls(bundle.module, meta.halo, meta.downsampling_factor, float(meta.spec.nodata),
                   meta.classes.num_classes)  # fmt: skip


class TorchRunner:
    """Tiled inference with a loaded bundle in this process.

    Args:
        bundle: the loaded bundle, or a module in memory with its facts (:class:`ModuleFacts`).
        device: torch device of the module.
        tile_size: core edge (0 = default), rounded up to the downsampling factor.
        batch_size: tiles per forward pass (0 = 1 on CPU, 4 on CUDA).
        nonfinite: ``"error"`` or ``"nodata"`` for NaN/inf in float input.
        threads: CPU intra-op threads; 0 = the CPUs free before each batch (:mod:`.cpu_load`), at most
            the caller's torch thread count.
    """

    def __init__(
        self,
        bundle: Bundle | ModuleFacts,
        device: torch.device,
        tile_size: int = 0,
        batch_size: int = 0,
        nonfinite: str = "error",
        threads: int = 0,
    ) -> None:
        if nonfinite not in ("error", "nodata"):
            raise InputError("nonfinite", f"{nonfinite!r} is not 'error' or 'nodata'")
        facts = bundle if isinstance(bundle, ModuleFacts) else ModuleFacts.of(bundle)
        self.bundle_name = "module" if isinstance(bundle, ModuleFacts) else str(bundle.path)
        self.module = facts.module
        self.device = device
        self.tile_size = effective_tile_size(tile_size, facts.downsampling_factor)
        self.halo = facts.halo
        self.factor = facts.downsampling_factor
        self.batch_size = batch_size or (4 if device.type == "cuda" else 1)
        self.nonfinite = nonfinite
        self.nodata = facts.nodata
        self.num_classes = facts.num_classes
        self.threads = threads

    def run(
        self,
        view: npt.NDArray[Any],
        confidence: bool = False,
        probabilities: bool = False,
        core: tuple[int, int, int, int] | None = None,
        doy: npt.NDArray[np.float32] | None = None,
    ) -> ClassMaps:
        """Classify a (K, H, W) image-order view (any strides); only its ``core`` window when given.

        ``doy``: day of year of each date (None: the module's default calendar).
        """
        check_values(view, refuse_nonfinite=self.nonfinite == "error")
        _, height, width = view.shape
        # Checked before any work, naming the core, like the kernel's core window.
        try:
            tiles = list(plan_tiles(height, width, self.tile_size, self.halo, factor=self.factor, area=core))
        except InputError as exc:
            raise InputError("core" if exc.what == "area" else exc.what, exc.problem) from None
        origin = (core[0], core[1]) if core is not None else (0, 0)
        h, w = (core[2], core[3]) if core is not None else (height, width)
        out = ClassMaps(classes=np.zeros((h, w), dtype=np.uint8))
        if confidence:
            out.confidence = np.zeros((h, w), dtype=np.uint8)
        if probabilities:
            out.probabilities = np.zeros((self.num_classes, h, w), dtype=np.float32)
        caller = torch.get_num_threads()
        size = self.device.type == "cpu" and self.threads == 0
        days = None if doy is None else torch.as_tensor(np.asarray(doy, np.float32), device=self.device)
        try:
            with torch.inference_mode():
                for batch in _batches(tiles, self.batch_size):
                    if size and (n := free_cpus(caller)) != torch.get_num_threads():
                        torch.set_num_threads(n)
                    self._run_batch(view, batch, out, origin, days)
        finally:
            if torch.get_num_threads() != caller:
                torch.set_num_threads(caller)
        return out

    def _checked_logits(self, result: Any, x: torch.Tensor) -> torch.Tensor:
        """The module's real output, held to the metadata and the input before anything is written."""
        want = (x.shape[0], self.num_classes, x.shape[2], x.shape[3])
        if isinstance(result, torch.Tensor):
            if result.is_floating_point() and tuple(result.shape) == want:
                return result
            got = f"{result.dtype} {tuple(result.shape)}"
        else:
            got = type(result).__name__
        problem = f"module output {got} does not match the bundle metadata (float logits {want})"
        raise InputError(self.bundle_name, problem)

    def _run_batch(
        self,
        view: npt.NDArray[Any],
        batch: list[Tile],
        out: ClassMaps,
        origin: tuple[int, int],
        doy: torch.Tensor | None = None,
    ) -> None:
        blocks = np.stack(
            [view[:, t.window_rows[0] : t.window_rows[1], t.window_cols[0] : t.window_cols[1]] for t in batch]
        ).astype(np.float32, copy=False)
        if self.nonfinite == "nodata" and blocks.dtype.kind == "f":
            bad = ~np.isfinite(blocks).all(axis=1, keepdims=True)
            blocks = np.where(bad, np.float32(self.nodata), blocks)
        rs, cs = batch[0].core_in_window
        x = torch.from_numpy(blocks).to(self.device, non_blocking=True)
        # Without dates the module's own default calendar applies (format-1 modules take no doy).
        result = self.module(x) if doy is None else self.module(x, doy)
        logits = self._checked_logits(result, x)[:, :, rs, cs].float()
        top, index = logits.max(dim=1)
        want_soft = out.confidence is not None or out.probabilities is not None
        lse = logits.logsumexp(dim=1) if want_soft else None
        index_np = (index + 1).to(torch.uint8).cpu().numpy()
        valid = (blocks[:, :, rs, cs] != self.nodata).any(axis=1)
        conf_np = probs_np = None
        if lse is not None:
            conf = (top - lse).exp().clamp(0, 1)
            conf_np = np.floor(conf.cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
            if out.probabilities is not None:
                probs_np = (logits - lse.unsqueeze(1)).exp().cpu().numpy()
        for i, t in enumerate(batch):
            (r0, r1), (c0, c1) = t.core_rows, t.core_cols
            dst = (slice(r0 - origin[0], r1 - origin[0]), slice(c0 - origin[1], c1 - origin[1]))
            out.classes[dst] = np.where(valid[i], index_np[i], 0)
            if out.confidence is not None and conf_np is not None:
                out.confidence[dst] = np.where(valid[i], conf_np[i], 0)
            if out.probabilities is not None and probs_np is not None:
                out.probabilities[(slice(None), *dst)] = np.where(valid[i], probs_np[i], 0.0)

"""`classify_file`: windowed streaming classification of a cube file into a class-map COG.

Memory stays bounded by one block (default 2048 x 2048 core pixels plus the halo) whatever the
scene size: blocks are read with rasterio, classified, and their cores written into a tiled work
file, which is finally turned into a Cloud-Optimized GeoTIFF (atomically).
"""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.shutil import copy as rio_copy
from rasterio.windows import Window
from tqdm import tqdm

from cropcube.errors import InputError
from cropcube.inference.classifier import Backend, Classifier
from cropcube.io import atomic_output
from cropcube.maps.quicklook import write_quicklook
from cropcube.tiling import Tile, plan_tiles

log = logging.getLogger(__name__)

DEFAULT_BLOCK_SIZE = 2048
"""Core block edge read per step (rounded to the kernel tile size)."""
VOTING_BLOCK_SIZE = 512
"""Smaller blocks when parcel voting needs the (K, rows, cols) probabilities of a block."""
QUICKLOOK_MAX_SIZE = 1024
_GDAL_ENV = {"GDAL_CACHEMAX": 256, "GDAL_NUM_THREADS": "ALL_CPUS"}  # bounded cache: bounded RSS


@dataclass
class ClassifySummary:
    """What :func:`classify_file` did.

    Attributes:
        input: the cube file.
        output: the class-map COG.
        confidence: the confidence COG, if written.
        quicklook: the PNG quicklook, if written.
        width: columns.
        height: rows.
        nodata_pixels: pixels with class 0.
        class_counts: class index -> pixel count (classes present only, nodata excluded).
        parcels: parcels voted (None without ``--parcels``).
        seconds: wall time of the whole job.
        pixels_per_second: width * height / seconds.
        backend: ``native`` or ``python``.
        device: ``cpu`` or ``cuda``.
        model: model name and version.
        content_hash: the bundle's content hash.
    """

    input: str
    output: str
    confidence: str | None
    quicklook: str | None
    width: int
    height: int
    nodata_pixels: int
    class_counts: dict[int, int] = field(default_factory=dict)
    parcels: int | None = None
    seconds: float = 0.0
    pixels_per_second: float = 0.0
    backend: str = ""
    device: str = ""
    model: str = ""
    content_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["class_counts"] = {str(k): v for k, v in self.class_counts.items()}
        return d

    def format(self, names: list[str] | None = None, top: int = 10) -> str:
        """A short human-readable report: sizes, speed and the most frequent classes."""
        lines = [
            f"classified {self.width} x {self.height} px in {self.seconds:.1f} s "
            f"({self.pixels_per_second / 1e6:.2f} Mpx/s, {self.backend} backend on {self.device}, "
            f"model {self.model})",
            f"output: {self.output}",
        ]
        for label, path in (("confidence", self.confidence), ("quicklook", self.quicklook)):
            if path:
                lines.append(f"{label}: {path}")
        if self.parcels is not None:
            lines.append(f"parcel voting over {self.parcels} parcels")
        total = max(sum(self.class_counts.values()), 1)
        lines.append(f"class 0 pixels (no data, or outside every parcel): {self.nodata_pixels}")
        shown = sorted(self.class_counts.items(), key=lambda kv: -kv[1])[:top]
        labels = [names[idx] if names and idx < len(names) else "" for idx, _ in shown]
        width = max((len(name) for name in labels), default=0)  # the longest BRP name sets the column
        for (idx, n), name in zip(shown, labels, strict=True):
            lines.append(f"  {idx:3d} {name:<{width}} {n:>10d} px {100 * n / total:5.1f} %")
        return "\n".join(lines)


def sibling_paths(output: str | Path) -> dict[str, Path]:
    """Files written beside the class map: ``<stem>_confidence.tif``, ``<stem>.png``, ``<stem>.json``."""
    out = Path(output)
    return {
        "confidence": out.with_name(f"{out.stem}_confidence{out.suffix or '.tif'}"),
        "quicklook": out.with_suffix(".png"),
        "summary": out.with_suffix(".json"),
    }


def _window(rows: tuple[int, int], cols: tuple[int, int]) -> Window:
    return Window(cols[0], rows[0], cols[1] - cols[0], rows[1] - rows[0])


def _work_profile(src: Any) -> dict[str, Any]:
    return {
        "driver": "GTiff",
        "width": src.width,
        "height": src.height,
        "count": 1,
        "dtype": "uint8",
        "crs": src.crs,
        "transform": src.transform,
        "nodata": 0,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }


def _to_cog(work: Path, output: Path) -> None:
    with atomic_output(output) as tmp:
        rio_copy(
            str(work),
            str(tmp),
            driver="COG",
            compress="DEFLATE",
            predictor="YES",
            blocksize=256,
            overview_resampling="nearest",
            BIGTIFF="IF_SAFER",
        )


def _parcel_ids(parcels: str | Path, grid: Any) -> npt.NDArray[np.int32]:
    from cropcube.readers.brp import rasterize_brp, read_brp_parcels

    _, ids, report = rasterize_brp(read_brp_parcels(parcels), grid)
    log.info("parcels: %s", report.summary())
    return ids


def _read_block(src: Any, indexes: list[int], tile: Tile) -> npt.NDArray[Any]:
    return np.asarray(src.read(indexes, window=_window(tile.window_rows, tile.window_cols)))


def classify_file(
    cube: str | Path,
    output: str | Path,
    model: str | os.PathLike[str] | None = None,
    parcels: str | Path | None = None,
    confidence: bool = False,
    quicklook: bool = True,
    device: str = "auto",
    backend: Backend = "auto",
    *,
    classifier: Classifier | None = None,
    tile_size: int = 0,
    threads: int = 0,
    block_size: int = 0,
    progress: bool = True,
    checkpoint_seconds: float = 60.0,
) -> ClassifySummary:
    """Classify a cube file (GeoTIFF/COG, 28 bands date-major) into a class-map COG.

    Writes ``output`` (uint8 COG, nodata 0, palette, overviews, class names in the metadata), and
    beside it ``<stem>_confidence.tif`` (with ``confidence``), ``<stem>.png`` (with ``quicklook``)
    and ``<stem>.json`` (the summary). Every file appears only when complete.

    Args:
        cube: the cube file.
        output: the class-map file to write.
        model: bundle path (see :class:`Classifier`).
        parcels: BRP GeoPackage; when given, every parcel gets the class with the highest mean
            probability over its pixels, and pixels outside every parcel get 0 ("no parcel").
        confidence: also write the confidence map.
        quicklook: also write the PNG quicklook with a legend.
        device: ``auto``, ``cpu`` or ``cuda``.
        backend: ``auto``, ``native`` or ``python``.
        classifier: an already open classifier (then model/device/backend/tile_size/threads are unused).
        tile_size: kernel core tile edge (0 = default); blocks are multiples of it.
        threads: CPU threads (0 = default).
        block_size: core block edge read from the file per step (0 = default).
        progress: show a progress bar.
        checkpoint_seconds: how often an interrupted run's progress is saved; running the same
            command again (same cube, model and options) resumes after the last checkpoint. Runs
            with ``parcels`` start over.

    Raises:
        InputError: unreadable cube, band count not matching the bundle, bad parcels, bad options.
    """
    from cropcube.readers import open_cube

    started = time.perf_counter()
    cube, output = Path(cube), Path(output)
    if output.resolve() == cube.resolve():
        raise InputError(str(output), "output would overwrite the input cube")
    clf = classifier or Classifier(
        model, backend=backend, device=device, threads=threads, tile_size=tile_size
    )
    meta = clf.metadata
    info = open_cube(cube)
    if info.count != meta.spec.n_channels:
        raise InputError(str(cube), f"{info.count} bands, but the model expects {meta.spec.n_channels}")
    if info.described and info.spec.dates != meta.spec.dates:
        log.warning(
            "%s: dates %s differ from the model's training dates %s", cube, info.spec.dates, meta.spec.dates
        )
    height, width = info.grid.shape
    ids = _parcel_ids(parcels, info.grid) if parcels is not None else None
    from cropcube.evaluation.voting import ParcelVoter

    voter = ParcelVoter(meta.classes.num_classes) if ids is not None else None
    tile = clf.tile_size
    block = max(tile, (block_size or (VOTING_BLOCK_SIZE if voter else DEFAULT_BLOCK_SIZE)) // tile * tile)
    blocks = list(plan_tiles(height, width, block, meta.halo))
    paths = sibling_paths(output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(str(output), f"cannot create the output folder ({exc.strerror})") from None
    if not os.access(output.parent, os.W_OK):
        raise InputError(str(output), "output folder is not writable")
    work = output.with_name(f".{output.name}.work.tif")
    work_conf = output.with_name(f".{output.name}.work_confidence.tif")
    state_path = output.with_name(f".{output.name}.work.json")
    stat = cube.stat()
    resume_key = {
        "cube": str(cube.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "model": meta.content_hash,
        "block": block,
        "halo": meta.halo,
        "confidence": confidence,
    }
    run = _BlockRun(clf, blocks, work, work_conf if confidence else None, voter, ids, progress)
    succeeded = False
    try:
        with rasterio.Env(**_GDAL_ENV), rasterio.open(cube) as src:
            counts = run.classify(src, list(info.band_indexes), state_path, resume_key, checkpoint_seconds)
            if voter is not None and ids is not None:
                counts = _apply_votes(work, voter, ids, blocks, work_conf if confidence else None)
        with rasterio.Env(**_GDAL_ENV):
            _to_cog(work, output)
            if confidence:
                _to_cog(work_conf, paths["confidence"])
            if quicklook:
                with rasterio.open(output) as ds:
                    scale = max(1.0, max(height, width) / QUICKLOOK_MAX_SIZE)
                    small = ds.read(
                        1, out_shape=(max(1, round(height / scale)), max(1, round(width / scale)))
                    )
                write_quicklook(
                    paths["quicklook"], small, meta.classes, title=f"{cube.name} - {meta.model_name}"
                )
        succeeded = True
    finally:
        # Keep the work files of an interrupted run only when a checkpoint says how far it got.
        if succeeded or not state_path.exists():
            for p in (work, work_conf, state_path):
                p.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    summary = ClassifySummary(
        input=str(cube),
        output=str(output),
        confidence=str(paths["confidence"]) if confidence else None,
        quicklook=str(paths["quicklook"]) if quicklook else None,
        width=width,
        height=height,
        nodata_pixels=int(counts[0]),
        class_counts={int(i): int(n) for i, n in enumerate(counts) if i > 0 and n > 0},
        parcels=len(voter.result()) if voter is not None else None,
        seconds=seconds,
        pixels_per_second=width * height / seconds,
        backend=clf.backend,
        device=clf.device,
        model=f"{meta.model_name} {meta.model_version}",
        content_hash=meta.content_hash,
    )
    with atomic_output(paths["summary"]) as tmp:
        tmp.write_text(json.dumps(summary.to_dict(), indent=2), encoding="utf-8")
    return summary


class _nullwriter:  # noqa: N801  (a context manager standing in for a dataset that is not written)
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _describe(dst: Any, clf: Classifier, description: str, palette: bool = True) -> None:
    meta = clf.metadata
    dst.set_band_description(1, description)
    if palette:
        dst.write_colormap(1, meta.classes.palette())
    dst.update_tags(
        CROPCUBE_MODEL=f"{meta.model_name} {meta.model_version}",
        CROPCUBE_MODEL_HASH=meta.content_hash,
        CROPCUBE_CLASSES=json.dumps(
            {
                str(c.index): {"gewascode": c.gewascode, "name_nl": c.name_nl, "name_en": c.name_en}
                for c in meta.classes
            },
            ensure_ascii=False,
        ),
        CROPCUBE_NODATA_CLASS="0",
    )


def _apply_votes(
    work: Path, voter: Any, ids: npt.NDArray[np.int32], blocks: list[Tile], work_conf: Path | None
) -> npt.NDArray[np.int64]:
    """Give each parcel its voted class; pixels outside every parcel become 0 ("no parcel")."""
    counts = np.zeros(256, dtype=np.int64)
    with (
        rasterio.open(work, "r+") as ds,
        rasterio.open(work_conf, "r+") if work_conf else _nullwriter() as cds,
    ):
        for b in blocks:
            w = _window(b.core_rows, b.core_cols)
            block_ids = ids[slice(*b.core_rows), slice(*b.core_cols)]
            voted = voter.apply(ds.read(1, window=w), block_ids)
            outside = block_ids == 0
            voted[outside] = 0
            ds.write(voted, 1, window=w)
            if cds is not None:
                conf = cds.read(1, window=w)
                conf[outside] = 0
                cds.write(conf, 1, window=w)
            counts += np.bincount(voted.ravel(), minlength=256)
    return counts


class _BlockRun:
    """The block loop of :func:`classify_file`, resumable from checkpoints."""

    def __init__(
        self,
        clf: Classifier,
        blocks: list[Tile],
        work: Path,
        work_conf: Path | None,
        voter: Any,
        ids: npt.NDArray[np.int32] | None,
        progress: bool,
    ) -> None:
        self.clf, self.blocks, self.work, self.work_conf = clf, blocks, work, work_conf
        self.voter, self.ids, self.progress = voter, ids, progress

    def _done_before(self, state_path: Path, key: dict[str, Any]) -> set[int]:
        if (
            self.voter is not None
            or not self.work.exists()
            or (self.work_conf and not self.work_conf.exists())
        ):
            return set()
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        if state.get("key") != key:
            return set()
        done = {int(i) for i in state.get("done", []) if 0 <= int(i) < len(self.blocks)}
        log.warning("resuming: %d of %d blocks were done by an earlier run", len(done), len(self.blocks))
        return done

    def classify(
        self, src: Any, indexes: list[int], state_path: Path, key: dict[str, Any], checkpoint_seconds: float
    ) -> npt.NDArray[np.int64]:
        """Classify every block not done yet into the work file(s); return the class counts."""
        done = self._done_before(state_path, key)
        if not done:
            state_path.unlink(missing_ok=True)  # a stale checkpoint of another run
        counts = np.zeros(256, dtype=np.int64)
        bar = tqdm(total=src.width * src.height, unit="px", unit_scale=True, disable=not self.progress)
        if done:
            with rasterio.open(self.work) as ds:
                for i in sorted(done):
                    b = self.blocks[i]
                    counts += np.bincount(
                        ds.read(1, window=_window(b.core_rows, b.core_cols)).ravel(), minlength=256
                    )
                    bar.update(_pixels(b))
        todo = [i for i in range(len(self.blocks)) if i not in done]
        fresh, pos = not done, 0
        profile = _work_profile(src)
        while fresh or pos < len(todo):
            # Each segment closes the work files (GDAL flushes on close) before the checkpoint is saved.
            kw = profile if fresh else {}
            mode = "w" if fresh else "r+"
            with (
                rasterio.open(self.work, mode, **kw) as dst,
                rasterio.open(self.work_conf, mode, **kw) if self.work_conf else _nullwriter() as cdst,
            ):
                fresh, started = False, time.monotonic()
                # One reader thread fetches (and decompresses) the next block while this one is
                # classified; only that thread touches ``src``, so no dataset is shared across threads.
                with ThreadPoolExecutor(max_workers=1) as reader:

                    def fetch(i: int) -> Future[npt.NDArray[Any]]:
                        return reader.submit(_read_block, src, indexes, self.blocks[todo[i]])

                    ahead = fetch(pos) if pos < len(todo) else None
                    while ahead is not None:
                        b = self.blocks[todo[pos]]
                        block = ahead.result()
                        more = pos + 1 < len(todo) and time.monotonic() - started < checkpoint_seconds
                        ahead = fetch(pos + 1) if more else None
                        counts += self._one_block(block, b, dst, cdst)
                        done.add(todo[pos])
                        pos += 1
                        bar.update(_pixels(b))
                if pos == len(todo):
                    _describe(dst, self.clf, "crop class index (0 = no data)")
                    if cdst is not None:
                        _describe(
                            cdst,
                            self.clf,
                            "confidence: round(255 * max class probability), 0 = no data",
                            False,
                        )
            if self.voter is None:
                with atomic_output(state_path) as tmp:
                    tmp.write_text(json.dumps({"key": key, "done": sorted(done)}), encoding="utf-8")
        bar.close()
        return counts

    def _one_block(self, block: npt.NDArray[Any], b: Tile, dst: Any, cdst: Any) -> npt.NDArray[np.int64]:
        voting = self.voter is not None and self.ids is not None
        maps = self.clf.run(block, confidence=cdst is not None, probabilities=voting)
        core, window = b.core_in_window, _window(b.core_rows, b.core_cols)
        classes = maps.classes[core]
        dst.write(classes, 1, window=window)
        if cdst is not None and maps.confidence is not None:
            cdst.write(maps.confidence[core], 1, window=window)
        if voting and maps.probabilities is not None and self.ids is not None:
            self.voter.add(
                maps.probabilities[(slice(None), *core)], self.ids[slice(*b.core_rows), slice(*b.core_cols)]
            )
        return np.bincount(classes.ravel(), minlength=256).astype(np.int64)


def _pixels(b: Tile) -> int:
    return (b.core_rows[1] - b.core_rows[0]) * (b.core_cols[1] - b.core_cols[0])

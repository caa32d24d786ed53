"""`classify_file`: a cube file in, a class-map COG and its products out, as a phased job.

1. **plan** (:func:`plan_file_job`): every argument is checked before any work starts: the cube (a
   readable raster on the grid the bundle was trained for), the output paths (files, writable, none of
   them an input), the parcels (readable, overlapping the cube).
2. **classify** (:class:`BlockRun`): blocks of the cube (default 2048 x 2048 core pixels plus the
   halo) are read with rasterio, classified, and their cores written into a tiled work file; memory
   stays bounded by one block whatever the scene size. Checkpoints make an interrupted run resumable.
3. **vote** (with parcels): every parcel gets the class with the highest mean probability.
4. **check**: the class indices the model produced lie within the bundle's classes.
5. **publish** (:data:`PRODUCTS`): each product (class-map COG, confidence COG, quicklook, summary)
   is written under a temporary name, and only when all are complete are they renamed into place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window
from tqdm import tqdm

from cropcube.bundle import BundleMetadata
from cropcube.calendar import cube_dates
from cropcube.errors import InputError
from cropcube.inference.classifier import Classifier
from cropcube.inference.map_rule import clear_non_cropland
from cropcube.inference.options import InferenceOptions
from cropcube.inference.result import ClassMaps
from cropcube.io import atomic_output, exclusive_output, publication, require_file, require_output_file
from cropcube.io.atomic import Publication
from cropcube.io.geotiff import copy_to_cog, describe, tiled_profile
from cropcube.maps.cropland import cropland_mask
from cropcube.maps.gis import CLASS_OVERVIEW_RESAMPLING, sidecar_paths
from cropcube.maps.palette import map_colours
from cropcube.maps.parcels import ParcelRun, ParcelTable, VectorFormat, parcel_table_paths
from cropcube.maps.products import write_gis_sidecars, write_parcel_products, write_stac_item
from cropcube.maps.provenance import synthetic_model_warning, training_tag
from cropcube.maps.stac import stac_path
from cropcube.readers import CubeInfo, open_cube
from cropcube.readers.cube import open_cube_with_dates
from cropcube.readers.grid import require_model_grid
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
        products: product name -> file, for every file published (class map included).
        class_names: class index -> English name, for the classes present.
        warnings: what the user must know about this map (e.g. a synthetic-only model on real data).
        parcel_agreement: with parcels, parcels per agreement outcome (agree, disagree, ...).
        parcel_report: with parcels, the agreement report (:meth:`ParcelTable.format`).
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
    products: dict[str, str] = field(default_factory=dict)
    class_names: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    parcel_agreement: dict[str, int] = field(default_factory=dict)
    parcel_report: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["class_counts"] = {str(k): v for k, v in self.class_counts.items()}
        d["class_names"] = {str(k): v for k, v in self.class_names.items()}
        return d

    def format(self, names: list[str] | None = None, top: int = 10) -> str:
        """A short human-readable report: sizes, speed and the most frequent classes.

        Args:
            names: class names indexed by class index (default: :attr:`class_names`).
            top: how many classes to list.
        """
        lines = [
            f"classified {self.width} x {self.height} px in {self.seconds:.1f} s "
            f"({self.pixels_per_second / 1e6:.2f} Mpx/s, {self.backend} backend on {self.device}, "
            f"model {self.model})",
            f"output: {self.output}",
        ]
        for label, path in (("confidence", self.confidence), ("quicklook", self.quicklook)):
            if path:
                lines.append(f"{label}: {path}")
        listed = {self.output, self.confidence, self.quicklook}
        also = [Path(p).name for p in self.products.values() if p not in listed]
        if also:
            lines.append(f"also: {', '.join(also)}")
        if self.parcels is not None:
            lines.append(f"parcel voting over {self.parcels} parcels")
        if self.parcel_report:
            lines.append(self.parcel_report)
        total = max(sum(self.class_counts.values()), 1)
        lines.append(f"class 0 pixels (no data, not cropland, outside every parcel): {self.nodata_pixels}")
        shown = sorted(self.class_counts.items(), key=lambda kv: -kv[1])[:top]
        if names is None:
            labels = [self.class_names.get(idx, "") for idx, _ in shown]
        else:
            labels = [names[idx] if idx < len(names) else "" for idx, _ in shown]
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


def _pixels(b: Tile) -> int:
    return (b.core_rows[1] - b.core_rows[0]) * (b.core_cols[1] - b.core_cols[0])


# -- phase 1: plan ---------------------------------------------------------------------------------


@dataclass
class FileJob:
    """A planned :func:`classify_file` run: checked inputs, the block plan, the work files.

    Attributes:
        cube: the cube file.
        output: the class-map COG to publish.
        clf: the classifier (anything with ``metadata``, ``run``, ``tile_size``, ``backend``,
            ``device`` and ``model_path``).
        info: the cube's header facts.
        blocks: the block plan (core + halo per block).
        confidence: also publish the confidence COG.
        quicklook: also publish the PNG quicklook.
        progress: show a progress bar.
        parcel_ids: parcel id per cube pixel (0 = none) when voting, else None.
        voter: the parcel voter when voting, else None.
        parcel_run: the parcels, their ids, the voter and the per-parcel tally (with parcels).
        parcel_format: format of the per-parcel table (``gpkg`` or ``parquet``).
        cropland: cropland mask on the cube's grid (without parcels, from ``mask``), else None.
        warnings: what the user must know about this map (a synthetic-only model on real data).
    """

    cube: Path
    output: Path
    clf: Any
    info: CubeInfo
    blocks: list[Tile]
    confidence: bool
    quicklook: bool
    progress: bool
    parcel_ids: npt.NDArray[np.int32] | None = None
    voter: Any = None
    parcel_run: ParcelRun | None = None
    parcel_format: VectorFormat = "gpkg"
    cropland: npt.NDArray[np.bool_] | None = None
    warnings: list[str] = field(default_factory=list)
    doy: npt.NDArray[np.float32] | None = None

    @property
    def metadata(self) -> BundleMetadata:
        """The bundle's metadata."""
        meta: BundleMetadata = self.clf.metadata
        return meta

    @property
    def work(self) -> Path:
        """The tiled work file the class blocks are written into."""
        return self.output.with_name(f".{self.output.name}.work.tif")

    @property
    def work_confidence(self) -> Path | None:
        """The confidence work file, when confidence is asked for."""
        return self.output.with_name(f".{self.output.name}.work_confidence.tif") if self.confidence else None

    @property
    def state(self) -> Path:
        """The checkpoint: which blocks are done, and for which inputs."""
        return self.output.with_name(f".{self.output.name}.work.json")

    def resume_key(self) -> dict[str, Any]:
        """What must be unchanged for a later run to resume this one."""
        stat = self.cube.stat()
        return {
            "cube": str(self.cube.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "model": self.metadata.content_hash,
            "block": self.blocks[0].core_rows[1] - self.blocks[0].core_rows[0] if self.blocks else 0,
            "blocks": len(self.blocks),
            "halo": self.metadata.halo,
            "confidence": self.confidence,
            "doy": None if self.doy is None else [float(v) for v in self.doy],
        }

    def remove_work_files(self) -> None:
        """Remove the work files and the checkpoint."""
        for p in (self.work, self.work_confidence, self.state):
            if p is not None:
                p.unlink(missing_ok=True)


def _check_output_paths(output: Path, inputs: list[Path | None], confidence: bool, quicklook: bool) -> None:
    siblings = sibling_paths(output)
    require_output_file(output, inputs, "output")
    if output.suffix.lower() not in (".tif", ".tiff"):
        raise InputError(str(output), "the class map is a GeoTIFF: give an output ending in .tif or .tiff")
    wanted = {"summary": True, "confidence": confidence, "quicklook": quicklook}
    for name, path in siblings.items():
        if wanted[name]:
            require_output_file(path, inputs, f"{name} output (written beside {output.name})")


def _check_map_outputs(output: Path, fmt: VectorFormat | None, inputs: list[Path | None]) -> None:
    """The map products beside ``output`` (sidecars, STAC Item, with parcels the parcel table)."""
    sidecars = sidecar_paths(output)
    paths = {"GDAL metadata": sidecars.aux_xml, "QGIS style": sidecars.qml, "STAC Item": stac_path(output)}
    if fmt is not None:
        paths.update(parcel_table_paths(output, fmt))
    for name, path in paths.items():
        require_output_file(path, inputs, f"{name} output (written beside {output.name})")


def plan_file_job(
    cube: str | Path,
    output: str | Path,
    make_classifier: Callable[[], Any],
    parcels: str | Path | None = None,
    confidence: bool = False,
    quicklook: bool = True,
    block_size: int = 0,
    progress: bool = True,
    model: str | os.PathLike[str] | None = None,
    mask: str | Path | None = None,
    parcel_format: VectorFormat = "gpkg",
    dates: Sequence[dt.date] | None = None,
) -> FileJob:
    """Phase 1: check every input and output, then plan the blocks. Nothing is written.

    The cheap checks (file kinds, output paths, the cube's header) come before the model is loaded,
    and the model's grid facts before the parcels are rasterised.

    Raises:
        InputError: naming the input and the problem.
    """
    cube, output = Path(cube), Path(output)
    parcels_path = Path(parcels) if parcels is not None else None
    require_file(cube, "cube")
    if parcels_path is not None:
        require_file(parcels_path, "parcels GeoPackage")
    if mask is not None:
        require_file(Path(mask), "cropland mask")
    model_input = Path(model) if model is not None else None
    if model_input is not None:
        require_file(model_input, "model bundle")
    _check_output_paths(output, [cube, parcels_path, model_input], confidence, quicklook)
    fmt = parcel_format if parcels_path is not None else None
    _check_map_outputs(output, fmt, [cube, parcels_path, model_input, Path(mask) if mask else None])
    info = open_cube(cube) if dates is None else open_cube_with_dates(cube, dates)
    if block_size < 0:
        raise InputError("block_size", f"{block_size} must be 0 (default) or positive")
    clf = make_classifier()
    meta: BundleMetadata = clf.metadata
    require_model_grid(info.grid, meta.spec, str(cube), str(clf.model_path))
    if meta.calendar is None and info.count != meta.spec.n_channels:
        raise InputError(str(cube), f"{info.count} bands, but the model expects {meta.spec.n_channels}")
    if info.described and info.spec.bands != meta.spec.bands:
        raise InputError(
            str(cube), f"bands {list(info.spec.bands)}, but the model expects {list(meta.spec.bands)}"
        )
    found = info.spec.dates if info.described else None
    known = cube_dates(meta, info.count, found, dates, str(cube), info.descriptions)
    if known.warning:
        log.warning("%s", known.warning)
    with rasterio.open(cube) as src:
        warning = synthetic_model_warning(meta, cube, src.tags())
    if warning:
        log.warning("%s", warning)
    num = meta.classes.num_classes
    parcel_run = ParcelRun.plan(parcels_path, info.grid, num, f"the cube {cube}") if parcels_path else None
    cropland = cropland_mask(mask, info.grid) if mask is not None and parcel_run is None else None
    ids = parcel_run.ids if parcel_run is not None else None
    voter = parcel_run.voter if parcel_run is not None else None
    tile = clf.tile_size
    block = max(tile, (block_size or (VOTING_BLOCK_SIZE if voter else DEFAULT_BLOCK_SIZE)) // tile * tile)
    height, width = info.grid.shape
    blocks = list(plan_tiles(height, width, block, meta.halo, factor=meta.downsampling_factor))
    warnings = [w for w in (warning, known.warning) if w]  # dates assumed or ignored: said after the report
    return FileJob(cube, output, clf, info, blocks, confidence, quicklook, progress, ids, voter, parcel_run,
                   parcel_format, cropland, warnings, known.doy)  # fmt: skip


# -- phase 2: classify the blocks (resumable) -------------------------------------------------------


def _read_block(src: Any, indexes: list[int], tile: Tile, where: str) -> npt.NDArray[Any]:
    try:
        return np.asarray(src.read(indexes, window=_window(tile.window_rows, tile.window_cols)))
    except RasterioError as exc:
        rows, cols = tile.window_rows, tile.window_cols
        raise InputError(
            where, f"cannot read pixels of rows {rows[0]}..{rows[1]}, columns {cols[0]}..{cols[1]} "
            f"(truncated or corrupt file?): {exc}",
        ) from None  # fmt: skip


def _describe_maps(dst: Any, meta: BundleMetadata, description: str, palette: bool) -> None:
    tags = {
        "CROPCUBE_MODEL": f"{meta.model_name} {meta.model_version}",
        "CROPCUBE_MODEL_HASH": meta.content_hash,
        "CROPCUBE_CLASSES": json.dumps(
            {
                str(c.index): {"gewascode": c.gewascode, "name_nl": c.name_nl, "name_en": c.name_en}
                for c in meta.classes
            },
            ensure_ascii=False,
        ),
        "CROPCUBE_NODATA_CLASS": "0",
        **training_tag(meta),
    }
    describe(dst, [description], map_colours(meta.classes).palette() if palette else None, tags)


class _Ticker:
    """Moves a progress bar while a kernel call runs, at the rate the previous calls ran.

    The kernel reports nothing until a call returns, and a 2048-px block takes tens of seconds: the
    bar advances by the estimate every half second, never beyond 95 % of the call's pixels, and is
    set to the exact count when the call returns. No estimate (the job's first call): no movement.
    """

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.rate: float | None = None  # pixels per second of the calls so far

    @contextlib.contextmanager
    def running(self, pixels: int) -> Iterator[None]:
        started, moved, stop = time.monotonic(), 0, threading.Event()

        def tick() -> None:
            nonlocal moved
            while not stop.wait(0.5):
                if self.rate is not None:
                    target = min(int(self.rate * (time.monotonic() - started)), int(0.95 * pixels))
                    if target > moved:
                        self.bar.update(target - moved)
                        moved = target

        thread = threading.Thread(target=tick, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        self.bar.update(pixels - moved)
        seconds = time.monotonic() - started
        if seconds > 0:
            self.rate = pixels / seconds


class BlockRun:
    """Phase 2 of :func:`classify_file`: classify every block into the work file(s), resumably.

    Each checkpoint segment closes the work files (GDAL flushes on close) before the checkpoint
    records the blocks done; a later run with the same cube, bundle and options resumes after them.
    Runs with parcel voting start over (the voter's sums are not checkpointed).
    """

    def __init__(self, job: FileJob, checkpoint_seconds: float) -> None:
        self.job = job
        self.checkpoint_seconds = checkpoint_seconds
        self.key = job.resume_key()
        self.ticker = _Ticker(None)  # replaced by one on the bar when the run starts

    def _done_before(self) -> set[int]:
        job = self.job
        if job.voter is not None or not job.work.exists():
            return set()
        if job.work_confidence is not None and not job.work_confidence.exists():
            return set()
        try:
            state = json.loads(job.state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        if not isinstance(state, dict) or state.get("key") != self.key:
            return set()
        done = {int(i) for i in state.get("done", []) if 0 <= int(i) < len(job.blocks)}
        log.warning("resuming: %d of %d blocks were done by an earlier run", len(done), len(job.blocks))
        return done

    def _counts_of(self, done: set[int], bar: Any) -> npt.NDArray[np.int64]:
        counts = np.zeros(256, dtype=np.int64)
        if done:
            with rasterio.open(self.job.work) as ds:
                for i in sorted(done):
                    b = self.job.blocks[i]
                    window = _window(b.core_rows, b.core_cols)
                    counts += np.bincount(ds.read(1, window=window).ravel(), minlength=256)
                    bar.update(_pixels(b))
        return counts

    def run(self) -> npt.NDArray[np.int64]:
        """Classify every block not done yet; return the class counts (256 bins) of the whole map."""
        job = self.job
        done = self._done_before()
        if not done:
            job.state.unlink(missing_ok=True)  # a stale checkpoint of another run
        height, width = job.info.grid.shape
        with (
            rasterio.Env(**_GDAL_ENV),
            rasterio.open(job.cube) as src,
            tqdm(total=width * height, unit="px", unit_scale=True, disable=not job.progress) as bar,
        ):
            self.ticker = _Ticker(bar)
            counts = self._counts_of(done, bar)
            todo = [i for i in range(len(job.blocks)) if i not in done]
            fresh = not done
            while fresh or todo:
                counts += self._segment(src, todo, fresh, done, bar)
                fresh = False
        return counts

    def _open_work(self, path: Path | None, fresh: bool) -> Any:
        if path is None:
            return contextlib.nullcontext()
        if not fresh:
            return rasterio.open(path, "r+")
        grid = self.job.info.grid
        profile = tiled_profile(grid.width, grid.height, 1, "uint8", grid.crs, grid.transform, 0, tiled=True)
        return rasterio.open(path, "w", **profile)

    def _segment(
        self, src: Any, todo: list[int], fresh: bool, done: set[int], bar: Any
    ) -> npt.NDArray[np.int64]:
        """Classify blocks from ``todo`` (consumed) until the checkpoint interval is over."""
        job = self.job
        counts = np.zeros(256, dtype=np.int64)
        indexes, where = list(job.info.band_indexes), str(job.cube)
        with (
            self._open_work(job.work, fresh) as dst,
            self._open_work(job.work_confidence, fresh) as cdst,
            ThreadPoolExecutor(max_workers=1) as reader,
        ):
            # One reader thread fetches (and decompresses) the next block while this one is
            # classified; only that thread touches ``src``, so no dataset is shared across threads.
            def fetch(i: int) -> Future[npt.NDArray[Any]]:
                return reader.submit(_read_block, src, indexes, job.blocks[i], where)

            started = time.monotonic()
            ahead = fetch(todo[0]) if todo else None
            while ahead is not None:
                i = todo.pop(0)
                block = ahead.result()
                more = bool(todo) and time.monotonic() - started < self.checkpoint_seconds
                ahead = fetch(todo[0]) if more else None
                counts += self._one_block(block, job.blocks[i], dst, cdst)
                done.add(i)
            if not todo:
                _describe_maps(dst, job.metadata, "crop class index (0 = no data)", True)
                if cdst is not None:
                    _describe_maps(
                        cdst,
                        job.metadata,
                        "confidence: round(255 * max class probability), 0 = no data",
                        False,
                    )
        if job.voter is None:
            with atomic_output(job.state) as tmp:
                tmp.write_text(json.dumps({"key": self.key, "done": sorted(done)}), encoding="utf-8")
        return counts

    def _parts(self, b: Tile) -> list[tuple[int, int, int, int]]:
        """How a block's core is classified: one kernel call per part, a core window of the block.

        One part, except in the job's first block: its first row of kernel tiles goes first, so that
        its time gives the rate the progress bar moves at during the rest. Either way the kernel
        tiles the core from its origin, with the block's halo as context: one pass per tile.
        """
        tile = self.job.clf.tile_size
        rows, cols = b.core_in_window
        splits = [rows.start, rows.stop]
        if self.ticker.rate is None and rows.stop - rows.start > tile:
            splits.insert(1, rows.start + tile)
        return [(r0, cols.start, r1 - r0, cols.stop - cols.start) for r0, r1 in itertools.pairwise(splits)]

    def _classify_core(self, block: npt.NDArray[Any], b: Tile, confidence: bool) -> ClassMaps:
        """The maps of a block's core; the progress bar moves while the kernel runs (see :class:`_Ticker`)."""
        job, voting = self.job, self.job.parcel_run is not None
        rows, cols = b.core_in_window
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        out = ClassMaps(
            classes=np.zeros(shape, np.uint8),
            confidence=np.zeros(shape, np.uint8) if confidence else None,
            probabilities=np.zeros((job.metadata.classes.num_classes, *shape), np.float32)
            if voting
            else None,
        )
        for part in self._parts(b):
            try:
                with self.ticker.running(part[2] * part[3]):
                    maps = job.clf.run(
                        block, confidence=confidence, probabilities=voting, core=part, doy=job.doy
                    )
            except InputError as exc:  # the backends name "cube": name the file and the block instead
                (r0, r1), (c0, c1) = b.window_rows, b.window_cols
                where = f"block of rows {r0}..{r1}, columns {c0}..{c1} (positions below are within it)"
                raise InputError(str(job.cube), f"{where}: {exc.problem}") from None
            at = (slice(part[0] - rows.start, part[0] - rows.start + part[2]), slice(None))
            out.classes[at] = maps.classes
            if out.confidence is not None and maps.confidence is not None:
                out.confidence[at] = maps.confidence
            if out.probabilities is not None and maps.probabilities is not None:
                out.probabilities[(slice(None), *at)] = maps.probabilities
        return out

    def _one_block(self, block: npt.NDArray[Any], b: Tile, dst: Any, cdst: Any) -> npt.NDArray[np.int64]:
        job = self.job
        maps = self._classify_core(block, b, cdst is not None)
        core, window = b.core_in_window, _window(b.core_rows, b.core_cols)
        if job.parcel_run is None:  # without parcels: water, sealed land and the mask's outside are 0
            mask = (
                job.cropland[slice(*b.core_rows), slice(*b.core_cols)] if job.cropland is not None else None
            )
            maps = clear_non_cropland(maps, block[(slice(None), *core)], job.metadata.spec, mask)
        classes, confidence = maps.classes, maps.confidence
        dst.write(classes, 1, window=window)
        if cdst is not None and confidence is not None:
            cdst.write(confidence, 1, window=window)
        if maps.probabilities is not None and job.parcel_run is not None:
            job.parcel_run.add(b.core_rows, b.core_cols, maps.probabilities, classes)
        return np.bincount(classes.ravel(), minlength=256).astype(np.int64)


# -- phase 3: vote ----------------------------------------------------------------------------------


def vote(job: FileJob) -> npt.NDArray[np.int64]:
    """Give each parcel its voted class; pixels outside every parcel become 0 ("no parcel")."""
    assert job.parcel_run is not None
    counts = np.zeros(256, dtype=np.int64)
    with (
        rasterio.open(job.work, "r+") as ds,
        rasterio.open(job.work_confidence, "r+") if job.work_confidence else contextlib.nullcontext() as cds,
    ):
        for b in job.blocks:
            w = _window(b.core_rows, b.core_cols)
            voted = job.parcel_run.vote(b.core_rows, b.core_cols, ds.read(1, window=w))
            outside = voted == 0
            ds.write(voted, 1, window=w)
            if cds is not None:
                conf = cds.read(1, window=w)
                conf[outside] = 0
                cds.write(conf, 1, window=w)
            counts += np.bincount(voted.ravel(), minlength=256)
    return counts


# -- phase 4: check ---------------------------------------------------------------------------------


def check_classes(job: FileJob, counts: npt.NDArray[np.int64]) -> None:
    """The map holds only classes 0..K of the bundle; else the bundle is at fault, and says so."""
    k = job.metadata.classes.num_classes
    beyond = np.flatnonzero(counts[k + 1 :])
    if beyond.size:
        first = int(beyond[0]) + k + 1
        raise InputError(
            str(job.clf.model_path),
            f"the model wrote class index {first} ({int(counts[k + 1 :].sum())} pixels of {job.cube}) "
            f"but its metadata declares {k} classes: the bundle's module and metadata disagree; "
            "nothing was published",
        )


# -- phase 5: publish -------------------------------------------------------------------------------


@dataclass
class MapRun:
    """What the product writers of the publish phase see.

    Attributes:
        job: the planned job.
        counts: class index -> pixels of the final map (256 bins).
        class_map: the temporary path of the class-map COG (complete when the other products run).
        started: ``time.perf_counter()`` at the start of the job.
        written: product name -> destination, filled in by the writers.
        parcel_result: the per-parcel table (with parcels), filled in by its writer.
    """

    job: FileJob
    counts: npt.NDArray[np.int64]
    class_map: Path = Path()
    started: float = 0.0
    written: dict[str, Path] = field(default_factory=dict)
    parcel_result: ParcelTable | None = None


ProductWriter = Callable[[MapRun, Publication], None]
"""A product of the publish phase: stages its file(s) with ``pub.stage(dest)``, writes them, and
records them in ``run.written``; it must not publish anything itself."""


def write_class_map(run: MapRun, pub: Publication) -> None:
    """The class-map COG (uint8, nodata 0, palette, overviews by mode); renamed into place last."""
    run.class_map = pub.stage(run.job.output, last=True)
    copy_to_cog(run.job.work, run.class_map, CLASS_OVERVIEW_RESAMPLING)
    run.written["class_map"] = run.job.output


def write_confidence_map(run: MapRun, pub: Publication) -> None:
    """``<stem>_confidence.tif``: round(255 * max class probability), with ``confidence``."""
    if run.job.work_confidence is None:
        return
    dest = sibling_paths(run.job.output)["confidence"]
    copy_to_cog(run.job.work_confidence, pub.stage(dest), "nearest")
    run.written["confidence"] = dest


def write_quicklook_png(run: MapRun, pub: Publication) -> None:
    """``<stem>.png``: the map with a legend, at most :data:`QUICKLOOK_MAX_SIZE` px, with ``quicklook``."""
    from cropcube.maps.quicklook import render_quicklook

    job = run.job
    if not job.quicklook:
        return
    height, width = job.info.grid.shape
    scale = max(1.0, max(height, width) / QUICKLOOK_MAX_SIZE)
    with rasterio.open(run.class_map) as ds:
        small = ds.read(1, out_shape=(max(1, round(height / scale)), max(1, round(width / scale))))
    dest = sibling_paths(job.output)["quicklook"]
    title = f"{job.cube.name} - {job.metadata.model_name} {job.metadata.model_version}"
    render_quicklook(pub.stage(dest), small, map_colours(job.metadata.classes), title=title)
    run.written["quicklook"] = dest


def summarize(run: MapRun) -> ClassifySummary:
    """The job's :class:`ClassifySummary` (products as written so far)."""
    job, counts = run.job, run.counts
    height, width = job.info.grid.shape
    seconds = time.perf_counter() - run.started
    meta = job.metadata
    written = {name: str(path) for name, path in run.written.items()}
    class_counts = {int(i): int(n) for i, n in enumerate(counts) if i > 0 and n > 0}
    names = meta.classes.names()
    return ClassifySummary(
        input=str(job.cube),
        output=str(job.output),
        confidence=written.get("confidence"),
        quicklook=written.get("quicklook"),
        width=width,
        height=height,
        nodata_pixels=int(counts[0]),
        class_counts=class_counts,
        parcels=len(job.voter.result()) if job.voter is not None else None,
        seconds=seconds,
        pixels_per_second=width * height / max(seconds, 1e-9),
        backend=job.clf.backend,
        device=job.clf.device,
        model=f"{meta.model_name} {meta.model_version}",
        content_hash=meta.content_hash,
        products=written,
        class_names={i: names[i] for i in class_counts if i < len(names)},
        warnings=list(job.warnings),
        parcel_agreement=dict(run.parcel_result.counts()) if run.parcel_result is not None else {},
        parcel_report=run.parcel_result.format() if run.parcel_result is not None else "",
    )


def write_summary_json(run: MapRun, pub: Publication) -> None:
    """``<stem>.json``: the :class:`ClassifySummary` of the run."""
    dest = sibling_paths(run.job.output)["summary"]
    run.written["summary"] = dest
    pub.stage(dest).write_text(json.dumps(summarize(run).to_dict(), indent=2), encoding="utf-8")


PRODUCTS: list[ProductWriter] = [
    write_class_map,
    write_gis_sidecars,
    write_confidence_map,
    write_quicklook_png,
    write_parcel_products,
    write_stac_item,
    write_summary_json,
]
"""The publish phase, in order: the class map first (the others may read it), the summary last."""


def publish(job: FileJob, counts: npt.NDArray[np.int64], started: float) -> ClassifySummary:
    """Phase 5: write every product under a temporary name, then rename them all into place."""
    run = MapRun(job, counts, started=started)
    with rasterio.Env(**_GDAL_ENV), publication() as pub:
        for product in PRODUCTS:
            product(run, pub)
    return summarize(run)


# -- the job --------------------------------------------------------------------------------------


def classify_file(
    cube: str | Path,
    output: str | Path,
    model: str | os.PathLike[str] | None = None,
    parcels: str | Path | None = None,
    confidence: bool = False,
    quicklook: bool = True,
    *,
    classifier: Classifier | None = None,
    block_size: int = 0,
    progress: bool = True,
    checkpoint_seconds: float = 60.0,
    mask: str | Path | None = None,
    parcel_format: VectorFormat = "gpkg",
    dates: Sequence[dt.date] | None = None,
    options: InferenceOptions | None = None,
    **overrides: Any,
) -> ClassifySummary:
    """Classify a cube file (GeoTIFF/COG, bands date-major) into a class-map COG and its products.

    Publishes ``output`` (uint8 COG, nodata 0, palette, mode overviews, class names in the metadata)
    with its GDAL categories/RAT (``.aux.xml``) and QGIS style (``<stem>.qml``), and beside it
    ``<stem>_confidence.tif`` (with ``confidence``), ``<stem>.png`` (with ``quicklook``), with
    ``parcels`` the per-parcel table ``<stem>_parcels.gpkg`` (or ``.parquet``) and its summary
    ``<stem>_parcels_summary.csv``, the STAC Item ``<stem>.stac.json`` and ``<stem>.json`` (the
    summary); none of them appears unless all are complete (see docs/maps.md).

    Args:
        cube: the cube file.
        output: the class-map file to write (.tif); it must not be one of the inputs.
        model: bundle path (see :class:`Classifier`).
        parcels: BRP GeoPackage; when given, every parcel gets the class with the highest mean
            probability over its pixels, and pixels outside every parcel get 0 ("no parcel"). Parcels
            that cover no pixel of the cube are an error (the map would be all 0).
        confidence: also write the confidence map.
        quicklook: also write the PNG quicklook with a legend.
        classifier: an open classifier (then ``model`` and ``options`` are unused).
        block_size: core block edge read from the file per step (0 = default).
        progress: show a progress bar.
        checkpoint_seconds: how often an interrupted run's progress is saved; running the same
            command again (same cube, model and options) resumes after the last checkpoint. Runs
            with ``parcels`` start over.
        mask: without ``parcels``, a cropland mask (polygons, or a raster: non-zero = cropland) on any
            grid; pixels outside it get 0. Without parcels, pixels that are clearly not cropland
            (water, never green) get 0 too (:mod:`cropcube.maps.cropland`).
        parcel_format: ``gpkg`` or ``parquet`` (GeoParquet) for the per-parcel table.
        dates: the cube's acquisition dates (``--dates``) when its band descriptions carry none
            (they must agree when both are given); see :func:`cropcube.calendar.cube_dates`.
        options: the inference options, passed unchanged to :class:`Classifier`; blocks are
            multiples of the effective tile size.
        **overrides: single inference options on top of ``options`` (``backend="python"``, ...).

    Raises:
        InputError: naming the input: unreadable or truncated cube, a cube not on the bundle's grid
            (CRS/resolution) or with other bands, bad parcels, an output that is a directory or an
            input, a bundle whose module writes classes its metadata does not declare.
    """
    started = time.perf_counter()

    def make_classifier() -> Any:  # after the cheap checks
        return classifier or Classifier(model, options, **overrides)

    job = plan_file_job(
        cube, output, make_classifier, parcels, confidence, quicklook, block_size, progress, model,
        mask, parcel_format, dates,
    )  # fmt: skip
    job.output.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_output(job.output):
        try:
            counts = BlockRun(job, checkpoint_seconds).run()
            if job.voter is not None:
                counts = vote(job)
        except BaseException:
            if job.voter is not None or not job.state.exists():
                job.remove_work_files()  # nothing to resume from
            raise
        try:
            check_classes(job, counts)
        except InputError:
            job.remove_work_files()  # the bundle is at fault: a rerun must not resume its output
            raise
        summary = publish(job, counts, started)
        job.remove_work_files()
    return summary

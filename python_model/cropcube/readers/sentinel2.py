"""Build a cube from Sentinel-2 L2A per-band files (GeoTIFF or JP2), aligned to a target grid.

Accepted file names (case-insensitive; see docs/data.md):

- ``T31UFU_20180108T105421_B02_10m.jp2`` (L2A IMG_DATA/R10m), ``..._B8A_20m.jp2``, ``..._B02.jp2`` (L1C);
- any ``*_B02.tif`` / ``B02.tif`` / ``*_B02_10m.tif`` whose name or one of its folders carries the
  acquisition date as ``YYYYMMDD`` or ``YYYY-MM-DD`` (e.g. ``2018-01-08/B02.tif``).

When a band exists at several resolutions the finest is used; several files for the same date and
band (neighbouring tiles) are mosaicked in the target grid, the first valid pixel winning.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from cropcube.cube_spec import S2_BANDS, CubeSpec
from cropcube.errors import InputError
from cropcube.readers.grid import Grid
from cropcube.readers.writer import write_cube

log = logging.getLogger(__name__)

GDAL_CACHE_MB = 256
"""GDAL block cache while building (GDAL's default, 5 % of RAM, dominates memory otherwise);
the environment variable GDAL_CACHEMAX overrides it."""

_DATE = re.compile(r"(?<!\d)(20\d{2}|19\d{2})-?(\d{2})-?(\d{2})(?:T\d{6})?(?!\d)")
_BAND = re.compile(r"(?:^|[_.\-])(B\d{2}|B8A)(?:_(\d{2})m)?\.(?:tif|tiff|jp2)$", re.IGNORECASE)


@dataclass(frozen=True)
class BandFile:
    """One single-band image of one acquisition.

    Attributes:
        path: a path GDAL opens (may be a ``/vsizip/`` path inside a SAFE zip).
        date: acquisition date.
        band: band name, e.g. ``B02``.
        resolution_m: resolution from the name (``_10m``), if it has one.
    """

    path: str
    date: dt.date
    band: str
    resolution_m: int | None = None


def parse_date(text: str) -> dt.date | None:
    """The first ``YYYYMMDD`` / ``YYYY-MM-DD`` date in a name, or None."""
    for m in _DATE.finditer(text):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None


def band_file_from_name(path: str, parents: Iterable[str] = ()) -> BandFile | None:
    """Recognise a band file by its name; the date comes from the name or else the nearest parent.

    Args:
        path: the file path (for GDAL).
        parents: names of its folders, nearest first, to look for a date in.

    Returns:
        The band file, or None if the name is not a band file name.
    """
    name = PurePosixPath(path).name
    m = _BAND.search(name)
    if not m:
        return None
    date = parse_date(name)
    for parent in parents:
        if date is not None:
            break
        date = parse_date(parent)
    if date is None:
        return None
    band = m.group(1).upper()
    return BandFile(path, date, band, int(m.group(2)) if m.group(2) else None)


def find_band_files(folder: str | Path) -> list[BandFile]:
    """All band files under a folder (recursively), per the naming rules of this module.

    Raises:
        InputError: the folder does not exist or holds no recognisable band file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(str(folder), "is not a folder")
    found = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            parents = [q.name for q in p.relative_to(root).parents if q.name]
            bf = band_file_from_name(str(p), [*parents, root.name])
            if bf is not None:
                found.append(bf)
    if not found:
        raise InputError(
            str(folder),
            "no Sentinel-2 band files found (expected names like T31UFU_20180108T105421_B02_10m.jp2 "
            "or <date>/..._B02.tif; see docs/data.md)",
        )
    return found


@dataclass
class Acquisitions:
    """Band files grouped by date and band, finest resolution only.

    Attributes:
        where: where they were found (folder, SAFE names), for error messages.
        files: date -> band -> paths (several paths = tiles to mosaic).
    """

    where: str
    files: dict[dt.date, dict[str, list[str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, band_files: Iterable[BandFile], where: str) -> Acquisitions:
        """Group band files, keeping per (date, band) only the finest resolution."""
        best: dict[tuple[dt.date, str], list[BandFile]] = defaultdict(list)
        for bf in band_files:
            key = (bf.date, bf.band)
            current = best[key]
            res = bf.resolution_m or 0
            if current and (current[0].resolution_m or 0) != res:
                if res < (current[0].resolution_m or 0):
                    best[key] = [bf]
                continue
            current.append(bf)
        files: dict[dt.date, dict[str, list[str]]] = defaultdict(dict)
        for (date, band), bfs in sorted(best.items()):
            files[date][band] = [b.path for b in bfs]
        return cls(where, dict(files))

    @property
    def dates(self) -> list[dt.date]:
        """Available dates, sorted."""
        return sorted(self.files)


def choose_dates(
    wanted: Sequence[dt.date], available: Sequence[dt.date], max_days: int, where: str
) -> list[dt.date]:
    """Per wanted date the nearest available date within ``max_days`` (earlier wins a tie).

    Raises:
        InputError: a wanted date has no acquisition within ``max_days``, or two wanted dates
            would use the same acquisition; the message lists what is available.
    """
    if max_days < 0:
        raise InputError("max-days", f"{max_days} must be >= 0")
    chosen = []
    for w in wanted:
        near = sorted(available, key=lambda a: (abs((a - w).days), a))
        if not near or abs((near[0] - w).days) > max_days:
            avail = ", ".join(a.isoformat() for a in available) or "none"
            raise InputError(
                where,
                f"date {w.isoformat()} missing: no acquisition within {max_days} days (available: {avail})",
            )
        chosen.append(near[0])
    for a, b in itertools.pairwise(chosen):
        if b <= a:
            raise InputError(where, f"wanted dates map to acquisitions {a} and {b}: not strictly increasing")
    return chosen


@dataclass
class BuildReport:
    """What a cube build did.

    Attributes:
        path: the written cube.
        grid: its grid.
        wanted: the dates asked for.
        chosen: the acquisition dates used (same order).
        sources: channel description -> source files.
    """

    path: Path
    grid: Grid
    wanted: list[dt.date]
    chosen: list[dt.date]
    sources: dict[str, list[str]]

    def summary(self) -> str:
        """Human-readable lines."""
        lines = [f"wrote {self.path}: {self.grid}"]
        for w, c in zip(self.wanted, self.chosen, strict=True):
            lines.append(
                f"  {w.isoformat()} -> {c.isoformat()}" + ("" if w == c else f" ({(c - w).days:+d} days)")
            )
        return "\n".join(lines)


class _Reader:
    """Reads the target grid's windows from one band file."""

    def read(self, window: Window) -> npt.NDArray[Any]:
        """The target window's pixels."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the reader holds."""

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _AlignedReader(_Reader):
    """Reads a source whose pixels coincide with the target grid's: plain windowed reads, no warping."""

    def __init__(self, dataset: Any, offset: Window, nodata: float) -> None:
        self.dataset = dataset
        self.col0, self.row0 = int(offset.col_off), int(offset.row_off)
        self.nodata = nodata

    def read(self, window: Window) -> npt.NDArray[Any]:
        """The target window's pixels (nodata outside the source)."""
        h, w = int(window.height), int(window.width)
        out = np.full((h, w), self.nodata, dtype=self.dataset.dtypes[0])
        # Target window in source pixel coordinates, clipped to the source.
        c0, r0 = int(window.col_off) - self.col0, int(window.row_off) - self.row0
        cs, rs = max(c0, 0), max(r0, 0)
        ce, re_ = min(c0 + w, self.dataset.width), min(r0 + h, self.dataset.height)
        if ce > cs and re_ > rs:
            block = self.dataset.read(1, window=Window(cs, rs, ce - cs, re_ - rs))
            src_nodata = self.dataset.nodata
            if src_nodata is not None and src_nodata != self.nodata:
                block[block == src_nodata] = self.nodata
            out[rs - r0 : re_ - r0, cs - c0 : ce - c0] = block
        return out


class _WarpedReader(_Reader):
    """Reads a source through a GDAL WarpedVRT onto the target grid."""

    def __init__(self, vrt: WarpedVRT) -> None:
        self.vrt = vrt

    def read(self, window: Window) -> npt.NDArray[Any]:
        """The target window's pixels."""
        return np.asarray(self.vrt.read(1, window=window))

    def close(self) -> None:
        """Close the VRT."""
        self.vrt.close()


def _aligned_or_warped(dataset: Any, target: Grid, resampling: Resampling, nodata: float) -> _Reader:
    """Plain reads when the source lies on the target grid (same CRS, pixel size, whole-pixel offset)."""
    source = Grid.of_dataset(dataset)
    try:
        offset = source.window_of(target)  # the target's position in source pixels
    except InputError:
        offset = None
    if offset is not None:
        # window_of gives the target's offset within the source; the reader wants the reverse.
        return _AlignedReader(dataset, Window(-offset.col_off, -offset.row_off, 0, 0), nodata)
    vrt = WarpedVRT(
        dataset,
        crs=target.rasterio_crs,
        transform=target.transform,
        width=target.width,
        height=target.height,
        resampling=resampling,
        src_nodata=dataset.nodata if dataset.nodata is not None else 0,
        nodata=nodata,
    )
    return _WarpedReader(vrt)


def _open_source(path: str) -> Any:
    try:
        ds = rasterio.open(path)
    except RasterioError as exc:
        raise InputError(path, f"cannot open band file (unreadable or corrupt): {exc}") from None
    if ds.count != 1:
        ds.close()
        raise InputError(path, f"a band file has 1 band, this one has {ds.count}")
    if ds.crs is None:
        ds.close()
        raise InputError(path, "band file has no coordinate reference system")
    return ds


def _sources(
    acquisitions: Acquisitions, wanted: list[dt.date], bands: Sequence[str], max_days: int
) -> tuple[list[dt.date], dict[str, list[str]]]:
    """The acquisition chosen per wanted date, and the files of every channel ``YYYY-MM-DD_Bxx``."""
    where = acquisitions.where
    chosen = choose_dates(wanted, acquisitions.dates, max_days, where)
    sources: dict[str, list[str]] = {}
    for d in chosen:
        have = acquisitions.files[d]
        for b in bands:
            if b not in have:
                raise InputError(where, f"date {d.isoformat()}: band {b} missing (found {sorted(have)})")
            sources[f"{d.isoformat()}_{b}"] = have[b]
    return chosen, sources


def _target_grid(
    opened: dict[str, Any], sources: dict[str, list[str]], grid: Grid | None, where: str
) -> tuple[Grid, dict[str, list[str]]]:
    """The target grid (default: the first band file's) and, per channel, the files that overlap it.

    Tiles of a mosaic that miss the grid are dropped; a channel with none left is an error.
    """
    if grid is None:
        first = next(iter(sources.values()))
        if len(first) > 1:
            raise InputError(where, "several tiles per band: give a target grid (--bbox/--crs or --like)")
        grid = Grid.of_dataset(opened[first[0]], source=first[0])
    kept = {}
    for channel, paths in sources.items():
        overlapping = [p for p in paths if grid.intersects_bounds(tuple(opened[p].bounds), opened[p].crs)]
        if not overlapping:
            raise InputError(", ".join(paths), f"{channel}: does not overlap the target grid ({grid})")
        kept[channel] = overlapping
    return grid, kept


def _mosaic(
    channels: list[list[str]], readers: dict[str, _Reader], spec: CubeSpec
) -> Callable[[Window], npt.NDArray[Any]]:
    """``fill(window)`` for :func:`write_cube`: per channel, the first valid pixel of its files."""

    def fill(window: Window) -> npt.NDArray[Any]:
        out = np.full((len(channels), int(window.height), int(window.width)), spec.nodata, dtype=spec.dtype)
        for c, paths in enumerate(channels):
            for p in paths:
                try:
                    data = readers[p].read(window)
                except RasterioError as exc:
                    raise InputError(p, f"cannot read pixels (truncated or corrupt file?): {exc}") from None
                empty = out[c] == spec.nodata
                out[c][empty] = data[empty]
        return out

    return fill


def build_cube_from_band_files(
    acquisitions: Acquisitions,
    dates: Sequence[str | dt.date],
    output: str | Path,
    *,
    grid: Grid | None = None,
    bands: Sequence[str] = S2_BANDS,
    max_days: int = 0,
    resampling: Resampling = Resampling.nearest,
    cog: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build a cube from band files: choose the dates, warp every band onto the grid, stream to disk.

    Args:
        acquisitions: the available band files.
        dates: the wanted dates (strictly increasing).
        output: destination GeoTIFF.
        grid: target grid (default: the grid of the first chosen band file).
        bands: bands per date, in storage order.
        max_days: how far an acquisition may be from a wanted date.
        resampling: resampling when the source grid differs (nearest keeps DNs exact).
        cog: write a COG (else a tiled GeoTIFF).
        progress: called with (windows done, windows total).

    Returns:
        A :class:`BuildReport`.

    Raises:
        InputError: missing date or band, unreadable file, mixed dtypes, a source that does not
            overlap the grid; nothing is written then.
    """
    where = acquisitions.where
    wanted = list(CubeSpec(dates=tuple(dates), bands=tuple(bands)).dates)  # type: ignore[arg-type]
    chosen, sources = _sources(acquisitions, wanted, bands, max_days)
    with ExitStack() as stack:
        opened = {p: stack.enter_context(_open_source(p)) for paths in sources.values() for p in paths}
        dtypes = {ds.dtypes[0] for ds in opened.values()}
        if len(dtypes) != 1:
            raise InputError(where, f"band files have mixed dtypes {sorted(dtypes)}")
        target, sources = _target_grid(opened, sources, grid, where)
        spec = CubeSpec(
            dates=tuple(chosen),
            bands=tuple(bands),
            dtype=dtypes.pop(),
            crs=target.crs,
            resolution=target.resolution[0],
        )
        used = {p for paths in sources.values() for p in paths}
        readers: dict[str, _Reader] = {
            p: stack.enter_context(_aligned_or_warped(ds, target, resampling, spec.nodata))
            for p, ds in opened.items()
            if p in used
        }
        fill = _mosaic([sources[d] for d in spec.descriptions()], readers, spec)
        tags = {"CROPCUBE_WANTED_DATES": ",".join(d.isoformat() for d in wanted), "CROPCUBE_SOURCE": where}
        cache = {} if "GDAL_CACHEMAX" in os.environ else {"GDAL_CACHEMAX": GDAL_CACHE_MB}
        with rasterio.Env(**cache):
            path = write_cube(output, target, spec, fill, cog=cog, tags=tags, progress=progress)
    return BuildReport(Path(path), target, wanted, chosen, sources)

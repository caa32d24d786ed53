"""The jobs behind ``cropcube cube ...`` and ``cropcube labels ...``: check, build, publish, report.

Each job checks its arguments before any work (an output is never one of the inputs, through links
and relative spellings), and publishes its outputs together and only when complete.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from cropcube.classes import ClassTable, load_class_table
from cropcube.errors import InputError
from cropcube.io import publication, require_dir, require_file, require_output_file
from cropcube.io.atomic import Publication
from cropcube.io.checks import same_file
from cropcube.io.geotiff import write_geotiff
from cropcube.readers.brp import BrpRasterReport, rasterize_brp, read_brp_parcels
from cropcube.readers.cube import open_cube, read_single_band
from cropcube.readers.flanders import map_worldcereal_labels
from cropcube.readers.grid import Grid

ResamplingName = Literal["nearest", "bilinear", "cubic", "average"]


def target_grid(
    bbox: tuple[float, float, float, float] | None,
    crs: str | None,
    resolution: float,
    like: str | Path | None,
) -> Grid | None:
    """The grid a cube is built on: ``like``'s, or ``bbox`` in ``crs`` at ``resolution``, or None.

    Raises:
        InputError: both ``like`` and ``bbox``, ``bbox`` without ``crs`` or the reverse.
    """
    if like is not None:
        if bbox is not None:
            raise InputError("--like", "give either --like or --bbox, not both")
        return Grid.of(like)
    if bbox is None:
        if crs is not None:
            raise InputError("--crs", "needs --bbox")
        return None
    if crs is None:
        raise InputError("--bbox", "needs --crs (e.g. EPSG:32631)")
    return Grid.from_bbox(bbox, crs, resolution)


def _distinct_outputs(outputs: Sequence[Path | None]) -> None:
    given = [p for p in outputs if p is not None]
    for i, a in enumerate(given):
        for b in given[i + 1 :]:
            if same_file(a, b):
                raise InputError(str(b), f"is the same file as the output {a}: give two different outputs")


def build_cube(
    output: str | Path,
    dates: Sequence[dt.date],
    *,
    bands_dir: str | Path | None = None,
    safe: Sequence[str | Path] = (),
    bbox: tuple[float, float, float, float] | None = None,
    crs: str | None = None,
    resolution: float = 10.0,
    like: str | Path | None = None,
    max_days: int = 0,
    resampling: ResamplingName = "nearest",
    cog: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """``cropcube cube build``: a cube from per-band files or SAFE products; returns the report.

    Raises:
        InputError: not exactly one source, a bad grid, an output that is an input, and everything
            :func:`~cropcube.readers.sentinel2.build_cube_from_band_files` refuses.
    """
    from rasterio.enums import Resampling

    from cropcube.readers.safe import safe_acquisitions
    from cropcube.readers.sentinel2 import Acquisitions, build_cube_from_band_files, find_band_files

    if (bands_dir is None) == (not safe):
        raise InputError("--bands-dir/--safe", "give exactly one source: --bands-dir DIR or --safe PATH...")
    if resampling not in ("nearest", "bilinear", "cubic", "average"):
        raise InputError("--resampling", f"{resampling!r} is not nearest, bilinear, cubic or average")
    output = require_output_file(output, [like, *safe])
    grid = target_grid(bbox, crs, resolution, like)
    if bands_dir is not None:
        files = find_band_files(require_dir(bands_dir, "band-file folder"))
        require_output_file(output, [bf.path for bf in files])
        acquisitions = Acquisitions.of(files, str(bands_dir))
    else:
        acquisitions = safe_acquisitions(safe)
    report = build_cube_from_band_files(
        acquisitions,
        dates,
        output,
        grid=grid,
        max_days=max_days,
        resampling=Resampling[resampling],
        cog=cog,
        progress=progress,
    )
    return report.summary()


def cube_from_netcdf(
    stack: str | Path,
    scl: str | Path,
    dates: Sequence[dt.date],
    output: str | Path,
    *,
    max_days: int = 10,
    bbox: tuple[float, float, float, float] | None = None,
    crs: str | None = None,
    like: str | Path | None = None,
    cog: bool = True,
    min_clear: float = 0.5,
) -> str:
    """``cropcube cube from-netcdf``: a cube of the clearest acquisitions; returns the report."""
    from cropcube.readers.netcdf_stack import build_cube_from_netcdf

    require_file(stack, "netCDF stack")
    require_file(scl, "SCL netCDF stack")
    output = require_output_file(output, [stack, scl, like])
    grid = target_grid(bbox, crs, 10.0, like)
    report = build_cube_from_netcdf(
        stack, scl, dates, output, max_days=max_days, cog=cog, grid=grid, min_clear=min_clear
    )
    return report.summary()


def describe_cube(path: str | Path) -> str:
    """``cropcube cube info``: the cube's grid, layout and dates, after checking it is a cube."""
    i = open_cube(path)
    dates = ", ".join(d.isoformat() for d in i.spec.dates) + ("" if i.described else " (assumed)")
    return "\n".join(
        [
            f"{path}: {i.grid}",
            f"  {i.spec.n_dates} dates x {i.spec.n_bands} bands {list(i.spec.bands)}, {i.dtype}, "
            f"blocks {i.block_shape}",
            f"  dates: {dates}",
        ]
    )


def brp_labels(
    gpkg: str | Path,
    like: str | Path,
    output: str | Path,
    *,
    parcel_ids: str | Path | None = None,
    unknown_index: int = 0,
    layer: str | None = None,
    all_touched: bool = False,
) -> BrpRasterReport:
    """``cropcube labels brp``: class-index raster (and parcel-id raster) of BRP parcels on a grid.

    Both rasters are published together, only when both are complete.

    Raises:
        InputError: an output that is an input (``-o`` the ``--like`` cube would destroy it) or the
            other output, no parcel overlapping the grid, and what the BRP reader refuses.
    """
    gpkg, like, output = Path(gpkg), Path(like), Path(output)
    ids_out = Path(parcel_ids) if parcel_ids is not None else None
    require_file(gpkg, "BRP GeoPackage")
    require_output_file(output, [gpkg, like])
    if ids_out is not None:
        require_output_file(ids_out, [gpkg, like], "parcel-id output")
    _distinct_outputs([output, ids_out])
    if not 0 <= unknown_index <= 255:
        raise InputError("--unknown-index", f"{unknown_index} is not a class index 0..255")
    grid = Grid.of(like)
    table = load_class_table(unknown_index=unknown_index)
    classes, ids, report = rasterize_brp(read_brp_parcels(gpkg, layer), grid, table, all_touched=all_touched)
    if report.parcels_in_grid == 0:
        raise InputError(str(gpkg), f"no parcel overlaps the grid of {like} ({grid})")
    tags = {"CROPCUBE_LABEL_SOURCE": gpkg.name, "CROPCUBE_UNKNOWN_INDEX": str(unknown_index)}
    with publication() as pub:
        if ids_out is not None:
            desc = ["BRP parcel id"]
            write_geotiff(
                ids_out, ids, grid.transform, grid.crs, nodata=0, descriptions=desc, tags=tags, pub=pub
            )
        _write_classes(output, classes, grid, table, tags, pub)
    return report


def _write_classes(
    path: Path,
    classes: npt.NDArray[np.uint8],
    grid: Grid,
    table: ClassTable,
    tags: dict[str, str],
    pub: Publication | None = None,
) -> None:
    """A GIS-ready label raster: palette, mode overviews, category names + RAT and QGIS style."""
    from cropcube.maps.gis import write_class_map

    write_class_map(
        path, classes, grid.transform, grid.crs, table, description="BRP class index", tags=tags, pub=pub
    )


@dataclass
class FlandersReport:
    """What :func:`flanders_labels` did.

    Attributes:
        output: the class-index raster.
        labelled: pixels with a class.
        unmapped: WorldCereal code -> pixels left unlabelled (0).
    """

    output: Path
    labelled: int
    unmapped: Counter[int]

    def summary(self) -> str:
        """Human-readable lines."""
        lines = [f"wrote {self.output}: {self.labelled} labelled pixels"]
        for code, n in sorted(self.unmapped.items()):
            lines.append(f"  WorldCereal code {code}: {n} pixels left unlabelled (0)")
        return "\n".join(lines)


def flanders_labels(
    label_ct: str | Path, like: str | Path, output: str | Path, barley: Literal["spring", "drop"] = "spring"
) -> FlandersReport:
    """``cropcube labels flanders``: WorldCereal crop codes to BRP class indices on the cube's grid.

    Raises:
        InputError: an output that is an input, a label raster that is not one integer band on the
            cube's grid (a float or multi-band raster would be truncated or ambiguous).
    """
    label_ct, output = Path(label_ct), Path(output)
    require_output_file(output, [label_ct, like])
    if barley not in ("spring", "drop"):
        raise InputError("--barley", f"{barley!r} is not 'spring' or 'drop'")
    grid = Grid.of(like)
    codes = read_single_band(label_ct, grid, "WorldCereal label raster")
    table = load_class_table()
    labels, unmapped = map_worldcereal_labels(codes, barley, table)
    _write_classes(output, labels, grid, table, {"CROPCUBE_LABEL_SOURCE": label_ct.name})
    return FlandersReport(output, int((labels > 0).sum()), unmapped)


__all__ = ["brp_labels", "build_cube", "cube_from_netcdf", "describe_cube", "flanders_labels", "target_grid"]

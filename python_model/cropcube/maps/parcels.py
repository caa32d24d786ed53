"""Per-parcel results: one row per BRP parcel with its predicted crop and its agreement with the declaration.

What paying agencies check by monitoring is the parcel, not the pixel: did the farmer grow what the
BRP declares? The map's classification streams through two accumulators that see every pixel once:
:class:`~cropcube.evaluation.voting.ParcelVoter` (class probability sums, which give the voted
class) and :class:`ParcelTally` (how many pixels of each parcel got each per-pixel class, 0 for
pixels without data). :func:`parcel_table` turns them into a :class:`ParcelTable`:

======================  ===================================================================
``parcel_id``           the parcel's feature id in the GeoPackage (the value of the id raster)
``declared_gewascode``  the BRP crop code declared for the parcel (null when missing)
``declared_class``      its class index in the model's table (null when not in the table)
``declared_name``       English name of the declared class
``predicted_class``     the voted class (highest mean probability over the parcel's pixels)
``predicted_gewascode`` BRP code of the predicted class
``predicted_name``      English name of the predicted class
``mean_confidence``     mean probability of the predicted class over the parcel's valid pixels
``winning_share``       share of the valid pixels whose own (unvoted) class is the predicted one
``valid_pixels``        parcel pixels with data (not nodata in the cube)
``parcel_pixels``       all pixels of the parcel on the map's grid
``agrees``              declared == predicted (null when undecided, see ``agreement``)
``agreement``           ``agree``, ``disagree``, ``too few pixels`` (fewer than ``min_pixels``
                        valid pixels) or ``not classifiable`` (no declared code, or a code the
                        model has no class for)
======================  ===================================================================

Only parcels that overlap the map get a row. Geometries stay in the GeoPackage's CRS, so the table
joins back to the BRP by id or by place.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from cropcube.classes import ClassTable
from cropcube.errors import InputError
from cropcube.evaluation.voting import ParcelVoter
from cropcube.io import atomic_output
from cropcube.readers.grid import Grid

if TYPE_CHECKING:  # the BRP reader brings pyogrio and shapely: loaded when parcels are read
    from cropcube.readers.brp import BrpParcels

log = logging.getLogger(__name__)
MIN_PARCEL_PIXELS = 10
"""Fewer valid pixels than this (0.1 ha at 10 m) and a parcel's agreement is "too few pixels"."""
AGREE, DISAGREE, TOO_FEW, NOT_CLASSIFIABLE = "agree", "disagree", "too few pixels", "not classifiable"
AGREEMENTS = (AGREE, DISAGREE, TOO_FEW, NOT_CLASSIFIABLE)
VectorFormat = Literal["gpkg", "parquet"]


class ParcelTally:
    """Per-parcel counts of per-pixel classes (0 = no data), streamed window by window.

    Args:
        parcel_ids: every parcel id that may occur in the id windows (those of the id raster, not
            every parcel of a national GeoPackage: the counts take ids x (K + 1) integers).
        num_classes: K; per-pixel classes are 0..K.
    """

    def __init__(self, parcel_ids: npt.ArrayLike, num_classes: int) -> None:
        self.ids = np.unique(np.asarray(parcel_ids, dtype=np.int64))
        self.num_classes = int(num_classes)
        self.counts = np.zeros((len(self.ids), self.num_classes + 1), dtype=np.int64)

    def add(self, classes: npt.NDArray[np.integer], parcel_ids: npt.NDArray[np.integer]) -> None:
        """Count a window: per-pixel classes (before voting) and the parcel ids of the same pixels.

        Each pixel must be added once (add only the core of overlapping tiles).
        """
        if classes.shape != parcel_ids.shape:
            raise InputError(
                "parcel tally window", f"classes {classes.shape} do not match ids {parcel_ids.shape}"
            )
        ids = np.asarray(parcel_ids, dtype=np.int64).ravel()
        keep = ids > 0
        if not keep.any():
            return
        ids, cls = ids[keep], np.asarray(classes).ravel()[keep].astype(np.int64)
        row = np.searchsorted(self.ids, ids)
        known = (row < len(self.ids)) & (self.ids[np.minimum(row, len(self.ids) - 1)] == ids)
        if not known.all():
            raise InputError(
                "parcel tally window", f"parcel ids {sorted(set(ids[~known].tolist()))[:5]} unknown"
            )
        if cls.max(initial=0) > self.num_classes:
            raise InputError("parcel tally window", f"class {int(cls.max())} outside 0..{self.num_classes}")
        np.add.at(self.counts, (row, cls), 1)


@dataclass(frozen=True)
class ParcelRow:
    """One parcel's result (see the module docstring for the fields)."""

    parcel_id: int
    declared_gewascode: int | None
    declared_class: int | None
    declared_name: str | None
    predicted_class: int | None
    predicted_gewascode: int | None
    predicted_name: str | None
    mean_confidence: float | None
    winning_share: float | None
    valid_pixels: int
    parcel_pixels: int
    agrees: bool | None
    agreement: str


FIELDS = tuple(ParcelRow.__dataclass_fields__)


@dataclass(frozen=True)
class CropAgreement:
    """Agreement counts of the parcels that declare one crop code."""

    gewascode: int | None
    class_index: int | None
    name: str
    parcels: int
    counts: dict[str, int]
    confused_with: str
    confused_parcels: int

    @property
    def agreement_rate(self) -> float | None:
        """Agree / (agree + disagree), None when no parcel was decided."""
        decided = self.counts[AGREE] + self.counts[DISAGREE]
        return self.counts[AGREE] / decided if decided else None


@dataclass
class ParcelTable:
    """The per-parcel results with their geometries (in ``crs``)."""

    rows: list[ParcelRow]
    geometries: npt.NDArray[Any]
    crs: str
    min_pixels: int

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ParcelRow]:
        return iter(self.rows)

    def counts(self) -> Counter[str]:
        """Parcels per agreement outcome."""
        return Counter(r.agreement for r in self.rows)

    def by_crop(self) -> list[CropAgreement]:
        """Agreement per declared crop code, most disagreeing parcels first."""
        groups: dict[int | None, list[ParcelRow]] = {}
        for r in self.rows:
            groups.setdefault(r.declared_gewascode, []).append(r)
        out = []
        for code, rows in groups.items():
            counts = Counter(r.agreement for r in rows)
            confusions = Counter(r.predicted_name for r in rows if r.agreement == DISAGREE)
            confused, n = confusions.most_common(1)[0] if confusions else ("", 0)
            out.append(
                CropAgreement(
                    gewascode=code,
                    class_index=rows[0].declared_class,
                    name=rows[0].declared_name
                    or ("(no declared code)" if code is None else "(not in the class table)"),
                    parcels=len(rows),
                    counts={a: counts.get(a, 0) for a in AGREEMENTS},
                    confused_with=confused or "",
                    confused_parcels=n,
                )
            )
        out.sort(key=lambda c: (-c.counts[DISAGREE], -c.parcels, c.gewascode or 0))
        return out

    def summary_csv(self) -> str:
        """:meth:`by_crop` as CSV text (one row per declared crop code)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(
            [
                "gewascode",
                "class",
                "name",
                "parcels",
                *(a.replace(" ", "_") for a in AGREEMENTS),
                "agreement_rate",
                "most_predicted_when_disagreeing",
                "parcels_so_predicted",
            ]
        )
        for c in self.by_crop():
            rate = "" if c.agreement_rate is None else f"{c.agreement_rate:.3f}"
            w.writerow(
                [
                    c.gewascode if c.gewascode is not None else "",
                    c.class_index or "",
                    c.name,
                    c.parcels,
                    *(c.counts[a] for a in AGREEMENTS),
                    rate,
                    c.confused_with,
                    c.confused_parcels,
                ]
            )
        return buf.getvalue()

    def format(self, top: int = 10) -> str:
        """A short report: outcome counts and the crops with the most disagreeing parcels."""
        n = self.counts()
        lines = [
            f"{len(self.rows)} parcels: "
            + ", ".join(f"{n.get(a, 0)} {a}" for a in AGREEMENTS)
            + f" (too few = under {self.min_pixels} valid pixels)"
        ]
        crops = [c for c in self.by_crop() if c.counts[DISAGREE]][:top]
        if crops:
            width = max(len(c.name) for c in crops)
            lines.append(
                "declared crops with most disagreements (disagree / decided, most often predicted instead):"
            )
            for c in crops:
                decided = c.counts[AGREE] + c.counts[DISAGREE]
                lines.append(
                    f"  {c.gewascode!s:>5} {c.name:<{width}} {c.counts[DISAGREE]:>4} / {decided:<4} "
                    f"{c.confused_with} ({c.confused_parcels})"
                )
        return "\n".join(lines)


def parcel_table(
    parcels: BrpParcels,
    tally: ParcelTally,
    voter: ParcelVoter,
    table: ClassTable,
    min_pixels: int = MIN_PARCEL_PIXELS,
    grid: Grid | None = None,
) -> ParcelTable:
    """Build the per-parcel results of a classified map.

    Args:
        parcels: the BRP parcels (declared codes and geometries).
        tally: per-pixel class counts per parcel (see :class:`ParcelTally`).
        voter: the probability sums per parcel that voted the map's classes.
        table: the model's class table.
        min_pixels: fewer valid pixels give "too few pixels".
        grid: the map's grid; with it, parcels that overlap the map but got no pixel (narrower than
            a pixel, between pixel centres) get a row too ("too few pixels", 0 pixels).
    """
    if min_pixels < 1:
        raise InputError("min_pixels", f"{min_pixels} is not >= 1")
    overlapping = set() if grid is None else _overlapping(parcels, grid)
    means = voter.mean_probabilities()
    order = {int(p): i for i, p in enumerate(parcels.parcel_ids.tolist())}
    known_codes = {c.gewascode for c in table}
    rows: list[ParcelRow] = []
    keep: list[int] = []
    row_of = {int(p): t for t, p in enumerate(tally.ids.tolist())}
    empty = np.zeros(tally.num_classes + 1, dtype=np.int64)
    for pid in sorted(set(row_of) | overlapping):
        hist = tally.counts[row_of[pid]] if pid in row_of else empty
        parcel_pixels = int(hist.sum())
        if pid not in order or (parcel_pixels == 0 and pid not in overlapping):
            continue  # not on the map
        valid = parcel_pixels - int(hist[0])
        code = int(parcels.gewascodes[order[pid]])
        declared = table.by_code(code) if code in known_codes else None
        predicted = None
        confidence = share = None
        if valid > 0 and pid in means:
            k = int(np.argmax(means[pid]))
            predicted = table.by_index(k + 1)
            # The voter's means run over all parcel pixels, nodata ones with probability 0.
            confidence = float(means[pid][k]) * parcel_pixels / valid
            share = int(hist[k + 1]) / valid
        if code <= 0 or declared is None:
            agreement = NOT_CLASSIFIABLE
        elif valid < min_pixels or predicted is None:
            agreement = TOO_FEW
        else:
            agreement = AGREE if predicted.index == declared.index else DISAGREE
        rows.append(
            ParcelRow(
                parcel_id=pid,
                declared_gewascode=code if code > 0 else None,
                declared_class=declared.index if declared else None,
                declared_name=declared.name_en if declared else None,
                predicted_class=predicted.index if predicted else None,
                predicted_gewascode=predicted.gewascode if predicted else None,
                predicted_name=predicted.name_en if predicted else None,
                mean_confidence=confidence,
                winning_share=share,
                valid_pixels=valid,
                parcel_pixels=parcel_pixels,
                agrees=None if agreement in (TOO_FEW, NOT_CLASSIFIABLE) else agreement == AGREE,
                agreement=agreement,
            )
        )
        keep.append(order[pid])
    return ParcelTable(rows, parcels.geometries[keep], parcels.crs, min_pixels)


@dataclass
class ParcelRun:
    """Everything a tiled classification needs for parcel voting and the per-parcel table.

    One object for every job that classifies a grid tile by tile (the file job, the rasdaman
    client job): :meth:`add` each tile's probabilities and per-pixel classes once, :meth:`vote`
    a tile's classes after all tiles were added, :meth:`result` the per-parcel table.

    Attributes:
        parcels: the BRP parcels.
        grid: the map's grid.
        ids: parcel id per grid pixel (0 = none).
        voter: the per-parcel probability sums.
        tally: the per-parcel counts of per-pixel classes.
    """

    parcels: BrpParcels
    grid: Grid
    ids: npt.NDArray[np.int32]
    voter: ParcelVoter
    tally: ParcelTally

    @classmethod
    def plan(cls, gpkg: str | Path, grid: Grid, num_classes: int, what: str = "the map") -> ParcelRun:
        """Read and rasterise the parcels on ``grid`` (the grid of ``what``, named in errors).

        Raises:
            InputError: a bad GeoPackage, or parcels that cover no pixel of the grid.
        """
        from cropcube.readers.brp import rasterize_brp, read_brp_parcels

        parcels = read_brp_parcels(gpkg)
        _, ids, report = rasterize_brp(parcels, grid)
        log.info("%s", report.summary())
        if report.parcels_rasterised == 0:
            raise InputError(
                str(gpkg),
                f"no parcel covers a pixel of {what} ({grid}): the map would be all 0 (no parcel); "
                "give the parcels of its area, or classify without --parcels",
            )
        # Tally only the parcels on the map: a national BRP holds ~770,000 of them.
        on_map = np.unique(ids[ids > 0])
        return cls(parcels, grid, ids, ParcelVoter(num_classes), ParcelTally(on_map, num_classes))

    def save(self, path: str | Path, tiles: Collection[str]) -> None:
        """Checkpoint the sums and counts, and the keys of the ``tiles`` they hold (atomically)."""
        voter_ids, sums, counts = self.voter.state()
        with atomic_output(path) as tmp, tmp.open("wb") as f:
            np.savez(
                f,
                tally_ids=self.tally.ids,
                tally=self.tally.counts,
                voter_ids=voter_ids,
                voter_sums=sums,
                voter_counts=counts,
                tiles=np.array(sorted(tiles), dtype=np.str_),
            )

    def restore(self, path: str | Path) -> set[str]:
        """Load a checkpoint of :meth:`save`; return the keys of the tiles it holds.

        Raises:
            InputError: not a checkpoint of these parcels on this grid with these classes.
        """
        k = self.tally.num_classes
        try:
            with np.load(path, allow_pickle=False) as z:
                state = {name: z[name] for name in z.files}
            want = {"tally_ids", "tally", "voter_ids", "voter_sums", "voter_counts", "tiles"}
            if set(state) != want:
                raise ValueError(f"holds {sorted(state)}, not {sorted(want)}")
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(str(path), f"is not a parcel checkpoint ({exc}); rerun with --restart") from None
        n = len(state["voter_ids"])
        if (
            not np.array_equal(state["tally_ids"], self.tally.ids)
            or state["tally"].shape != self.tally.counts.shape
            or state["voter_sums"].shape != (n, k)
            or state["voter_counts"].shape != (n,)
            or not np.isin(state["voter_ids"], self.tally.ids).all()
        ):
            raise InputError(
                str(path), "is a checkpoint of other parcels, grid or classes; rerun with --restart"
            )
        self.tally.counts = state["tally"].astype(np.int64)
        self.voter.restore(state["voter_ids"], state["voter_sums"], state["voter_counts"])
        return {str(t) for t in state["tiles"].tolist()}

    def _ids(self, rows: tuple[int, int], cols: tuple[int, int]) -> npt.NDArray[np.int32]:
        return self.ids[rows[0] : rows[1], cols[0] : cols[1]]

    def add(
        self,
        rows: tuple[int, int],
        cols: tuple[int, int],
        probabilities: npt.NDArray[np.floating],
        classes: npt.NDArray[np.integer],
    ) -> None:
        """Add a tile (grid rows r0..r1, cols c0..c1): its probabilities (K, h, w) and classes (h, w)."""
        ids = self._ids(rows, cols)
        self.voter.add(probabilities, ids)
        self.tally.add(classes, ids)

    def vote(
        self, rows: tuple[int, int], cols: tuple[int, int], classes: npt.NDArray[np.integer]
    ) -> npt.NDArray[np.uint8]:
        """A tile's classes after voting: each parcel's voted class, 0 where there is none.

        0 outside every parcel, and in parcels without a single valid pixel (nothing to vote with).
        """
        ids = self._ids(rows, cols)
        voted = self.voter.apply(classes, ids)
        voted[ids == 0] = 0
        empty = self.tally.ids[self.tally.counts[:, 1:].sum(axis=1) == 0]
        if empty.size:
            voted[np.isin(ids, empty)] = 0
        return voted

    def result(self, table: ClassTable, min_pixels: int = MIN_PARCEL_PIXELS) -> ParcelTable:
        """The per-parcel table (every parcel overlapping the grid)."""
        return parcel_table(self.parcels, self.tally, self.voter, table, min_pixels, grid=self.grid)


def _overlapping(parcels: BrpParcels, grid: Grid) -> set[int]:
    """Ids of the parcels that overlap the grid's extent."""
    import shapely
    from rasterio.warp import transform_geom

    left, bottom, right, top = grid.bounds
    box = shapely.geometry.mapping(shapely.box(left, bottom, right, top).segmentize((right - left) / 16))
    extent = shapely.geometry.shape(transform_geom(grid.rasterio_crs, parcels.crs, box))
    hit = shapely.intersects(parcels.geometries, extent)
    return set(parcels.parcel_ids[hit].tolist())


def _columns(rows: list[ParcelRow]) -> dict[str, tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]]:
    """Each field as (values, null mask) with a dtype every vector format takes."""
    kinds = {
        "parcel_id": np.int64,
        "declared_gewascode": np.int32,
        "declared_class": np.int32,
        "declared_name": object,
        "predicted_class": np.int32,
        "predicted_gewascode": np.int32,
        "predicted_name": object,
        "mean_confidence": np.float64,
        "winning_share": np.float64,
        "valid_pixels": np.int32,
        "parcel_pixels": np.int32,
        "agrees": np.bool_,
        "agreement": object,
    }
    out: dict[str, tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]] = {}
    for name in FIELDS:
        raw = [getattr(r, name) for r in rows]
        mask = np.array([v is None for v in raw], dtype=bool)
        fill: Any = "" if kinds[name] is object else 0
        out[name] = (np.array([fill if v is None else v for v in raw], dtype=kinds[name]), mask)
    return out


def vector_format(path: str | Path, fmt: VectorFormat | None = None) -> VectorFormat:
    """``fmt``, or the format a file name asks for (``.parquet``/``.geoparquet``: GeoParquet, else GPKG)."""
    if fmt is None:
        return "parquet" if Path(path).suffix.lower() in (".parquet", ".geoparquet") else "gpkg"
    if fmt not in ("gpkg", "parquet"):
        raise InputError(str(path), f"vector format {fmt!r} is not gpkg or parquet")
    return fmt


def render_parcel_table(path: str | Path, result: ParcelTable, fmt: VectorFormat | None = None) -> Path:
    """Write the table to ``path`` (a temporary name of a publication: not atomic by itself).

    Args:
        path: the file to write.
        result: from :func:`parcel_table`.
        fmt: ``gpkg`` (layer ``parcels``) or ``parquet`` (GeoParquet 1.1, needs pyarrow and pyproj);
            default from the file name.
    """
    path = Path(path)
    fmt = vector_format(path, fmt)
    if not result.rows:
        raise InputError(str(path), "no parcel overlaps the map: nothing to write")
    import shapely

    wkb = shapely.to_wkb(result.geometries, output_dimension=2)
    columns = _columns(result.rows)
    if fmt == "parquet":
        _write_geoparquet(path, wkb, columns, result)
        return path
    import pyogrio.raw

    types = set(shapely.get_type_id(result.geometries).tolist())
    pyogrio.raw.write(
        str(path),
        np.asarray(wkb, dtype=object),
        [v for v, _ in columns.values()],
        list(columns),
        field_mask=[m if m.any() else None for _, m in columns.values()],
        layer="parcels",
        driver="GPKG",
        geometry_type="Polygon" if types == {3} else "MultiPolygon",
        promote_to_multi=types != {3},
        crs=result.crs,
        layer_metadata={"DESCRIPTION": "cropcube per-parcel crop prediction and BRP agreement"},
    )
    return path


def write_parcel_table(path: str | Path, result: ParcelTable, fmt: VectorFormat | None = None) -> Path:
    """:func:`render_parcel_table` to ``path``, atomically (the file appears only when complete)."""
    path = Path(path)
    fmt = vector_format(path, fmt)
    with atomic_output(path) as tmp:
        render_parcel_table(tmp, result, fmt)
    return path


def parcel_table_paths(class_map: str | Path, fmt: VectorFormat = "gpkg") -> dict[str, Path]:
    """Beside ``crops.tif``: ``crops_parcels.gpkg`` (or ``.parquet``) and ``crops_parcels_summary.csv``."""
    out = Path(class_map)
    suffix = ".parquet" if fmt == "parquet" else ".gpkg"
    return {
        "parcels": out.with_name(f"{out.stem}_parcels{suffix}"),
        "parcel_summary": out.with_name(f"{out.stem}_parcels_summary.csv"),
    }


def _write_geoparquet(path: Path, wkb: Any, columns: dict[str, Any], result: ParcelTable) -> None:
    """GeoParquet 1.1: WKB geometries and the ``geo`` file metadata with the CRS as PROJJSON."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
        import pyproj
    except ImportError:
        raise InputError(
            str(path), "GeoParquet needs the pyarrow and pyproj packages (pip install 'cropcube[parquet]')"
        ) from None
    import json

    import shapely

    arrays = {
        name: pa.array(values, mask=mask if mask.any() else None) for name, (values, mask) in columns.items()
    }
    arrays["geometry"] = pa.array(list(wkb), type=pa.binary())
    types = sorted(set(shapely.get_type_id(result.geometries).tolist()))
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": [{3: "Polygon", 6: "MultiPolygon"}[t] for t in types],
                "crs": pyproj.CRS.from_user_input(result.crs).to_json_dict(),
                "bbox": shapely.total_bounds(result.geometries).tolist(),
            }
        },
    }
    table = pa.table(arrays).replace_schema_metadata({"geo": json.dumps(geo)})
    pq.write_table(table, str(path))

"""GML coverage documents for WCS-T, and parsing of DescribeCoverage answers.

The documents follow the templates wcst_import sends (``applications/wcst_import/master/generator/
templates/*.xml`` of rasdaman community, commit d38e5efa612192f79e1c8716a7de00d65f12db93):
``gmlcov:RectifiedGridCoverage`` (2-D) or ``gmlcov:ReferenceableGridCoverage`` (irregular time x E x N),
pixel-centre origin, one offset vector per axis, a ``DataBlock/tupleList`` range set for InsertCoverage
(a single cell, the server grows the grid as slices arrive) or a ``File`` range set for UpdateCoverage.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from cropcube.calendar import dates_from_time_axis
from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.grid import epsg, format_number, pixel_size
from cropcube.readers.grid import Grid

OPENGIS_DEF = "http://www.opengis.net/def"
ANSI_EPOCH = dt.date(1601, 1, 1)
"""AnsiDate day 1 is 1601-01-01; petascope states irregular time coefficients in days."""


@dataclass(frozen=True)
class Band:
    """One range field: name (``^[A-Za-z_0-9]+$``), nil value and description."""

    name: str
    nil_value: int | None = 0
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not all(ch.isalnum() or ch == "_" for ch in self.name) or not self.name.isascii():
            raise InputError("band name", f"{self.name!r} must match ^[A-Za-z_0-9]+$")


def crs_uri(crs: str, resolver: str = OPENGIS_DEF) -> str:
    """``EPSG:32631`` -> ``http://www.opengis.net/def/crs/EPSG/0/32631``."""
    if not crs.upper().startswith("EPSG:") or not crs[5:].isdigit():
        raise InputError("crs", f"{crs!r} is not 'EPSG:<code>'")
    return f"{resolver}/crs/EPSG/0/{int(crs[5:])}"


def compound_time_crs_uri(crs: str, resolver: str = OPENGIS_DEF) -> str:
    """Compound CRS AnsiDate + EPSG (time axis first, as petascope's 3-D time series)."""
    return f"{resolver}/crs-compound?1={resolver}/crs/OGC/0/AnsiDate&2={crs_uri(crs, resolver)}"


def _range_type(bands: Sequence[Band]) -> str:
    fields = []
    for b in bands:
        nil = (
            f'<swe:nilValues><swe:NilValues><swe:nilValue reason="no data">{int(b.nil_value)}</swe:nilValue>'
            "</swe:NilValues></swe:nilValues>"
            if b.nil_value is not None
            else ""
        )
        fields.append(
            f'<swe:field name="{b.name}"><swe:Quantity definition="">'
            f"<swe:description>{escape(b.description)}</swe:description>{nil}"
            '<swe:uom code="10^0"/></swe:Quantity></swe:field>'
        )
    return "<gmlcov:rangeType><swe:DataRecord>" + "".join(fields) + "</swe:DataRecord></gmlcov:rangeType>"


_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<gmlcov:{kind} xmlns='http://www.opengis.net/gml/3.2' xmlns:gml='http://www.opengis.net/gml/3.2' "
    "xmlns:gmlcov='http://www.opengis.net/gmlcov/1.0' xmlns:swe='http://www.opengis.net/swe/2.0' "
    "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' "
    "xmlns:gmlrgrid='http://www.opengis.net/gml/3.3/rgrid' gml:id={id}>"
)


def coverage_gml(
    coverage_id: str,
    grid: Grid,
    bands: Sequence[Band],
    *,
    metadata_json: str | None = None,
    dates: Sequence[str] | None = None,
    file_reference: str | None = None,
    single_cell: bool = False,
    resolver: str = OPENGIS_DEF,
) -> str:
    """A GML coverage for InsertCoverage (``single_cell=True``) or UpdateCoverage (``file_reference``).

    Args:
        coverage_id: the coverage id (validated).
        grid: the 2-D grid (for an insert, only its origin and resolution matter with ``single_cell``).
        bands: range fields.
        metadata_json: JSON text stored as the coverage's global metadata.
        dates: ISO dates of an irregular AnsiDate axis (3-D coverage); the first one is the origin.
        file_reference: name of the uploaded GeoTIFF holding the range set (UpdateCoverage).
        single_cell: a one-cell grid filled with the nil values (InsertCoverage).
        resolver: CRS resolver prefix.
    """
    ids.coverage_id(coverage_id)
    if not bands:
        raise InputError("bands", "a coverage needs at least one band")
    r, left, top, srs = pixel_size(grid), grid.transform.c, grid.transform.f, f"EPSG:{epsg(grid)}"
    w, h = (1, 1) if single_cell else (grid.width, grid.height)
    origin_e, origin_n = left + r / 2, top - r / 2
    if dates:
        days = [
            (dt.date.fromisoformat(ids.iso_date(d)) - dt.date.fromisoformat(dates[0])).days for d in dates
        ]
        if single_cell:
            days = days[:1]
        crs = compound_time_crs_uri(srs, resolver)
        labels, uoms = "ansi E N", "d metre metre"
        kind, grid_kind, dim = "ReferenceableGridCoverage", "ReferenceableGridByVectors", 3
        low, high = "0 0 0", f"{len(days) - 1} {w - 1} {h - 1}"
        origin = f'"{dates[0]}T00:00:00.000Z" {format_number(origin_e)} {format_number(origin_n)}'
        axes = [
            ("1 0 0", " ".join(str(d) for d in days), "ansi"),
            (f"0 {format_number(r)} 0", "", "E"),
            (f"0 0 {format_number(-r)}", "", "N"),
        ]
        offsets = "".join(
            "<gmlrgrid:generalGridAxis><gmlrgrid:GeneralGridAxis>"
            f'<gmlrgrid:offsetVector srsName="{escape(crs)}" axisLabels="{labels}" uomLabels="{uoms}" '
            f'srsDimension="3">{vec}</gmlrgrid:offsetVector>'
            f"<gmlrgrid:coefficients>{coeff}</gmlrgrid:coefficients>"
            f"<gmlrgrid:gridAxesSpanned>{span}</gmlrgrid:gridAxesSpanned>"
            '<gmlrgrid:sequenceRule axisOrder="+1">Linear</gmlrgrid:sequenceRule>'
            "</gmlrgrid:GeneralGridAxis></gmlrgrid:generalGridAxis>"
            for vec, coeff, span in axes
        )
        lower = f'"{dates[0]}T00:00:00.000Z" {format_number(left)} {format_number(top - h * r)}'
        last = dates[len(days) - 1]
        upper = f'"{last}T00:00:00.000Z" {format_number(left + w * r)} {format_number(top)}'
    else:
        crs = crs_uri(srs, resolver)
        labels, uoms = "E N", "metre metre"
        kind, grid_kind, dim = "RectifiedGridCoverage", "RectifiedGrid", 2
        low, high = "0 0", f"{w - 1} {h - 1}"
        origin = f"{format_number(origin_e)} {format_number(origin_n)}"
        offsets = "".join(
            f'<gml:offsetVector srsName="{escape(crs)}" axisLabels="{labels}" uomLabels="{uoms}" '
            f'srsDimension="2">{vec}</gml:offsetVector>'
            for vec in (f"{format_number(r)} 0", f"0 {format_number(-r)}")
        )
        lower = f"{format_number(left)} {format_number(top - h * r)}"
        upper = f"{format_number(left + w * r)} {format_number(top)}"
    parts = [_HEAD.format(kind=kind, id=quoteattr(coverage_id))]
    if metadata_json is not None:
        parts.append(f"<gmlcov:metadata>{escape(metadata_json)}</gmlcov:metadata>")
    parts.append(
        f'<boundedBy><Envelope srsName="{escape(crs)}" axisLabels="{labels}" uomLabels="{uoms}" '
        f'srsDimension="{dim}"><lowerCorner>{escape(lower)}</lowerCorner>'
        f"<upperCorner>{escape(upper)}</upperCorner></Envelope></boundedBy>"
    )
    parts.append(
        f'<domainSet><gml:{grid_kind} dimension="{dim}" gml:id="grid"><limits><GridEnvelope>'
        f"<low>{low}</low><high>{high}</high></GridEnvelope></limits><axisLabels>{labels}</axisLabels>"
        f'<gml:origin><Point gml:id="origin" srsName="{escape(crs)}" axisLabels="{labels}" '
        f'uomLabels="{uoms}" srsDimension="{dim}"><pos>{escape(origin)}</pos></Point></gml:origin>'
        f"{offsets}</gml:{grid_kind}></domainSet>"
    )
    if file_reference is not None:
        parts.append(
            "<gml:rangeSet><gml:rangeParameters/><gml:File><gml:fileReference>"
            f"{escape(file_reference)}</gml:fileReference><gml:mimeType>image/tiff</gml:mimeType>"
            # petascope reads fileStructure unconditionally (GMLCIS10ParserService.parseOverviewIndex);
            # empty = no overview
            '<gml:fileStructure codeSpace="https://codespace.rasdaman.com/formatParameters/Overview"/>'
            "</gml:File></gml:rangeSet>"
        )
    else:
        if not single_cell:
            raise InputError(
                "GML coverage", "an inline range set is only written for a one-cell InsertCoverage"
            )
        # one cell: the band values comma-separated, as wcst_import's initial slice (importer.py)
        fill = ",".join(str(int(b.nil_value or 0)) for b in bands)
        parts.append(
            "<gml:rangeSet><gml:DataBlock><gml:rangeParameters/>"
            f"<gml:tupleList>{fill}</gml:tupleList></gml:DataBlock></gml:rangeSet>"
        )
    parts.append(_range_type(bands))
    parts.append(f"</gmlcov:{kind}>")
    return "".join(parts)


@dataclass
class CoverageDescription:
    """What cropcube needs from a DescribeCoverage answer.

    Attributes:
        coverage_id: the id.
        crs: ``EPSG:<code>`` of the E/N axes.
        axis_labels: CRS axis labels in order (e.g. ``["E", "N"]`` or ``["ansi", "E", "N"]``).
        grid: the E/N grid.
        bands: range field names.
        nil_values: nil value per band (None where none).
        dates: ISO dates of an irregular time axis (empty for 2-D coverages).
        metadata: text of ``gmlcov:metadata`` (may be JSON or XML; empty if none).
    """

    coverage_id: str
    crs: str
    axis_labels: list[str]
    grid: Grid
    bands: list[str]
    nil_values: list[float | None] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    metadata: str = ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_all(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if _local(e.tag) == name]


def _epsg_of(srs: str) -> str:
    for part in reversed(srs.replace("?", "&").split("&")):
        if "/EPSG/" in part:
            return "EPSG:" + part.rstrip("/").rsplit("/", 1)[-1]
    raise InputError("coverage description", f"no EPSG CRS in {srs!r}")


def _time_axis_dates(origin: str, coefficients: Sequence[str], what: str) -> list[str]:
    """ISO dates of a time axis: its origin plus each coefficient in days (AnsiDate).

    Raises:
        InputError: an origin that is not a date (an index or number axis), coefficients that are not
            numbers, or dates that repeat or decrease (:func:`cropcube.calendar.dates_from_time_axis`).
    """
    (start,) = dates_from_time_axis([origin], what)
    try:
        offsets = [float(c) for c in coefficients]
    except ValueError:
        raise InputError(
            what, f"time axis coefficients {list(coefficients)[:3]} are not day offsets"
        ) from None
    dates = [start + dt.timedelta(days=d) for d in offsets] or [start]
    return [d.isoformat() for d in dates_from_time_axis(dates, what)]


def parse_description(body: bytes, coverage_id: str) -> CoverageDescription:
    """Parse a WCS 2.0.1 DescribeCoverage answer (petascope's GML) for one coverage.

    Raises:
        InputError: the document is not a coverage description cropcube can use (no E/N grid, ...).
    """
    what = f"DescribeCoverage of {coverage_id}"
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise InputError(what, f"answer is not XML ({exc})") from None
    points = _find_all(root, "Point")
    lows, highs = _find_all(root, "low"), _find_all(root, "high")
    if not points or not lows or not highs:
        raise InputError(what, "answer has no grid (domainSet) description")
    point = points[0]
    labels = (point.attrib.get("axisLabels") or "").split()
    srs = point.attrib.get("srsName", "")
    pos = _find_all(point, "pos")[0].text or ""
    tokens = pos.replace('"', " ").split()
    if "E" not in labels or "N" not in labels:
        raise InputError(what, f"axes {labels} do not include E and N")
    low = [int(v) for v in (lows[0].text or "").split()]
    high = [int(v) for v in (highs[0].text or "").split()]
    grid_labels = (
        (_find_all(root, "axisLabels")[0].text or "").split() if _find_all(root, "axisLabels") else labels
    )
    size = {lab: high[i] - low[i] + 1 for i, lab in enumerate(grid_labels)}
    # Offsets: one vector per axis, the non-zero component gives the axis and its step.
    step: dict[str, float] = {}
    for vec in _find_all(root, "offsetVector"):
        values = (vec.text or "").split()
        for i, v in enumerate(values):
            if float(v) != 0.0 and i < len(labels):
                step[labels[i]] = float(v)
    coeffs: list[str] = []
    for axis in _find_all(root, "GeneralGridAxis"):
        spanned = _find_all(axis, "gridAxesSpanned")
        if spanned and (spanned[0].text or "").strip() not in ("E", "N"):
            coeffs = (_find_all(axis, "coefficients")[0].text or "").split()
    e_index, n_index = labels.index("E"), labels.index("N")
    res = abs(step.get("E", 0.0))
    if res <= 0 or abs(abs(step.get("N", 0.0)) - res) > 1e-9 * res:
        raise InputError(what, f"E/N offsets {step} are not a square north-up grid")
    numbers = tokens[-len(labels) :] if len(tokens) >= len(labels) else tokens
    origin_e, origin_n = float(numbers[e_index]), float(numbers[n_index])
    grid = Grid.from_origin(_epsg_of(srs), origin_e - res / 2, origin_n + res / 2, res, size["E"], size["N"])
    dates: list[str] = []
    time_labels = [lab for lab in labels if lab not in ("E", "N")]
    if time_labels:
        dates = _time_axis_dates(tokens[0], coeffs, what)
    bands = [f.attrib.get("name", "") for f in _find_all(root, "field")]
    nils: list[float | None] = []
    for f in _find_all(root, "field"):
        nv = _find_all(f, "nilValue")
        nils.append(float(nv[0].text) if nv and nv[0].text and nv[0].text.strip() else None)
    meta = _find_all(root, "metadata")
    meta_text = ""
    if meta:
        inner = "".join(ET.tostring(c, encoding="unicode") for c in meta[0])
        meta_text = ((meta[0].text or "") + inner).strip()
    return CoverageDescription(coverage_id, grid.crs, labels, grid, bands, nils, dates, meta_text)

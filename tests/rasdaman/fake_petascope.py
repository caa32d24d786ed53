# ruff: noqa: E501  (XML templates of the fake server read better unbroken)
"""A local stand-in for petascope: the WCS / WCPS / WCS-T requests cropcube sends, strictly checked.

It keeps coverages in memory (numpy arrays on a north-up grid, optional irregular time axis), checks
every KVP parameter it is given (names, values, subsets, GML), answers errors with OGC ExceptionReports,
can demand HTTP basic auth, and can inject failures (5xx, slow answers, a permanent failure after N
updates) to test retries and resumption. WCPS: the UDF tile form cropcube emits, a plain subset
``encode``, and ``count($c = K)``.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from rasterio.io import MemoryFile
from rasterio.transform import Affine

PATH = "/rasdaman/ows"
GDAL_TYPES = {"Byte": np.uint8, "UInt16": np.uint16, "Int16": np.int16, "Float32": np.float32}
_SUBSET = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)\(\s*("?[^,()"]+"?)\s*(?:,\s*("?[^,()"]+"?)\s*)?\)$')
_NUM = r"(-?\d+(?:\.\d+)?)"
_UDF_QUERY = re.compile(
    r"^for \$c in \(([A-Za-z_][A-Za-z0-9_]*)\) return encode\(([A-Za-z_]\w*\.[A-Za-z_]\w*)\(\$c\[E\("
    + _NUM
    + ":"
    + _NUM
    + r"\),N\("
    + _NUM
    + ":"
    + _NUM
    + r'\)\]\), "image/tiff"\)$'
)
_ENCODE_QUERY = re.compile(
    r"^for \$c in \(([A-Za-z_][A-Za-z0-9_]*)\) return encode\(\$c\[E\("
    + _NUM
    + ":"
    + _NUM
    + r"\),N\("
    + _NUM
    + ":"
    + _NUM
    + r'\)\], "image/tiff"\)$'
)
_COUNT_QUERY = re.compile(r"^for \$c in \(([A-Za-z_][A-Za-z0-9_]*)\) return count\(\$c = (\d+)\)$")


class FailError(Exception):
    """An error answer: HTTP status, OGC exception code, text."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


def exception_report(code: str, text: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport version="2.0.0" '
        'xmlns:ows="http://www.opengis.net/ows/2.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<ows:Exception exceptionCode="{code}"><ows:ExceptionText>{text}</ows:ExceptionText></ows:Exception>'
        "</ows:ExceptionReport>"
    ).encode()


@dataclass
class Coverage:
    """One stored coverage: origin = west/north edge of grid index (0, 0)."""

    coverage_id: str
    epsg: int
    left: float
    top: float
    res: float
    bands: list[str]
    nils: list[float | None]
    dtype: Any
    data: np.ndarray  # (T, B, H, W); T = 1 for 2-D coverages
    dates: list[str] = field(default_factory=list)
    metadata: str = ""

    @property
    def height(self) -> int:
        return int(self.data.shape[2])

    @property
    def width(self) -> int:
        return int(self.data.shape[3])


@dataclass
class Request:
    method: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    files: dict[str, bytes]

    def get(self, key: str) -> str | None:
        values = [v for k, v in self.params if k.lower() == key.lower()]
        return values[0] if values else None

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.params if k.lower() == key.lower()]


class FakePetascope:
    """The server state; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.coverages: dict[str, Coverage] = {}
        self.log: list[Request] = []
        self.auth = auth
        self.udf: Callable[[np.ndarray], np.ndarray] | None = None
        self.fail_next: list[int] = []  # statuses to answer to the next requests, in order
        self.delay_next: list[float] = []  # seconds to sleep before answering the next requests
        self.fail_updates_after: int | None = None  # permanent 500 once this many updates succeeded
        self.updates_done = 0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{PATH}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- HTTP ---------------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(h.path)
        params = parse_qsl(url.query, keep_blank_values=True)
        files: dict[str, bytes] = {}
        if method == "POST":
            body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
            ctype = h.headers.get("Content-Type", "")
            if ctype.startswith("multipart/form-data"):
                msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    f"Content-Type: {ctype}\r\n\r\n".encode() + body
                )
                for part in msg.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True) or b""
                    if part.get_filename():
                        files[str(name)] = payload
                    else:
                        params.append((str(name), payload.decode()))
            else:
                params += parse_qsl(body.decode(), keep_blank_values=True)
        req = Request(method, params, {k: v for k, v in h.headers.items()}, files)
        with self.lock:
            self.log.append(req)
            delay = self.delay_next.pop(0) if self.delay_next else 0.0
            status = self.fail_next.pop(0) if self.fail_next else 0
        if delay:
            time.sleep(delay)
        try:
            if url.path != PATH:
                raise FailError(404, "InvalidRequest", f"no such endpoint {url.path}")
            if status:
                raise FailError(status, "InternalError", "injected failure")
            self._check_auth(req)
            ctype, body = self._dispatch(req)
            code = 200
        except FailError as exc:
            code, ctype, body = exc.status, "application/xml", exception_report(exc.code, exc.text)
        try:
            h.send_response(code)
            if code == 401:
                h.send_header("WWW-Authenticate", 'Basic realm="rasdaman"')
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _check_auth(self, req: Request) -> None:
        if self.auth is None:
            return
        expected = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        if req.headers.get("Authorization") != expected:
            raise FailError(401, "AccessDenied", "authentication required")

    def _dispatch(self, req: Request) -> tuple[str, bytes]:
        keys = [k for k, _ in req.params]
        lowered = [k.lower() for k in keys]
        for k in set(lowered):
            if lowered.count(k) > 1 and k != "subset":
                raise FailError(400, "InvalidRequest", f"parameter {k} given twice")
        if req.get("service") != "WCS":
            raise FailError(400, "InvalidParameterValue", f"service={req.get('service')!r}")
        op = req.get("request")
        if op != "GetCapabilities" and req.get("version") != "2.0.1":
            raise FailError(400, "VersionNegotiationFailed", f"version={req.get('version')!r}")
        handlers = {
            "GetCapabilities": self._capabilities,
            "DescribeCoverage": self._describe,
            "GetCoverage": self._get_coverage,
            "ProcessCoverages": self._process,
            "InsertCoverage": self._insert,
            "UpdateCoverage": self._update,
            "DeleteCoverage": self._delete,
        }
        if op not in handlers:
            raise FailError(400, "OperationNotSupported", f"request={op!r}")
        return handlers[op](req)

    # -- helpers -------------------------------------------------------------------------------------
    def _coverage(self, req: Request) -> Coverage:
        cid = req.get("coverageId")
        if cid is None:
            raise FailError(400, "MissingParameterValue", "coverageId")
        if cid not in self.coverages:
            raise FailError(404, "NoSuchCoverage", f"coverage {cid} does not exist")
        return self.coverages[cid]

    @staticmethod
    def _parse_subsets(values: list[str], cov: Coverage) -> dict[str, tuple[str, str | None]]:
        out: dict[str, tuple[str, str | None]] = {}
        for v in values:
            m = _SUBSET.match(v)
            if not m:
                raise FailError(400, "InvalidSubsetting", f"cannot parse subset {v!r}")
            axis = m.group(1)
            if axis not in ("E", "N", *(["ansi"] if cov.dates else [])):
                raise FailError(400, "InvalidAxisLabel", f"axis {axis} is not an axis of {cov.coverage_id}")
            if axis in out:
                raise FailError(400, "InvalidSubsetting", f"axis {axis} subset twice")
            out[axis] = (m.group(2), m.group(3))
        return out

    @staticmethod
    def _centre_range(
        lo: float, hi: float, start: float, res: float, size: int, sign: int
    ) -> tuple[int, int]:
        idx = [i for i in range(size) if lo <= start + sign * (i + 0.5) * res <= hi]
        if not idx:
            raise FailError(400, "InvalidSubsetting", f"subset ({lo},{hi}) selects no pixel")
        return idx[0], idx[-1] + 1

    def _window(self, cov: Coverage, subs: dict[str, tuple[str, str | None]]) -> tuple[int, int, int, int]:
        c0, c1, r0, r1 = 0, cov.width, 0, cov.height
        if "E" in subs:
            lo, hi = subs["E"]
            if hi is None:
                raise FailError(400, "InvalidSubsetting", "slicing E is not supported here")
            c0, c1 = self._centre_range(float(lo), float(hi), cov.left, cov.res, cov.width, 1)
        if "N" in subs:
            lo, hi = subs["N"]
            if hi is None:
                raise FailError(400, "InvalidSubsetting", "slicing N is not supported here")
            r0, r1 = self._centre_range(float(lo), float(hi), cov.top, cov.res, cov.height, -1)
            r0, r1 = r0, r1
        return c0, c1, r0, r1

    def _time_index(self, cov: Coverage, subs: dict[str, tuple[str, str | None]]) -> int:
        if not cov.dates:
            return 0
        if "ansi" not in subs or subs["ansi"][1] is not None:
            raise FailError(
                400, "InvalidSubsetting", 'this fake needs a time slice ansi("date") on 3-D coverages'
            )
        date = subs["ansi"][0].strip('"')
        if date not in cov.dates:
            raise FailError(400, "InvalidSubsetting", f"no time slice {date}")
        return cov.dates.index(date)

    @staticmethod
    def _tiff(arr: np.ndarray, epsg: int, left: float, top: float, res: float) -> bytes:
        with MemoryFile() as mem:
            with mem.open(
                driver="GTiff",
                width=arr.shape[2],
                height=arr.shape[1],
                count=arr.shape[0],
                dtype=arr.dtype.name,
                crs=f"EPSG:{epsg}",
                transform=Affine(res, 0, left, 0, -res, top),
            ) as d:
                d.write(arr)
            return bytes(mem.read())

    # -- operations ---------------------------------------------------------------------------------
    def _capabilities(self, req: Request) -> tuple[str, bytes]:
        items = "".join(
            f"<wcs:CoverageSummary><wcs:CoverageId>{c}</wcs:CoverageId>"
            "<wcs:CoverageSubtype>RectifiedGridCoverage</wcs:CoverageSubtype></wcs:CoverageSummary>"
            for c in self.coverages
        )
        return "application/xml", (
            '<?xml version="1.0"?><wcs:Capabilities xmlns:wcs="http://www.opengis.net/wcs/2.0" version="2.0.1">'
            f"<wcs:Contents>{items}</wcs:Contents></wcs:Capabilities>"
        ).encode()

    def _describe(self, req: Request) -> tuple[str, bytes]:
        c = self._coverage(req)
        crs = f"http://localhost:8080/rasdaman/def/crs/EPSG/0/{c.epsg}"
        ox, oy = c.left + c.res / 2, c.top - c.res / 2
        if c.dates:
            crs = (
                "http://localhost:8080/rasdaman/def/crs-compound?1=http://localhost:8080/rasdaman/def/crs/OGC/0/"
                f"AnsiDate&amp;2={crs}"
            )
            labels, low, high = "ansi E N", "0 0 0", f"{len(c.dates) - 1} {c.width - 1} {c.height - 1}"
            d0 = dt.date.fromisoformat(c.dates[0])
            coeff = " ".join(str((dt.date.fromisoformat(d) - d0).days) for d in c.dates)
            origin = f'"{c.dates[0]}T00:00:00.000Z" {ox} {oy}'
            vectors = [("1 0 0", coeff, "ansi"), (f"0 {c.res} 0", "", "E"), (f"0 0 {-c.res}", "", "N")]
            offsets = "".join(
                f'<gmlrgrid:generalGridAxis><gmlrgrid:GeneralGridAxis><gmlrgrid:offsetVector srsName="{crs}">{v}'
                f"</gmlrgrid:offsetVector><gmlrgrid:coefficients>{co}</gmlrgrid:coefficients>"
                f"<gmlrgrid:gridAxesSpanned>{s}</gmlrgrid:gridAxesSpanned></gmlrgrid:GeneralGridAxis>"
                "</gmlrgrid:generalGridAxis>"
                for v, co, s in vectors
            )
            kind = "ReferenceableGridByVectors"
        else:
            labels, low, high = "E N", "0 0", f"{c.width - 1} {c.height - 1}"
            origin = f"{ox} {oy}"
            offsets = (
                f'<gml:offsetVector srsName="{crs}">{c.res} 0</gml:offsetVector>'
                f'<gml:offsetVector srsName="{crs}">0 {-c.res}</gml:offsetVector>'
            )
            kind = "RectifiedGrid"
        fields = "".join(
            f'<swe:field name="{b}"><swe:Quantity>'
            + (
                f"<swe:nilValues><swe:NilValues><swe:nilValue>{int(n)}</swe:nilValue></swe:NilValues></swe:nilValues>"
                if n is not None
                else ""
            )
            + "</swe:Quantity></swe:field>"
            for b, n in zip(c.bands, c.nils, strict=True)
        )
        meta = c.metadata.replace("&", "&amp;").replace("<", "&lt;")
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?><wcs:CoverageDescriptions xmlns:wcs="http://www.opengis.net/wcs/2.0" '
            'xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:gmlcov="http://www.opengis.net/gmlcov/1.0" '
            'xmlns:swe="http://www.opengis.net/swe/2.0" xmlns:gmlrgrid="http://www.opengis.net/gml/3.3/rgrid">'
            f'<wcs:CoverageDescription gml:id="{c.coverage_id}"><wcs:CoverageId>{c.coverage_id}</wcs:CoverageId>'
            f"<gmlcov:metadata><gmlcov:Extension>{meta}</gmlcov:Extension></gmlcov:metadata>"
            f'<gml:domainSet><gml:{kind} dimension="{len(labels.split())}"><gml:limits><gml:GridEnvelope>'
            f"<gml:low>{low}</gml:low><gml:high>{high}</gml:high></gml:GridEnvelope></gml:limits>"
            f'<gml:axisLabels>{labels}</gml:axisLabels><gml:origin><gml:Point srsName="{crs}" axisLabels="{labels}">'
            f"<gml:pos>{origin}</gml:pos></gml:Point></gml:origin>{offsets}</gml:{kind}></gml:domainSet>"
            f"<gmlcov:rangeType><swe:DataRecord>{fields}</swe:DataRecord></gmlcov:rangeType>"
            "</wcs:CoverageDescription></wcs:CoverageDescriptions>"
        )
        return "application/xml", doc.encode()

    def _get_coverage(self, req: Request) -> tuple[str, bytes]:
        c = self._coverage(req)
        if req.get("format") != "image/tiff":
            raise FailError(400, "InvalidParameterValue", f"format={req.get('format')!r}")
        subs = self._parse_subsets(req.all("subset"), c)
        t = self._time_index(c, subs)
        c0, c1, r0, r1 = self._window(c, subs)
        arr = c.data[t, :, r0:r1, c0:c1]
        return "image/tiff", self._tiff(arr, c.epsg, c.left + c0 * c.res, c.top - r0 * c.res, c.res)

    def _process(self, req: Request) -> tuple[str, bytes]:
        query = req.get("query")
        if not query:
            raise FailError(400, "MissingParameterValue", "query")
        m = _UDF_QUERY.match(query)
        if m:
            cid, fn, e0, e1, n0, n1 = m.groups()
            if fn != "crop.classify" or self.udf is None:
                raise FailError(400, "WcpsError", f"unknown function {fn}")
            return self._subset_tiff(cid, e0, e1, n0, n1, self.udf)
        m = _ENCODE_QUERY.match(query)
        if m:
            return self._subset_tiff(*m.groups(), None)
        m = _COUNT_QUERY.match(query)
        if m:
            c = self._get(m.group(1))
            return "text/plain", str(int((c.data == int(m.group(2))).sum())).encode()
        raise FailError(400, "WcpsError", f"query not understood by the fake: {query}")

    def _get(self, cid: str) -> Coverage:
        if cid not in self.coverages:
            raise FailError(404, "NoSuchCoverage", f"coverage {cid} does not exist")
        return self.coverages[cid]

    def _subset_tiff(
        self, cid: str, e0: str, e1: str, n0: str, n1: str, fn: Callable[[np.ndarray], np.ndarray] | None
    ) -> tuple[str, bytes]:
        c = self._get(cid)
        c0, c1, r0, r1 = self._window(c, {"E": (e0, e1), "N": (n0, n1)})
        arr = c.data[0, :, r0:r1, c0:c1]
        if fn is not None:
            arr = np.asarray(fn(arr))[None]
        return "image/tiff", self._tiff(arr, c.epsg, c.left + c0 * c.res, c.top - r0 * c.res, c.res)

    @staticmethod
    def _parse_gml(text: str) -> dict[str, Any]:
        root = ET.fromstring(text)
        local = lambda e: e.tag.rsplit("}", 1)[-1]  # noqa: E731
        find = lambda name: [e for e in root.iter() if local(e) == name]  # noqa: E731
        gml_id = next(v for k, v in root.attrib.items() if k.endswith("}id"))
        point = find("Point")[0]
        labels = point.attrib["axisLabels"].split()
        pos = (find("pos")[0].text or "").replace('"', " ").split()
        low = [int(v) for v in (find("low")[0].text or "").split()]
        high = [int(v) for v in (find("high")[0].text or "").split()]
        srs = point.attrib["srsName"]
        epsg = int(re.findall(r"/EPSG/0/(\d+)", srs)[-1])
        vectors = [[float(x) for x in (v.text or "").split()] for v in find("offsetVector")]
        bands = [f.attrib["name"] for f in find("field")]
        nils = [float(n.text) if n.text else None for n in find("nilValue")]
        meta = find("metadata")
        files = find("File")
        if files and (len(files) != 1 or len(find("mimeType")) != 1 or len(find("fileStructure")) != 1):
            # petascope's GMLCIS10ParserService needs exactly one File, mimeType and fileStructure
            raise FailError(
                400, "WCSTWrongNumberOfFileStructureElements", "File needs mimeType and fileStructure"
            )
        if local(root) not in ("RectifiedGridCoverage", "ReferenceableGridCoverage", "GridCoverage"):
            raise FailError(400, "InvalidCoverageType", local(root))
        if not find("boundedBy") or not find("rangeType") or not find("DataRecord"):
            raise FailError(400, "WCSTMissingBoundedBy", "boundedBy/rangeType missing")
        refs = find("fileReference")
        tuples = find("tupleList")
        return {
            "id": gml_id,
            "labels": labels,
            "pos": pos,
            "low": low,
            "high": high,
            "epsg": epsg,
            "vectors": vectors,
            "bands": bands,
            "nils": nils,
            "metadata": meta[0].text if meta else "",
            "file": refs[0].text if refs else None,
            "tuples": tuples[0].text if tuples else None,
            "kind": local(root),
            "srs": srs,
        }

    def _insert(self, req: Request) -> tuple[str, bytes]:
        if req.get("useId") != "existing":
            raise FailError(400, "InvalidParameterValue", f"useId={req.get('useId')!r}")
        ptype = req.get("pixelDataType")
        if ptype not in GDAL_TYPES:
            raise FailError(400, "InvalidParameterValue", f"pixelDataType={ptype!r}")
        text = req.get("coverage")
        if not text:
            raise FailError(400, "WCSTMissingCoverageParameter", "coverage or coverageRef is required")
        g = self._parse_gml(text)
        if g["id"] in self.coverages:
            raise FailError(400, "CoverageIdExists", f"coverage {g['id']} already exists")
        if g["tuples"] is None:
            raise FailError(400, "InvalidRequest", "insert needs a tupleList range set")
        spatial = [lab for lab in g["labels"] if lab in ("E", "N")]
        if spatial != ["E", "N"]:
            raise FailError(400, "InvalidRequest", f"axis labels {g['labels']}")
        i_e, i_n = g["labels"].index("E"), g["labels"].index("N")
        res = g["vectors"][i_e][i_e]
        if g["vectors"][i_n][i_n] != -res:
            raise FailError(400, "InvalidRequest", "offset vectors are not north-up square pixels")
        ox, oy = float(g["pos"][-2]), float(g["pos"][-1])
        dates = [g["pos"][0][:10]] if len(g["labels"]) == 3 else []
        if len(g["labels"]) == 3 and g["labels"][0] != "ansi":
            raise FailError(400, "InvalidRequest", "time axis must come first")
        if any(h != lo for h, lo in zip(g["high"], g["low"], strict=True)):
            raise FailError(
                400, "InvalidRequest", "this fake expects a one-cell initial coverage (as wcst_import sends)"
            )
        if len((g["tuples"] or "").split(",")) != len(g["bands"]):
            raise FailError(
                400, "WCSTWrongNumberOfPixels", "tupleList must hold one value per band of the one cell"
            )
        dtype = GDAL_TYPES[ptype]
        fill = [float(n) if n is not None else 0 for n in g["nils"]] or [0.0] * len(g["bands"])
        data = np.array(fill, dtype=dtype).reshape(1, len(g["bands"]), 1, 1)
        self.coverages[g["id"]] = Coverage(
            g["id"],
            g["epsg"],
            ox - res / 2,
            oy + res / 2,
            res,
            g["bands"],
            list(g["nils"]) or [None] * len(g["bands"]),
            dtype,
            data,
            dates,
            (g["metadata"] or "").strip(),
        )
        return "text/plain", g["id"].encode()

    def _update(self, req: Request) -> tuple[str, bytes]:
        c = self._coverage(req)
        with self.lock:
            if self.fail_updates_after is not None and self.updates_done >= self.fail_updates_after:
                raise FailError(500, "InternalError", "injected permanent failure")
        if "file" not in req.files:
            raise FailError(400, "InvalidRequest", "UpdateCoverage needs the uploaded file")
        text = req.get("inputCoverage")
        if not text:
            raise FailError(400, "WCSTMissingCoverageParameter", "inputCoverage")
        g = self._parse_gml(text)
        if g["id"] != c.coverage_id or g["file"] is None:
            raise FailError(
                400, "InvalidRequest", "inputCoverage must reference the uploaded file for this coverage"
            )
        with MemoryFile(req.files["file"]) as mem, mem.open() as src:
            arr, t = src.read(), src.transform
        if arr.shape[0] != len(c.bands) or np.dtype(arr.dtype) != np.dtype(c.dtype):
            raise FailError(400, "InvalidRequest", f"file has {arr.shape[0]} {arr.dtype} bands")
        subs = self._parse_subsets(req.all("subset"), c)
        if set(subs) != ({"E", "N", "ansi"} if c.dates else {"E", "N"}):
            raise FailError(400, "InvalidSubsetting", f"update subsets {sorted(subs)}")
        e_lo, e_hi = float(subs["E"][0]), float(subs["E"][1] or "nan")
        n_lo, n_hi = float(subs["N"][0]), float(subs["N"][1] or "nan")
        col = (e_lo - c.left) / c.res
        row = (c.top - n_hi) / c.res
        w, h = (e_hi - e_lo) / c.res, (n_hi - n_lo) / c.res
        if not all(abs(v - round(v)) < 1e-6 for v in (col, row, w, h)):
            raise FailError(400, "InvalidSubsetting", "update subsets are not on pixel edges")
        col, row, w, h = round(col), round(row), round(w), round(h)
        if (h, w) != arr.shape[1:] or abs(t.c - e_lo) > 1e-6 or abs(t.f - n_hi) > 1e-6:
            raise FailError(
                400, "InvalidRequest", f"file {arr.shape[1:]} at ({t.c},{t.f}) does not match subsets"
            )
        if col < 0 or row < 0:
            raise FailError(400, "InvalidSubsetting", "the fake does not grow coverages west or north")
        ti = 0
        if c.dates:
            date = subs["ansi"][0].strip('"')
            if date not in c.dates:
                c.dates.append(date)
                c.dates.sort()
                ti = c.dates.index(date)
                fill = np.zeros((1, *c.data.shape[1:]), c.dtype)
                c.data = np.concatenate([c.data[:ti], fill, c.data[ti:]], axis=0)
            ti = c.dates.index(date)
        need_h, need_w = max(c.height, row + h), max(c.width, col + w)
        if (need_h, need_w) != (c.height, c.width):
            grown = np.zeros((c.data.shape[0], c.data.shape[1], need_h, need_w), c.dtype)
            grown[:, :, : c.height, : c.width] = c.data
            c.data = grown
        c.data[ti, :, row : row + h, col : col + w] = arr
        with self.lock:
            self.updates_done += 1
        return "text/plain", b""

    def _delete(self, req: Request) -> tuple[str, bytes]:
        c = self._coverage(req)
        del self.coverages[c.coverage_id]
        return "text/plain", b""

    # -- test helpers -------------------------------------------------------------------------------
    def array(self, cid: str) -> np.ndarray:
        """(T, B, H, W) of a coverage."""
        return self.coverages[cid].data

    def requests(self, op: str) -> list[Request]:
        return [r for r in self.log if r.get("request") == op]

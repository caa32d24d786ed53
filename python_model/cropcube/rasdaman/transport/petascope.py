"""A small petascope (rasdaman OGC front end) client: WCS, WCPS and WCS-T over HTTP(S).

Transport (auth from the environment or ~/.netrc, retries, the deadline of every call, ExceptionReport
parsing) is :class:`cropcube.rasdaman.transport.http.HttpSession`; this module only says what to ask.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import requests

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.grid import AxisSubset
from cropcube.rasdaman.transport.errors import NoSuchCoverageError
from cropcube.rasdaman.transport.gml import CoverageDescription, parse_description
from cropcube.rasdaman.transport.http import HttpSession, RetryPolicy

log = logging.getLogger(__name__)

WCS_VERSION = "2.0.1"
__all__ = ["PetascopeClient", "RetryPolicy"]


class PetascopeClient:
    """Talk to one petascope endpoint, e.g. ``http://localhost:8080/rasdaman/ows``.

    Args:
        endpoint: the OWS endpoint (http or https, no credentials in it).
        policy: retries and time limits.
        session: a prepared requests session (tests).
    """

    def __init__(
        self, endpoint: str, policy: RetryPolicy | None = None, session: requests.Session | None = None
    ) -> None:
        self.http = HttpSession(endpoint, policy, session)
        self.endpoint = self.http.url
        self.policy = self.http.policy

    def __repr__(self) -> str:
        return f"PetascopeClient({ids.redact(self.endpoint)!r})"

    def _send(
        self,
        operation: str,
        method: str,
        params: Sequence[tuple[str, str]] | None = None,
        data: Sequence[tuple[str, str]] | None = None,
        files: dict[str, Any] | None = None,
    ) -> bytes:
        return self.http.send(operation, method, params=params, data=data, files=files)

    @staticmethod
    def _base(request: str) -> list[tuple[str, str]]:
        return [("service", "WCS"), ("version", WCS_VERSION), ("request", request)]

    # -- WCS ---------------------------------------------------------------------------------------

    def get_capabilities(self) -> bytes:
        """The WCS GetCapabilities document."""
        return self._send("GetCapabilities", "GET", [("service", "WCS"), ("request", "GetCapabilities")])

    def coverage_ids(self) -> list[str]:
        """Ids of every coverage the server offers."""
        try:
            root = ET.fromstring(self.get_capabilities())
        except ET.ParseError as exc:
            raise InputError("GetCapabilities", f"answer is not XML ({exc})") from None
        return [e.text.strip() for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "CoverageId" and e.text]

    def describe_coverage(self, coverage_id: str) -> CoverageDescription:
        """Grid, bands, nil values, time axis and metadata of a coverage.

        Raises:
            NoSuchCoverageError: the coverage does not exist.
        """
        ids.coverage_id(coverage_id)
        body = self._send(
            "DescribeCoverage", "GET", [*self._base("DescribeCoverage"), ("coverageId", coverage_id)]
        )
        return parse_description(body, coverage_id)

    def exists(self, coverage_id: str) -> bool:
        """Whether the coverage exists."""
        try:
            self.describe_coverage(coverage_id)
        except NoSuchCoverageError:
            return False
        return True

    def get_coverage(self, coverage_id: str, subsets: Sequence[AxisSubset], fmt: str = "image/tiff") -> bytes:
        """A GetCoverage answer (GeoTIFF by default) of the subsets of a coverage."""
        ids.coverage_id(coverage_id)
        params = [*self._base("GetCoverage"), ("coverageId", coverage_id)]
        params += [("subset", s.kvp()) for s in subsets]
        params.append(("format", _media_type(fmt)))
        return self._send("GetCoverage", "GET", params)

    # -- WCPS --------------------------------------------------------------------------------------

    def process(self, query: str) -> bytes:
        """Run a WCPS query (ProcessCoverages, POSTed so that long queries fit)."""
        return self._send(
            "ProcessCoverages", "POST", data=[*self._base("ProcessCoverages"), ("query", query)]
        )

    # -- WCS-T -------------------------------------------------------------------------------------

    def insert_coverage(self, gml: str, pixel_data_type: str, tiling: str | None = None) -> str:
        """InsertCoverage with an inline GML coverage (``useId=existing``); returns the server's answer."""
        if pixel_data_type not in ("Byte", "UInt16", "Int16", "UInt32", "Int32", "Float32", "Float64"):
            raise InputError("pixelDataType", f"{pixel_data_type!r} is not a GDAL data type name")
        data = [*self._base("InsertCoverage"), ("useId", "existing"), ("pixelDataType", pixel_data_type)]
        if tiling:
            data.append(("tiling", tiling))
        data.append(("coverage", gml))
        return self._send("InsertCoverage", "POST", data=data).decode("utf-8", "replace").strip()

    def update_coverage(
        self,
        coverage_id: str,
        subsets: Sequence[AxisSubset],
        gml: str,
        tiff: bytes,
        filename: str = "tile.tif",
    ) -> None:
        """UpdateCoverage: the inline GML ``inputCoverage`` plus the GeoTIFF uploaded as ``file``.

        This is the multipart POST wcst_import sends when the service is not local
        (``util/url_util.py: send_post_request``).
        """
        ids.coverage_id(coverage_id)
        data = [*self._base("UpdateCoverage"), ("coverageId", coverage_id)]
        data += [("subset", s.kvp()) for s in subsets]
        data.append(("inputCoverage", gml))
        self._send("UpdateCoverage", "POST", data=data, files={"file": (filename, tiff, "image/tiff")})

    def delete_coverage(self, coverage_id: str) -> None:
        """DeleteCoverage."""
        ids.coverage_id(coverage_id)
        self._send("DeleteCoverage", "GET", [*self._base("DeleteCoverage"), ("coverageId", coverage_id)])


def _media_type(fmt: str) -> str:
    allowed = {"image/tiff", "application/netcdf", "image/png", "application/json", "text/csv"}
    if fmt not in allowed:
        raise InputError("format", f"{fmt!r} is not one of {sorted(allowed)}")
    return fmt

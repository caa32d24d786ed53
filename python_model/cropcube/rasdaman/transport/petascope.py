"""A small petascope (rasdaman OGC front end) client: WCS, WCPS and WCS-T over HTTP(S).

Robustness: every request has a timeout; connection errors, read timeouts and 5xx answers are retried
with exponential backoff (urllib3 ``Retry`` through requests' ``HTTPAdapter``); 4xx answers are not
retried. OGC ExceptionReports become :class:`RasdamanError` with their code and text.

Credentials come from ``CROPCUBE_RASDAMAN_USER`` / ``CROPCUBE_RASDAMAN_PASSWORD`` or, when those are
unset, from ``~/.netrc`` for the endpoint's host (requests reads it natively); never from code,
arguments or the URL. Logs and errors show the endpoint without credentials or query.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.grid import AxisSubset
from cropcube.rasdaman.transport.errors import NoSuchCoverageError, RasdamanError, parse_exception_report
from cropcube.rasdaman.transport.gml import CoverageDescription, parse_description

log = logging.getLogger(__name__)

USER_ENV = "CROPCUBE_RASDAMAN_USER"
PASSWORD_ENV = "CROPCUBE_RASDAMAN_PASSWORD"
WCS_VERSION = "2.0.1"
RETRY_STATUS = (500, 502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts after the first, backoff base (s), (connect, read) timeouts (s)."""

    retries: int = 4
    backoff: float = 0.5
    connect_timeout: float = 10.0
    read_timeout: float = 300.0


def credentials_from_env() -> tuple[str, str] | None:
    """``(user, password)`` from the environment, or None (then requests falls back to ~/.netrc)."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user and password is not None:
        return user, password
    return None


class PetascopeClient:
    """Talk to one petascope endpoint, e.g. ``http://localhost:8080/rasdaman/ows``.

    Args:
        endpoint: the OWS endpoint (http or https, no credentials in it).
        policy: retries, backoff and timeouts.
        session: a prepared requests session (tests); by default a new one with retries mounted.
    """

    def __init__(
        self, endpoint: str, policy: RetryPolicy | None = None, session: requests.Session | None = None
    ) -> None:
        self.endpoint = ids.endpoint(endpoint)
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        retry = Retry(
            total=self.policy.retries,
            connect=self.policy.retries,
            read=self.policy.retries,
            status=self.policy.retries,
            other=0,
            backoff_factor=self.policy.backoff,
            status_forcelist=RETRY_STATUS,
            allowed_methods=None,  # POSTs too: every write we send is idempotent (same tile, same data)
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        creds = credentials_from_env()
        if creds is not None:
            self.session.auth = creds

    def __repr__(self) -> str:
        return f"PetascopeClient({ids.redact(self.endpoint)!r})"

    # -- transport --------------------------------------------------------------------------------

    def _send(
        self,
        operation: str,
        method: str,
        params: Sequence[tuple[str, str]] | None = None,
        data: Sequence[tuple[str, str]] | None = None,
        files: dict[str, Any] | None = None,
    ) -> bytes:
        try:
            resp = self.session.request(
                method,
                self.endpoint,
                params=params,
                data=list(data) if data is not None else None,
                files=files,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
            )
        except requests.exceptions.RetryError as exc:
            raise RasdamanError(
                operation, 0, "", f"gave up after {self.policy.retries} retries ({exc.__class__.__name__})"
            ) from None
        except requests.exceptions.Timeout:
            raise RasdamanError(
                operation,
                0,
                "",
                f"timed out after {self.policy.retries} retries ({ids.redact(self.endpoint)})",
            ) from None
        except requests.exceptions.ConnectionError:
            raise RasdamanError(
                operation,
                0,
                "",
                f"cannot connect to {ids.redact(self.endpoint)} after {self.policy.retries} retries",
            ) from None
        body = resp.content
        report = parse_exception_report(body)
        if resp.status_code >= 400 or report is not None:
            code, text = report or ("", body[:300].decode("utf-8", "replace").strip() or resp.reason)
            if resp.status_code == 401:
                text = (
                    f"{text} (authentication required: set {USER_ENV}/{PASSWORD_ENV} "
                    "or a ~/.netrc entry for the host)"
                )
            cls = NoSuchCoverageError if code == "NoSuchCoverage" else RasdamanError
            raise cls(operation, resp.status_code, code, text)
        log.debug("%s %s -> %d (%d bytes)", operation, ids.redact(self.endpoint), resp.status_code, len(body))
        return body

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

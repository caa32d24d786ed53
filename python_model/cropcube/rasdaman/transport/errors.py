"""Errors raised by the rasdaman client: an OGC ExceptionReport, or a server that cannot be reached."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cropcube.errors import CropcubeError


class RasdamanError(CropcubeError):
    """A petascope request failed.

    Attributes:
        operation: the request (e.g. ``"UpdateCoverage"``), never a URL with credentials.
        status: HTTP status (0 when there was no HTTP answer: unreachable, timed out, or rasql).
        code: OGC ``exceptionCode`` when the server sent an ExceptionReport.
        text: the ``ExceptionText`` or a short description of the failure.
    """

    def __init__(self, operation: str, status: int, code: str, text: str) -> None:
        """Create the error; the message says which request failed, how and why."""
        detail = f" [{code}]" if code else ""
        where = f" (HTTP {status})" if status else ""
        super().__init__(f"rasdaman {operation} failed{where}{detail}: {text}")
        self.operation = operation
        self.status = status
        self.code = code
        self.text = text


class NoSuchCoverageError(RasdamanError):
    """The coverage does not exist on the server."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_exception_report(body: bytes) -> tuple[str, str] | None:
    """``(exceptionCode, ExceptionText)`` of an OGC ExceptionReport, or None if ``body`` is none.

    Accepts OWS 1.1/2.0 reports (``ows:ExceptionReport/ows:Exception/ows:ExceptionText``) and WMS
    ``ServiceExceptionReport`` documents, with any namespace prefix.
    """
    head = body[:4096]
    if b"ExceptionReport" not in head:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if not _local(root.tag).endswith("ExceptionReport"):
        return None
    for exc in root.iter():
        if _local(exc.tag) in ("Exception", "ServiceException"):
            code = exc.attrib.get("exceptionCode") or exc.attrib.get("code") or ""
            texts = [t.text or "" for t in exc.iter() if _local(t.tag) == "ExceptionText"]
            text = " ".join(s.strip() for s in texts if s.strip()) or (exc.text or "").strip()
            return code, text or "(no exception text)"
    return "", "(empty exception report)"

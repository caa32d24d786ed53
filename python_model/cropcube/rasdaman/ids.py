"""Checks applied to every value before it enters a WCS/WCPS/rasql request (no query injection).

Coverage ids and axis names are NCName-like identifiers, numbers are finite floats, time values are ISO
dates, intervals are ordered, endpoints are http(s) without credentials in them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from urllib.parse import urlsplit, urlunsplit

from cropcube.errors import InputError
from cropcube.rasdaman.transport import credentials

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # used with fullmatch: no trailing newline
_MAX_IDENTIFIER = 200
_UDF_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?")


class CoverageId(str):
    """A coverage id or rasdaman collection name that passed the check: safe to paste into a query.

    Made once where a name enters (CLI, API); later layers take the value as it is. Constructing one
    from a CoverageId is free.

    Raises:
        InputError: not ``^[A-Za-z_][A-Za-z0-9_]*$`` (spaces, quotes, brackets, dashes, dots, non-ASCII,
            empty), or longer than 200 characters.
    """

    __slots__ = ()

    def __new__(cls, value: str, what: str = "coverage id") -> CoverageId:  # noqa: D102
        if isinstance(value, CoverageId):
            return value
        if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value) or len(value) > _MAX_IDENTIFIER:
            raise InputError(
                what, f"{value!r} is not a valid identifier (letters, digits, '_'; not starting with a digit)"
            )
        return super().__new__(cls, value)


def coverage_id(value: str, what: str = "coverage id") -> CoverageId:
    """``value`` as a :class:`CoverageId` (validated).

    Raises:
        InputError: see :class:`CoverageId`.
    """
    return CoverageId(value, what)


def udf_name(value: str, what: str = "--udf") -> str:
    """Return ``value`` if it is a rasdaman UDF name ``namespace.function`` (two identifiers).

    Raises:
        InputError: anything else (it would be pasted into a WCPS query).
    """
    if not isinstance(value, str) or not _UDF_NAME.fullmatch(value):
        raise InputError(what, f"{value!r} is not 'namespace.function'")
    return value


def axis_name(value: str) -> str:
    """Return ``value`` if it is a safe axis label (same rule as coverage ids)."""
    return coverage_id(value, what="axis name")


def finite(value: float | int | str, what: str) -> float:
    """Return ``value`` as a finite float.

    Raises:
        InputError: not a number, NaN or infinite.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(what, f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise InputError(what, f"{value!r} is not a finite number")
    return number


def seconds(value: float | int, what: str = "--timeout") -> float:
    """Return ``value`` if it is a positive, finite number of seconds (a time limit).

    Raises:
        InputError: zero, negative, NaN, infinite or not a number.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        shown = f"{value:g}" if isinstance(value, int | float) else repr(value)
        raise InputError(what, f"{shown} is not a positive number of seconds")
    return float(value)


def retries(value: int, what: str = "--retries") -> int:
    """Return ``value`` if it is a whole number >= 0 (retries after a first attempt).

    Raises:
        InputError: negative or not a whole number.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(what, f"{value!r} is not a whole number >= 0")
    return value


def host(value: str, what: str = "rasql host") -> str:
    """Return ``value`` if it is a host name or IPv4 address (letters, digits, dots and dashes).

    Raises:
        InputError: anything else (spaces, a scheme, a port, a path, empty).
    """
    if not isinstance(value, str) or not _HOST.fullmatch(value) or len(value) > 253:
        raise InputError(what, f"{value!r} is not a host name or address")
    return value


def port(value: int, what: str = "rasql port") -> int:
    """Return ``value`` if it is a TCP port number (1..65535).

    Raises:
        InputError: out of range or not a whole number.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InputError(what, f"{value!r} is not a port number (1..65535)")
    return value


def interval(lo: float | int | str, hi: float | int | str, what: str) -> tuple[float, float]:
    """Return ``(lo, hi)`` as finite floats with ``lo < hi``."""
    a, b = finite(lo, f"{what} lower bound"), finite(hi, f"{what} upper bound")
    if not a < b:
        raise InputError(what, f"lower bound {a} must be below upper bound {b}")
    return a, b


def iso_date(value: str | dt.date, what: str = "time") -> str:
    """Return an ISO date ``YYYY-MM-DD`` (a date or a date string).

    Raises:
        InputError: anything that is not exactly an ISO calendar date.
    """
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    text = str(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise InputError(what, f"{value!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(what, f"{value!r} is not a valid calendar date") from None


def area(text: str, what: str = "--area") -> tuple[float, float, float, float]:
    """``E_MIN,E_MAX,N_MIN,N_MAX`` (CRS coordinates) -> four finite numbers with min < max per axis.

    Raises:
        InputError: not four numbers, or an empty interval.
    """
    parts = str(text).split(",")
    if len(parts) != 4:
        raise InputError(what, f"{text!r} is not 'E_MIN,E_MAX,N_MIN,N_MAX'")
    e0, e1 = interval(parts[0], parts[1], f"{what} E")
    n0, n1 = interval(parts[2], parts[3], f"{what} N")
    return e0, e1, n0, n1


def cells(text: str, what: str = "--cells") -> tuple[int, int, int, int]:
    """``X0:X1,Y0:Y1`` (inclusive rasdaman grid indices) -> ``(x0, x1, y0, y1)``.

    Raises:
        InputError: not that form, or an empty range.
    """
    m = re.fullmatch(r"\s*(-?\d{1,10}):(-?\d{1,10})\s*,\s*(-?\d{1,10}):(-?\d{1,10})\s*", str(text))
    if not m:
        raise InputError(what, f"{text!r} is not 'X0:X1,Y0:Y1' (inclusive grid indices)")
    x0, x1, y0, y1 = (int(v) for v in m.groups())
    if x1 < x0 or y1 < y0:
        raise InputError(what, f"{text!r} is empty (X1 < X0 or Y1 < Y0)")
    return x0, x1, y0, y1


def endpoint(url: str) -> str:
    """Return the petascope endpoint URL if it is http(s), has a host and carries no credentials.

    Raises:
        InputError: another scheme, no host, user/password in the URL, a query or a fragment.
    """
    parts = urlsplit(str(url).strip())
    if parts.scheme not in ("http", "https"):
        raise InputError("rasdaman endpoint", f"scheme {parts.scheme!r} is not http or https")
    if not parts.hostname:
        raise InputError("rasdaman endpoint", "has no host")
    if parts.username or parts.password:
        raise InputError(
            "rasdaman endpoint",
            f"must not contain credentials; {credentials.HINT}",
        )
    if parts.query or parts.fragment:
        raise InputError("rasdaman endpoint", "must not contain a query string or fragment")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def redact(url: str) -> str:
    """The URL without user info and query string, safe to print in logs and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))

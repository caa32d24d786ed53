"""Run rasql statements through petascope's ``/rasdaman/rasql`` endpoint (used by the UDF deployment).

Why not the ``rasql`` program: it takes the password only as ``--passwd`` on its command line, where
every user of the machine sees it in ``ps`` and shells log it. petascope's endpoint takes HTTP basic
authentication instead (the one HTTP session of the transport: credentials from the environment or
``~/.netrc``, never in URLs or logs; retries and a deadline per statement).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

import requests

from cropcube.errors import CropcubeError
from cropcube.rasdaman import ids
from cropcube.rasdaman.transport.credentials import DEFAULT_ENDPOINT, URL_ENV
from cropcube.rasdaman.transport.errors import RasdamanError
from cropcube.rasdaman.transport.http import HttpSession, RetryPolicy

log = logging.getLogger(__name__)
__all__ = ["DEFAULT_ENDPOINT", "URL_ENV", "PetascopeRasql", "RasqlError", "rasql_url"]


class RasqlError(CropcubeError):
    """rasdaman rejected a statement (or could not be reached); the message says which and why."""


def rasql_url(endpoint: str) -> str:
    """The rasql endpoint beside a petascope OWS endpoint (``.../rasdaman/ows`` -> ``.../rasdaman/rasql``).

    Raises:
        InputError: not an http(s) URL, or credentials, a query or a fragment inside it.
    """
    parts = urlsplit(ids.endpoint(endpoint))
    path = re.sub(r"/(ows|rasql)?/?$", "", parts.path) + "/rasql"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class PetascopeRasql:
    """Send rasql statements to one petascope.

    Args:
        endpoint: the OWS endpoint, e.g. ``http://localhost:8080/rasdaman/ows``.
        timeout: seconds per statement (the whole call).
        session: a prepared requests session (tests).
    """

    def __init__(
        self, endpoint: str, timeout: float = 600.0, session: requests.Session | None = None
    ) -> None:
        self.http = HttpSession(rasql_url(endpoint), RetryPolicy.for_timeout(timeout, retries=2), session)
        self.url = self.http.url

    def __call__(self, statement: str) -> str:
        """Run one statement and return the server's answer as text.

        Raises:
            RasqlError: the server answered with an error, or gave no answer in time.
        """
        log.info("rasql %s: %s", self.http.where, statement[:200])
        try:
            body = self.http.send("rasql", "POST", data={"query": statement})
        except RasdamanError as exc:
            raise RasqlError(str(exc)) from None
        return body.decode("utf-8", "replace")

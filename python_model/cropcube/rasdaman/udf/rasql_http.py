"""Run rasql statements through petascope's ``/rasdaman/rasql`` endpoint (used by the UDF deployment).

Why not the ``rasql`` program: it takes the password only as ``--passwd`` on its command line, where
every user of the machine sees it in ``ps`` and shells log it. petascope's endpoint takes HTTP basic
authentication instead: credentials come from ``CROPCUBE_RASDAMAN_USER`` / ``CROPCUBE_RASDAMAN_PASSWORD``
or, when unset, from ``~/.netrc`` for the host (requests reads it), and never appear in URLs or logs.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import urlsplit, urlunsplit

import requests

from cropcube.errors import CropcubeError, InputError

log = logging.getLogger(__name__)

USER_ENV = "CROPCUBE_RASDAMAN_USER"
PASSWORD_ENV = "CROPCUBE_RASDAMAN_PASSWORD"  # the variable's name, not a secret
URL_ENV = "CROPCUBE_RASDAMAN_URL"
DEFAULT_ENDPOINT = "http://localhost:8080/rasdaman/ows"


class RasqlError(CropcubeError):
    """rasdaman rejected a statement; the message is the server's answer."""


def rasql_url(endpoint: str) -> str:
    """The rasql endpoint beside a petascope OWS endpoint (``.../rasdaman/ows`` -> ``.../rasdaman/rasql``).

    Raises:
        InputError: not an http(s) URL, or credentials inside it.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("rasdaman endpoint", f"{endpoint!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise InputError(
            "rasdaman endpoint",
            f"must not contain credentials; set {USER_ENV}/{PASSWORD_ENV} or use ~/.netrc",
        )
    path = re.sub(r"/(ows|rasql)?/?$", "", parts.path) + "/rasql"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class PetascopeRasql:
    """Send rasql statements to one petascope.

    Args:
        endpoint: the OWS endpoint, e.g. ``http://localhost:8080/rasdaman/ows``.
        timeout: seconds per statement (connect, read).
        session: a prepared requests session (tests).
    """

    def __init__(
        self, endpoint: str, timeout: float = 600.0, session: requests.Session | None = None
    ) -> None:
        self.url = rasql_url(endpoint)
        self.timeout = timeout
        self.session = session or requests.Session()
        user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
        if user and password is not None:
            self.session.auth = (user, password)

    def __call__(self, statement: str) -> str:
        """Run one statement and return the server's answer as text.

        Raises:
            RasqlError: the server answered with an error.
        """
        log.info("rasql %s: %s", self.url, statement[:200])
        try:
            resp = self.session.post(self.url, data={"query": statement}, timeout=(10.0, self.timeout))
        except requests.exceptions.RequestException as exc:
            raise RasqlError(f"cannot reach {self.url} ({type(exc).__name__})") from None
        text = resp.content.decode("utf-8", "replace")
        if resp.status_code >= 400 or "ExceptionReport" in text or "<ExceptionText" in text:
            detail = re.sub(r"<[^>]+>", " ", text)
            detail = " ".join(detail.split())[:500] or resp.reason
            if resp.status_code == 401:
                detail += f" (authentication required: set {USER_ENV}/{PASSWORD_ENV} or a ~/.netrc entry)"
            raise RasqlError(f"rasql failed (HTTP {resp.status_code}): {detail}")
        return text

"""Where rasdaman addresses and credentials come from: the environment or ``~/.netrc``, named once here.

Credentials never come from code, arguments or URLs, and never appear in logs or errors. Sending them
in clear text (plain ``http``, or rasmgr's unencrypted protocol) to a host other than this machine is
allowed, with a warning.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from urllib.parse import urlsplit

import requests.utils

log = logging.getLogger(__name__)

USER_ENV = "CROPCUBE_RASDAMAN_USER"
PASSWORD_ENV = "CROPCUBE_RASDAMAN_PASSWORD"  # the variable's name, not a secret
URL_ENV = "CROPCUBE_RASDAMAN_URL"
RASQL_HOST_ENV = "CROPCUBE_RASQL_HOST"
RASQL_PORT_ENV = "CROPCUBE_RASQL_PORT"
DEFAULT_ENDPOINT = "http://localhost:8080/rasdaman/ows"
DEFAULT_RASQL_HOST = "localhost"
DEFAULT_RASQL_PORT = 7001
READ_ONLY_LOGIN = ("rasguest", "rasguest")
"""rasdaman's public read-only account, used for reads over rasql when no credentials are set."""

HINT = f"set {USER_ENV}/{PASSWORD_ENV} or a ~/.netrc entry for the host"
_warned: set[str] = set()
"""Hosts warned about in this process: one warning per host, whatever the protocol or the number of calls."""


def from_env() -> tuple[str, str] | None:
    """``(user, password)`` from the environment, or None."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user and password is not None:
        return user, password
    return None


def from_netrc(url: str) -> tuple[str, str] | None:
    """``(login, password)`` of ``~/.netrc`` (or ``$NETRC``) for the URL's host, or None."""
    found = requests.utils.get_netrc_auth(url)
    return (str(found[0]), str(found[1])) if found else None


def rasql_login(host: str, write: bool) -> tuple[str, str]:
    """The rasdaman account for rasql through rasmgr at ``host``: environment, netrc, else rasguest.

    Raises:
        InputError: a write is asked for and no credentials are configured.
    """
    found = from_env() or from_netrc(f"http://{host}")
    if found:
        return found
    if write:
        from cropcube.errors import InputError

        raise InputError("rasdaman credentials", f"writing needs a write-enabled account: {HINT}")
    return READ_ONLY_LOGIN


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    name = host.strip("[]").lower()
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(name, None))
    except (OSError, ValueError):
        return False


def warn_if_clear_text(url: str, what: str = "credentials") -> bool:
    """Log a warning (once per process and host) when ``what`` would travel unencrypted to another machine.

    Args:
        url: ``http://...``, ``https://...`` or ``rasql://host:port`` (rasmgr's protocol is not encrypted).
        what: what would travel.

    Returns:
        Whether the warning applies.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" or is_loopback(host):
        return False
    if host.lower() not in _warned:
        _warned.add(host.lower())
        log.warning(
            "%s travel unencrypted (%s) to %s, another machine; use https or a tunnel",
            what,
            "plain http" if parts.scheme == "http" else "rasmgr's protocol",
            host,
        )
    return True

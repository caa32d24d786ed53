"""How a job reaches rasdaman: petascope over HTTP or rasql through rasmgr, chosen by one rule.

A :class:`Route` is checked when it is made and contacts nothing; jobs first check all their other
inputs, then ask the route which transport to use (:meth:`Route.choose`), then connect. So a bad
argument is reported before any connection, probe or credential lookup.

The rule of ``transport="auto"``: petascope when an endpoint is set (``--endpoint`` or
``$CROPCUBE_RASDAMAN_URL``) and answers GetCapabilities; with an endpoint that does not answer, a
warning and rasql; with no endpoint, rasql at ``rasql_host:rasql_port`` (no probe). A failure to reach
rasmgr after that choice says how to pick petascope instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.transport import credentials
from cropcube.rasdaman.transport.errors import RasdamanError

if TYPE_CHECKING:
    from cropcube.rasdaman.transport.petascope import PetascopeClient
    from cropcube.rasdaman.transport.rasql import RasqlConnection

log = logging.getLogger(__name__)

TRANSPORTS = ("auto", "petascope", "rasql")
Kind = Literal["petascope", "rasql"]
PROBE_SECONDS = 10.0
"""Longest wait for petascope's GetCapabilities when ``auto`` decides."""


@dataclass(frozen=True)
class Route:
    """The transport and addresses of one job.

    Attributes:
        transport: ``auto``, ``petascope`` or ``rasql``.
        endpoint: petascope's OWS endpoint (http/https), or None.
        rasql_host: rasmgr's host.
        rasql_port: rasmgr's port.
        retries: retries of a petascope call (connection errors, timeouts, 5xx).
        timeout: wall time of one call in seconds (every retry included; connecting included).

    Raises:
        InputError: any attribute is invalid (checked on construction).
    """

    transport: str = "auto"
    endpoint: str | None = None
    rasql_host: str = credentials.DEFAULT_RASQL_HOST
    rasql_port: int = credentials.DEFAULT_RASQL_PORT
    retries: int = 4
    timeout: float = 300.0

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise InputError("--transport", f"{self.transport!r} is not one of {', '.join(TRANSPORTS)}")
        if self.endpoint is not None:
            object.__setattr__(self, "endpoint", ids.endpoint(self.endpoint))
        ids.host(self.rasql_host, "--rasql-host")
        ids.port(self.rasql_port, "--rasql-port")
        ids.retries(self.retries)
        object.__setattr__(self, "timeout", ids.seconds(self.timeout))

    @property
    def rasql_where(self) -> str:
        """The address of rasmgr, for messages."""
        return f"{self.rasql_host}:{self.rasql_port}"

    def choose(self) -> Kind:
        """``"petascope"`` or ``"rasql"`` by the rule of the module docstring (``auto`` may probe).

        Raises:
            InputError: ``petascope`` asked for and no endpoint set.
        """
        if self.transport == "rasql":
            return "rasql"
        if self.endpoint is None:
            if self.transport == "petascope":
                raise _no_endpoint()
            return "rasql"
        if self.transport == "petascope":
            return "petascope"
        probe = self._petascope(0, min(self.timeout, PROBE_SECONDS))
        try:
            probe.get_capabilities()
        except RasdamanError as exc:
            log.warning(
                "petascope at %s does not answer (%s); using rasql at %s",
                probe.http.where,
                exc,
                self.rasql_where,
            )
            return "rasql"
        return "petascope"

    def petascope(self) -> PetascopeClient:
        """A client of the endpoint (nothing is sent yet).

        Raises:
            InputError: no endpoint set.
        """
        if self.endpoint is None:
            raise _no_endpoint()
        return self._petascope(self.retries, self.timeout)

    def rasql(self, write: bool) -> RasqlConnection:
        """An open rasql connection (writes need credentials; reads default to rasguest).

        Raises:
            InputError: writing without credentials, or rasdapy3 missing.
            RasdamanError: rasmgr cannot be reached; with ``auto`` and no endpoint the message says
                how to use petascope instead.
        """
        from cropcube.rasdaman.transport.rasql import RasqlConnection

        try:
            return RasqlConnection(self.rasql_host, self.rasql_port, write=write, timeout=self.timeout)
        except RasdamanError as exc:
            if self.transport != "auto" or self.endpoint is not None:
                raise
            raise RasdamanError(
                exc.operation,
                exc.status,
                exc.code,
                f"{exc.text}; --transport auto chose rasql because no petascope endpoint is set "
                f"(--endpoint or {credentials.URL_ENV})",
            ) from None

    def _petascope(self, retries: int, timeout: float) -> PetascopeClient:
        from cropcube.rasdaman.transport.http import RetryPolicy
        from cropcube.rasdaman.transport.petascope import PetascopeClient

        assert self.endpoint is not None
        return PetascopeClient(self.endpoint, RetryPolicy.for_timeout(timeout, retries))


def _no_endpoint() -> InputError:
    return InputError("--endpoint", f"give the petascope endpoint or set {credentials.URL_ENV}")

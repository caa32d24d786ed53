"""The one HTTP session of cropcube's rasdaman transport: auth, retries, a deadline per call, errors.

Every call is bounded in wall time, all attempts included: the connection attempt by
``connect_timeout``, silence on the socket by ``read_timeout``, and the whole call by ``deadline``. The
deadline is enforced by a watchdog that shuts the socket down, so a server that accepts and never
answers, or trickles one byte at a time, cannot hold a call longer than the deadline.

Retried (with exponential backoff, within the deadline): refused or reset connections, connect and
read timeouts, HTTP 500/502/503/504. Never retried: other answers (4xx): the request is wrong.
OGC ExceptionReports become :class:`RasdamanError` with their code and text. Messages name the
endpoint without credentials or query and say which limit was hit.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.transport import credentials
from cropcube.rasdaman.transport.errors import NoSuchCoverageError, RasdamanError, parse_exception_report

log = logging.getLogger(__name__)

RETRY_STATUS = (500, 502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard and how long to try one call.

    Attributes:
        retries: attempts after the first (>= 0).
        backoff: first pause between attempts in seconds, doubled each time.
        connect_timeout: seconds to establish a connection.
        read_timeout: longest silence of the server within one attempt, seconds.
        deadline: wall time of the whole call (all attempts, pauses, the body) in seconds; None =
            ``(retries + 1) * (connect_timeout + read_timeout)``.

    Raises:
        InputError: a negative retry count or a timeout that is not a positive finite number.
    """

    retries: int = 4
    backoff: float = 0.5
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    deadline: float | None = None

    def __post_init__(self) -> None:
        ids.retries(self.retries)
        for name in ("connect_timeout", "read_timeout", "deadline"):
            value = getattr(self, name)
            if value is not None or name != "deadline":
                ids.seconds(value, f"--timeout ({name})")
        if not math.isfinite(self.backoff) or self.backoff < 0:
            raise InputError("backoff", f"{self.backoff!r} is not a number of seconds >= 0")

    @classmethod
    def for_timeout(cls, timeout: float, retries: int = 4) -> RetryPolicy:
        """The policy of a ``--timeout`` (the whole call, every attempt included) and ``--retries``."""
        ids.seconds(timeout)
        return cls(
            retries=retries,
            connect_timeout=min(10.0, float(timeout)),
            read_timeout=float(timeout),
            deadline=float(timeout),
        )

    @property
    def total(self) -> float:
        """The deadline of one call in seconds."""
        if self.deadline is not None:
            return self.deadline
        return (self.retries + 1) * (self.connect_timeout + self.read_timeout)


# -- the watchdog: shuts down the sockets of a call that passed its deadline --------------------------

_current = threading.local()


class _Watch:
    """The connections one call uses; at the deadline their sockets are shut down."""

    def __init__(self, seconds: float) -> None:
        self.connections: list[HTTPConnection] = []
        self.fired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watch:
        _current.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current.watch = None

    def add(self, connection: HTTPConnection) -> None:
        with self._lock:
            self.connections.append(connection)
            if self.fired:
                _shut(connection)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for connection in self.connections:
                _shut(connection)


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.add(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.add(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections report to the current call's watchdog (no own retries)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


# -- the session ---------------------------------------------------------------------------------------


class HttpSession:
    """Calls to one rasdaman HTTP endpoint (petascope's ``/rasdaman/ows`` or ``/rasdaman/rasql``).

    Args:
        url: the endpoint (http or https, no credentials, query or fragment in it).
        policy: retries and time limits.
        session: a prepared requests session (tests); by default a new one.
    """

    def __init__(
        self, url: str, policy: RetryPolicy | None = None, session: requests.Session | None = None
    ) -> None:
        self.url = ids.endpoint(url)
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        adapter = _WatchedAdapter(max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        env_login = credentials.from_env()
        if env_login is not None:
            self.session.auth = env_login
        self.sends_credentials = env_login is not None or credentials.from_netrc(self.url) is not None
        if self.sends_credentials:
            credentials.warn_if_clear_text(self.url, "rasdaman credentials")

    def __repr__(self) -> str:
        return f"HttpSession({ids.redact(self.url)!r})"

    @property
    def where(self) -> str:
        """The endpoint as it may appear in messages."""
        return ids.redact(self.url)

    def send(
        self,
        operation: str,
        method: str,
        params: Sequence[tuple[str, str]] | None = None,
        data: Sequence[tuple[str, str]] | dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        url: str | None = None,
    ) -> bytes:
        """One call: the answer's body, or an error that says what failed and why.

        Raises:
            RasdamanError: no answer within the limits, or an error answer (ExceptionReport or HTTP >= 400).
        """
        p = self.policy
        target = url or self.url
        start = time.monotonic()
        end = start + p.total
        attempts = 0
        last_problem = ""
        form: Any = dict(data) if isinstance(data, dict) else (list(data) if data is not None else None)
        while True:
            attempts += 1
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise self._deadline_error(operation, attempts - 1)
            try:
                with _Watch(remaining) as watch:
                    try:
                        resp = self.session.request(
                            method,
                            target,
                            params=params,
                            data=form,
                            files=files,
                            timeout=(min(p.connect_timeout, remaining), min(p.read_timeout, remaining)),
                        )
                        body = resp.content  # read inside the watch: the body counts too
                    except requests.exceptions.RequestException:
                        if watch.fired:
                            raise self._deadline_error(operation, attempts) from None
                        raise
            except requests.exceptions.ConnectTimeout:
                last_problem = f"cannot connect to {self.where} within {p.connect_timeout:g} s"
            except requests.exceptions.ReadTimeout:
                last_problem = (
                    f"{self.where} accepted the connection but sent no answer for {p.read_timeout:g} s"
                )
            except requests.exceptions.ConnectionError as exc:
                last_problem = _connection_problem(exc, self.where)
            except requests.exceptions.RequestException as exc:  # broken answer: not retried
                raise RasdamanError(
                    operation, 0, "", f"{self.where} sent a broken answer ({type(exc).__name__})"
                ) from None
            else:
                if resp.status_code in RETRY_STATUS and attempts <= p.retries:
                    last_problem = f"HTTP {resp.status_code}"
                    self._pause(attempts, end, resp.headers.get("Retry-After"))
                    continue
                self._raise_for_answer(operation, resp, body, attempts)
                log.debug("%s %s -> %d (%d bytes)", operation, self.where, resp.status_code, len(body))
                return body
            if attempts > p.retries:
                tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
                raise RasdamanError(operation, 0, "", f"{last_problem} ({tries})")
            log.info("%s: %s; retrying", operation, last_problem)
            self._pause(attempts, end, None)

    def _pause(self, attempt: int, end: float, retry_after: str | None) -> None:
        pause = self.policy.backoff * 2 ** (attempt - 1)
        if retry_after and retry_after.strip().isdigit():
            pause = max(pause, float(retry_after))
        time.sleep(max(0.0, min(pause, end - time.monotonic())))

    def _deadline_error(self, operation: str, attempts: int) -> RasdamanError:
        return RasdamanError(
            operation,
            0,
            "",
            f"no complete answer from {self.where} within {self.policy.total:g} s "
            f"(the time limit of one call, --timeout; {attempts} attempt{'s' if attempts != 1 else ''})",
        )

    def _raise_for_answer(self, operation: str, resp: requests.Response, body: bytes, attempts: int) -> None:
        report = parse_exception_report(body)
        if resp.status_code < 400 and report is None:
            return
        code, text = report or ("", _plain_text(body) or resp.reason or "error")
        if resp.status_code == 401:
            text = (
                f"the server refused the credentials sent ({text})"
                if self.sends_credentials
                else f"the server wants credentials ({text}); {credentials.HINT}"
            )
        elif resp.status_code in RETRY_STATUS and attempts > 1:
            text = f"{text} (after {attempts} attempts)"
        cls = NoSuchCoverageError if code == "NoSuchCoverage" else RasdamanError
        raise cls(operation, resp.status_code, code, text)


def _plain_text(body: bytes) -> str:
    import re

    text = re.sub(r"<[^>]+>", " ", body[:2000].decode("utf-8", "replace"))
    return " ".join(text.split())[:500]


def _connection_problem(exc: requests.exceptions.ConnectionError, where: str) -> str:
    text = str(exc)
    for marker, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
    ):
        if marker in text:
            return f"cannot connect to {where} ({reason})"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset" in text.lower():
        return f"{where} closed the connection without an answer"
    return f"cannot connect to {where} ({type(exc).__name__})"

"""Network hardening (issue 16): every call bounded in wall time, clear messages, checks before work.

Misbehaving servers are real sockets on 127.0.0.1: one that accepts and never answers, one that trickles
its answer a byte at a time (in the headers or in the body).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_petascope import FakePetascope
from rasdaman_scene import Scene, ToyClassifier, reference_classes, toy_metadata
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.errors import InputError
from cropcube.rasdaman.ingest.job import ingest
from cropcube.rasdaman.progress import ProgressRecord
from cropcube.rasdaman.transport.errors import RasdamanError
from cropcube.rasdaman.transport.http import HttpSession, RetryPolicy
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.writeback.job import classify_coverage

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 40\r\n\r\n" + b"<x>" + b"." * 33 + b"</x>"
)


class BadServer:
    """A TCP server on 127.0.0.1 that misbehaves: ``silent`` or ``trickle`` (one byte per ``pause``)."""

    def __init__(self, behaviour: str, pause: float = 0.3) -> None:
        self.behaviour, self.pause = behaviour, pause
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/rasdaman/ows"
        self.connections = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if self.behaviour == "silent":
                self._stop.wait(60)
            else:
                start = 0 if self.behaviour == "trickle" else ANSWER.index(b"\r\n\r\n") + 4
                conn.sendall(ANSWER[:start])
                for i in range(start, len(ANSWER)):
                    if self._stop.wait(self.pause):
                        break
                    conn.sendall(ANSWER[i : i + 1])
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[BadServer]:
    server = BadServer("silent")
    yield server
    server.stop()


@pytest.fixture(params=["trickle", "trickle_body"])
def trickle(request: pytest.FixtureRequest) -> Iterator[BadServer]:
    server = BadServer(request.param, pause=0.3)
    yield server
    server.stop()


def _timed(call: object) -> tuple[float, Exception]:
    start = time.monotonic()
    try:
        call()  # type: ignore[operator]
    except Exception as exc:  # the test inspects it
        return time.monotonic() - start, exc
    raise AssertionError("the call returned")


def test_a_server_that_never_answers_is_bounded_by_the_timeout(silent: BadServer) -> None:
    client = PetascopeClient(silent.url, RetryPolicy.for_timeout(1.5, retries=3))
    took, err = _timed(client.coverage_ids)
    assert isinstance(err, RasdamanError) and took < 1.5 + 1.0
    assert "cannot connect" not in str(err)  # it accepted the connection: that is not a connect failure
    assert "1.5 s" in str(err)


def test_a_trickling_server_is_bounded_by_the_timeout_not_per_read(trickle: BadServer) -> None:
    # 64 bytes at one byte per 0.3 s would take ~20 s; every single read is quick, the call is not
    client = PetascopeClient(trickle.url, RetryPolicy.for_timeout(1.5, retries=0))
    took, err = _timed(client.coverage_ids)
    assert isinstance(err, RasdamanError) and took < 1.5 + 1.0, (took, err)
    assert "within 1.5 s" in str(err) and "--timeout" in str(err)


def test_a_read_timeout_says_so_and_not_cannot_connect(silent: BadServer) -> None:
    client = PetascopeClient(
        silent.url, RetryPolicy(retries=1, backoff=0.0, connect_timeout=1.0, read_timeout=0.4, deadline=5.0)
    )
    took, err = _timed(client.coverage_ids)
    assert "sent no answer for 0.4 s (2 attempts)" in str(err) and "cannot connect" not in str(err)
    assert silent.connections == 2 and took < 2.0


def test_connection_refused_says_cannot_connect() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = PetascopeClient(f"http://127.0.0.1:{port}/ows", RetryPolicy(retries=1, backoff=0.0))
    _, err = _timed(client.coverage_ids)
    assert "cannot connect to http://127.0.0.1" in str(err) and "connection refused" in str(err)


def test_401_message_says_it_once(fake: FakePetascope, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.auth = ("rasadmin", "right")
    monkeypatch.setenv("NETRC", "/nonexistent")
    monkeypatch.delenv("CROPCUBE_RASDAMAN_USER", raising=False)
    monkeypatch.delenv("CROPCUBE_RASDAMAN_PASSWORD", raising=False)
    _, err = _timed(PetascopeClient(fake.url, RetryPolicy(retries=0)).coverage_ids)
    text = str(err)
    assert text.count("authentication required") == 1 and "CROPCUBE_RASDAMAN_USER" in text
    monkeypatch.setenv("CROPCUBE_RASDAMAN_USER", "rasadmin")
    monkeypatch.setenv("CROPCUBE_RASDAMAN_PASSWORD", "wrong")
    _, err = _timed(PetascopeClient(fake.url, RetryPolicy(retries=0)).coverage_ids)
    assert "refused the credentials" in str(err) and "wrong" not in str(err)


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://10.20.30.40:8080/rasdaman/ows", True),
        ("http://127.0.0.1:8080/rasdaman/ows", False),
        ("http://localhost:8080/rasdaman/ows", False),
        ("https://10.20.30.41:8443/rasdaman/ows", False),
    ],
)
def test_credentials_over_plain_http_to_another_host_warn(
    url: str, warned: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from cropcube.rasdaman.transport import credentials

    monkeypatch.setattr(credentials, "_warned", set())
    monkeypatch.setenv("CROPCUBE_RASDAMAN_USER", "u")
    monkeypatch.setenv("CROPCUBE_RASDAMAN_PASSWORD", "p")
    with caplog.at_level(logging.WARNING):
        HttpSession(url)
    assert any("unencrypted" in r.getMessage() for r in caplog.records) is warned
    caplog.clear()
    monkeypatch.delenv("CROPCUBE_RASDAMAN_USER")
    monkeypatch.setenv("NETRC", "/nonexistent")
    monkeypatch.setattr(credentials, "_warned", set())
    with caplog.at_level(logging.WARNING):
        HttpSession(url)  # no credentials: nothing to warn about
    assert not caplog.records


def test_clear_text_warning_once_per_process_and_host(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One job may talk to a host over petascope and rasql, with several sessions: one warning (h19's
    demo showed it on every call)."""
    from cropcube.rasdaman.transport import credentials

    monkeypatch.setattr(credentials, "_warned", set())
    monkeypatch.setenv("CROPCUBE_RASDAMAN_USER", "u")
    monkeypatch.setenv("CROPCUBE_RASDAMAN_PASSWORD", "p")
    with caplog.at_level(logging.WARNING):
        HttpSession("http://10.20.30.40:8080/rasdaman/ows")
        HttpSession("http://10.20.30.40:8080/rasdaman/rasql")
        PetascopeClient("http://10.20.30.40:8080/rasdaman/ows")
        assert credentials.warn_if_clear_text("rasql://10.20.30.40:7001", "rasdaman credentials")
        HttpSession("http://10.20.30.41:8080/rasdaman/ows")  # another host: its own warning
    warned = [r.getMessage() for r in caplog.records if "unencrypted" in r.getMessage()]
    assert len(warned) == 2 and "to 10.20.30.40," in warned[0] and "to 10.20.30.41," in warned[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "0"], "0 is not a positive number of seconds"),
        (["--timeout", "-5"], "-5 is not a positive number of seconds"),
        (["--timeout", "nan"], "nan is not a positive number of seconds"),
        (["--retries", "-1"], "'--retries': Input should be greater than or equal to 0"),
        (["--retries", "21"], "'--retries': Input should be less than or equal to 20"),
        (["--timeout", "1e9"], "1e+09 s is more than a day"),
    ],
)
@pytest.mark.parametrize("command", ["query", "classify", "ingest"])
def test_bad_numbers_are_refused(command: str, args: list[str], message: str, fake: FakePetascope) -> None:
    positional = {"query": ["x"], "classify": ["a", "b"], "ingest": []}[command]
    result = CliRunner().invoke(
        app, ["rasdaman", command, *positional, *args], env={"CROPCUBE_RASDAMAN_URL": fake.url}
    )
    assert result.exit_code == 2 and message in result.output
    assert not fake.log  # nothing was sent


def test_query_has_a_timeout(silent: BadServer) -> None:
    start = time.monotonic()
    result = CliRunner().invoke(
        app,
        ["rasdaman", "query", "--transport", "petascope", "--timeout", "1", "for $c in (x) return 1"],
        env={"CROPCUBE_RASDAMAN_URL": silent.url},
    )
    assert result.exit_code == 2 and time.monotonic() - start < 3.0
    assert len(result.output.splitlines()) == 1 and result.output.startswith(
        "error: rasdaman ProcessCoverages"
    )
    assert "within 1 s" in result.output


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The console script in a fresh process: what a user sees (no traceback allowed)."""
    code = "import sys; from cropcube.cli.main import main; sys.argv = ['cropcube', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_unwritable_output_and_text_cube_are_clear_errors(
    fake: FakePetascope, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    env = {**os.environ, "CROPCUBE_RASDAMAN_URL": fake.url, "NETRC": "/nonexistent"}
    text = tmp_path / "notes.txt"
    text.write_text("not a raster\n")
    cases = [
        (["rasdaman", "query", "-o", str(text / "a.tif"), "q"], "is a file, not a folder"),
        (["rasdaman", "query", "-o", str(tmp_path), "q"], "is a directory"),
        (["rasdaman", "ingest", "--cube", str(text)], "is not a raster GDAL can read"),
        (["rasdaman", "ingest", "--cube", str(tmp_path)], "is a directory, expected a file"),
    ]
    for args, message in cases:
        done = _cli(args, env)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert not fake.requests("ProcessCoverages") and not fake.requests("InsertCoverage")


@pytest.fixture
def ingested(client: PetascopeClient, scene: Scene, tmp_path: Path) -> Scene:
    ingest(client, scene.cube_path, None, tmp_path / "ingest", layout="2d", method="wcst", tile_size=64)
    return scene


def test_invalid_udf_is_rejected_before_the_output_exists(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    inserts = len(fake.requests("InsertCoverage"))
    with pytest.raises(InputError, match=r"namespace\.function"):
        classify_coverage(
            client,
            "S2_features_2d",
            "crops",
            toy_metadata(),
            mode="udf",
            udf="crop.classify($c), x(",
            progress_path=tmp_path / "p.json",
        )
    assert len(fake.requests("InsertCoverage")) == inserts and "crops" not in fake.coverages
    result = CliRunner().invoke(
        app,
        ["rasdaman", "classify", "S2_features_2d", "crops", "--mode", "udf", "--udf", "drop table"],
        env={"CROPCUBE_RASDAMAN_URL": fake.url, "NETRC": "/nonexistent"},
    )
    assert (
        result.exit_code == 2
        and "Invalid value for '--udf': 'drop table' is not 'namespace.function'" in (result.output)
    )
    assert "crops" not in fake.coverages


def test_killed_between_create_and_first_progress_save_resumes_its_own_coverage(
    client: PetascopeClient,
    fake: FakePetascope,
    ingested: Scene,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = ProgressRecord.set

    def die_on_created(self: ProgressRecord, name: str, value: object) -> None:
        if name == "created":
            raise KeyboardInterrupt("killed right after InsertCoverage")
        original(self, name, value)

    monkeypatch.setattr(ProgressRecord, "set", die_on_created)
    with pytest.raises(KeyboardInterrupt):
        classify_coverage(
            client,
            "S2_features_2d",
            "crops",
            toy_metadata(),
            classifier=ToyClassifier(),
            tile_size=16,
            progress_path=tmp_path / "p.json",
        )
    assert "crops" in fake.coverages
    monkeypatch.setattr(ProgressRecord, "set", original)
    report = classify_coverage(
        client,
        "S2_features_2d",
        "crops",
        toy_metadata(),
        classifier=ToyClassifier(),
        tile_size=16,
        progress_path=tmp_path / "p.json",
    )
    assert not report.created and report.tiles_written == 9
    assert (fake.array("crops")[0, 0] == reference_classes(ingested.cube)).all()

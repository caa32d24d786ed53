"""The transport rule (transport/route.py) and the order of a job: every check before any contact.

`--transport auto`: petascope when an endpoint is set and answers GetCapabilities; an endpoint that does
not answer: a warning, then rasql; no endpoint: rasql at --rasql-host:--rasql-port without a probe, and
a failure to reach rasmgr says how to use petascope instead. Bad inputs of every rasdaman command are
reported before anything is sent, probed or looked up (credentials, ~/.netrc).
"""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path

import pytest
from fake_petascope import FakePetascope
from rasdaman_scene import Scene
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.errors import InputError
from cropcube.rasdaman.transport import credentials
from cropcube.rasdaman.transport.errors import RasdamanError
from cropcube.rasdaman.transport.route import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from fixture_bundle import make_fixture_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fixture_bundle(tmp_path_factory.mktemp("bundle") / "fixture.pt")


@pytest.fixture
def closed_url(closed_port: int) -> str:
    return f"http://127.0.0.1:{closed_port}/rasdaman/ows"


def test_auto_without_an_endpoint_is_rasql_without_a_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    from cropcube.rasdaman.transport import petascope

    def no_call(*args: object, **kwargs: object) -> None:
        raise AssertionError("petascope was contacted")

    monkeypatch.setattr(petascope.PetascopeClient, "__init__", no_call)
    assert Route().choose() == "rasql"
    assert Route("rasql", "http://h:8080/rasdaman/ows").choose() == "rasql"


def test_auto_with_an_answering_endpoint_is_petascope(fake: FakePetascope) -> None:
    assert Route(endpoint=fake.url).choose() == "petascope"
    assert len(fake.requests("GetCapabilities")) == 1
    assert Route("petascope", fake.url).choose() == "petascope"  # no probe when asked for by name
    assert len(fake.requests("GetCapabilities")) == 1


def test_auto_with_an_endpoint_that_does_not_answer_warns_and_uses_rasql(
    closed_url: str, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        kind = Route(endpoint=closed_url, rasql_host="127.0.0.1", rasql_port=closed_port).choose()
    assert kind == "rasql"
    said = " ".join(r.getMessage() for r in caplog.records)
    assert f"petascope at {closed_url} does not answer" in said and "connection refused" in said
    assert f"using rasql at 127.0.0.1:{closed_port}" in said


def test_petascope_without_an_endpoint_is_an_error() -> None:
    with pytest.raises(
        InputError, match=r"--endpoint: give the petascope endpoint or set CROPCUBE_RASDAMAN_URL$"
    ):
        Route("petascope").choose()
    with pytest.raises(InputError, match="--endpoint"):
        Route("rasql").petascope()


def test_rasmgr_out_of_reach_says_how_to_use_petascope(closed_port: int, closed_url: str) -> None:
    pytest.importorskip("rasdapy")
    where = f"cannot connect to rasdaman at 127.0.0.1:{closed_port}"
    with pytest.raises(RasdamanError, match=where) as auto:
        Route(rasql_host="127.0.0.1", rasql_port=closed_port, timeout=20).rasql(write=False)
    assert "--transport auto chose rasql because no petascope endpoint is set" in str(auto.value)
    assert "CROPCUBE_RASDAMAN_URL" in str(auto.value)
    for route in (
        Route("rasql", None, "127.0.0.1", closed_port, timeout=20),
        Route("auto", closed_url, "127.0.0.1", closed_port, timeout=20),
    ):
        with pytest.raises(RasdamanError, match=where) as asked:
            route.rasql(write=False)
        assert "no petascope endpoint" not in str(asked.value)  # the user chose rasql, or gave an endpoint


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"transport": "http"}, "--transport"),
        ({"endpoint": "ftp://h/ows"}, "rasdaman endpoint"),
        ({"rasql_host": "h:7001"}, "--rasql-host"),
        ({"rasql_port": 0}, "--rasql-port"),
        ({"retries": -1}, "--retries"),
        ({"timeout": float("nan")}, "--timeout"),
        ({"timeout": 0}, "--timeout"),
    ],
)
def test_a_route_is_checked_when_made(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(InputError, match=named):
        Route(**kwargs)  # type: ignore[arg-type]


BAD = [
    "ingest",
    "ingest --cube {text}",
    "ingest --cube {scene_dir}",
    "ingest --cube {cube} --labels {cube}",
    "ingest --cube {cube} --layout 4d",
    "ingest --cube {cube} --method ftp",
    "ingest --cube {cube} --tile-size 8",
    "ingest --cube {cube} --features-id a-b",
    "ingest --cube {cube} --work-dir {text}",
    "ingest --cube {cube} --timeout 0",
    "ingest --cube {cube} --layout 3d --transport rasql",
    "classify in;x out",
    "classify in in",
    "classify in out --mode udf --udf x",
    "classify in out --mode magic",
    "classify in out --writer pen",
    "classify in out --area 1,2,3",
    "classify in out --area 1,2,3,4 --cells 0:1,0:1",
    "classify in out --cells 5:1,0:1",
    "classify in out --model {text}",
    "classify in out --progress {scene_dir}",
    "classify in out --retries -1",
    "classify in out --mode udf --transport rasql",
    "classify in out --area 1,2,3,4 --transport rasql",
    "query ''",
    "query x -o {scene_dir}",
    "query x --rasql-port 0",
    "query x --rasql-host 'a b'",
    "deploy",
    "deploy --rmanhome {text}",
    "deploy --rmanhome {scene_dir} --language rust",
]


@pytest.mark.parametrize("argv", BAD)
def test_bad_inputs_reach_no_server_and_no_credentials(
    argv: str, fake: FakePetascope, scene: Scene, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []

    def record(name: str) -> object:
        def lookup(*args: object, **kwargs: object) -> None:
            looked_up.append(name)

        return lookup

    for name in ("from_env", "from_netrc", "rasql_login"):
        monkeypatch.setattr(credentials, name, record(name))
    text = scene.cube_path.parent / "notes.txt"
    text.write_text("not a raster\n")
    names = {"cube": scene.cube_path, "text": text, "scene_dir": scene.cube_path.parent}
    args = ["rasdaman", *(a.format(**names) for a in shlex.split(argv))]
    env = {"CROPCUBE_RASDAMAN_URL": fake.url, "CROPCUBE_MODEL": str(bundle), "RMANHOME": ""}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert not fake.log, [r.get("request") for r in fake.log]  # not even GetCapabilities
    assert not looked_up

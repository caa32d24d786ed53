"""`cropcube rasdaman deploy|undeploy`: the plan, its execution on a scratch RMANHOME, the rasql transport."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.errors import InputError
from cropcube.inference.config import resolve_model_path
from cropcube.rasdaman.udf import deploy
from cropcube.rasdaman.udf.deploy import (
    DeployOptions,
    InstallFile,
    Rasql,
    RemoveFile,
    RemoveFolder,
    RunCommand,
    WriteFile,
)
from cropcube.rasdaman.udf.executor import DeployError, execute
from cropcube.rasdaman.udf.rasql_http import PetascopeRasql, RasqlError, rasql_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rmanhome(tmp_path: Path) -> Path:
    home = tmp_path / "rasdaman"
    (home / "etc").mkdir(parents=True)
    return home


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "my_model.pt"
    path.write_bytes(b"bundle bytes")
    return path


class FakeServer:
    """Records statements; answers like rasdaman (delete of an unregistered function fails with 441)."""

    def __init__(self, smoke_answer: str = deploy.SMOKE_DOMAIN) -> None:
        self.statements: list[str] = []
        self.registered: set[str] = set()  # function names
        self.smoke_answer = smoke_answer

    def __call__(self, statement: str) -> str:
        self.statements.append(statement)
        name = statement.split()[2] if "function" in statement.split()[:2] else ""
        if statement.startswith("delete function"):
            if name not in self.registered:
                raise RasqlError("rasql failed (HTTP 400): Execution error 441 ...: UDF function not found.")
            self.registered.discard(name)
        elif statement.startswith("create function"):
            self.registered.add(name)
        elif "sdom(" in statement:
            return self.smoke_answer
        return ""


def _script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def test_cpp_deploy_builds_installs_restarts_then_registers(
    rmanhome: Path, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cpp plan executed on a scratch RMANHOME, with a cmake and rasdaman scripts that only record."""
    events = tmp_path / "events"
    # cmake stand-in: records its call; "--build" leaves what the real build leaves.
    _script(
        tmp_path / "bin" / "cmake",
        f'echo "cmake $*" >> {events}\n'
        'if [ "$1" = --build ]; then mkdir -p "$2/rasdaman"; echo so > "$2/rasdaman/crop.so"; '
        'echo kernel > "$2/libcropcube_kernel.so"; fi\n',
    )
    for name in ("stop_rasdaman.sh", "start_rasdaman.sh"):
        _script(rmanhome / "bin" / name, f'echo "{name}" >> {events}\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    class Recording(FakeServer):
        def __call__(self, statement: str) -> str:
            with events.open("a") as f:
                f.write(f"rasql {statement.split(' (')[0].split('(')[0]}\n")
            return super().__call__(statement)

    build = tmp_path / "build"
    opts = DeployOptions(
        rmanhome=rmanhome, model=bundle, build_dir=build, torch_cmake_prefix="/torch", wcps=False
    )
    server = Recording()
    execute(deploy.plan_deploy(opts), server, echo=lambda _: None)
    log = events.read_text().splitlines()
    assert log[0].startswith(f"cmake -S {ROOT / 'udf'} -B {build}") and f"-DRMANHOME={rmanhome}" in log[0]
    assert "-DCMAKE_PREFIX_PATH=/torch" in log[0] and log[1] == f"cmake --build {build} --target crop_udf"
    # Restarted after every file is in place and before the function is registered; smoke query last.
    assert log[2:] == [
        "stop_rasdaman.sh",
        "start_rasdaman.sh",
        "rasql delete function crop.classify",
        "rasql create function crop.classify",
        "rasql delete function crop.classify_dates",
        "rasql create function crop.classify_dates",
        "rasql select sdom",
    ]
    udf_dir = rmanhome / "share" / "rasdaman" / "udf"
    assert (udf_dir / "crop.so").read_text() == "so\n" and (
        udf_dir / "crop.so"
    ).stat().st_mode & 0o777 == 0o755
    assert (udf_dir / "libcropcube_kernel.so").read_text() == "kernel\n"  # beside crop.so ($ORIGIN)
    assert server.registered and server.statements[1].endswith('language cpp extern "crop.so"')
    # The UDFs find the installed bundle through the config the deploy wrote (the one reader).
    for var in ("CROPCUBE_MODEL", "CROPCUBE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RMANHOME", str(rmanhome))
    assert resolve_model_path(None) == udf_dir / "cropcube" / "my_model.pt"
    assert (udf_dir / "cropcube" / "my_model.pt").read_bytes() == bundle.read_bytes()
    assert [p.name for p in rmanhome.rglob("*") if ".cctmp." in p.name] == []


def test_python_plan_and_wcps_class(rmanhome: Path, bundle: Path) -> None:
    war = rmanhome / "share" / "rasdaman" / "war" / "rasdaman.war"
    war.parent.mkdir(parents=True)
    war.write_bytes(b"war")
    opts = DeployOptions(
        rmanhome=rmanhome, model=bundle, language="python", restart=(("systemctl", "restart", "rasdaman"),)
    )
    steps = deploy.plan_deploy(opts)
    assert not any(isinstance(s, RunCommand) and s.argv[0] == "cmake" for s in steps)
    targets = {s.target.name for s in steps if isinstance(s, InstallFile)}
    assert targets == {"my_model.pt", "crop.jar"}
    assert any(isinstance(s, WriteFile) and s.target.name == "crop.py" for s in steps)
    java = next(s for s in steps if isinstance(s, RunCommand) and s.argv[0].endswith("build.sh"))
    assert java.argv[1] == str(war)
    assert any(isinstance(s, RunCommand) and s.argv == ("systemctl", "restart", "rasdaman") for s in steps)
    create = [s.statement for s in steps if isinstance(s, Rasql)][1]
    assert (
        create == 'create function crop.classify (array cube) returns array language python extern "crop.py"'
    )


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"language": "java"}, "--language"),
        ({"rmanhome": Path("/no/such/rasdaman")}, "/no/such/rasdaman"),
        ({"model": Path("/no/such/model.pt")}, "/no/such/model.pt"),
    ],
)
def test_plan_rejects_bad_options(rmanhome: Path, bundle: Path, change: dict[str, Any], what: str) -> None:
    opts = DeployOptions(**({"rmanhome": rmanhome, "model": bundle} | change))
    with pytest.raises(InputError, match=re.escape(what)):
        deploy.plan_deploy(opts)


def test_deploy_twice_then_undeploy(rmanhome: Path, bundle: Path) -> None:
    opts = DeployOptions(
        rmanhome=rmanhome,
        model=bundle,
        language="python",
        restart=(),
        python_path=(Path("/site"), Path("/venv/site-packages")),
    )
    server = FakeServer()
    lines: list[str] = []
    execute(deploy.plan_deploy(opts), server, echo=lines.append)
    udf_dir = rmanhome / "share" / "rasdaman" / "udf"
    installed = (udf_dir / "crop.py").read_text()
    assert "SITE: tuple[str, ...] = ('/site', '/venv/site-packages')" in installed
    assert (
        installed.replace("'/site', '/venv/site-packages'", "")
        == (ROOT / "udf" / "python" / "crop.py").read_text()
    )
    assert (udf_dir / "cropcube" / "my_model.pt").read_bytes() == b"bundle bytes"
    conf = (rmanhome / "etc" / "cropcube.conf").read_text()
    assert f"model = {udf_dir / 'cropcube' / 'my_model.pt'}" in conf
    from cropcube.inference.config import read_settings  # the file the deploy writes is valid settings

    settings = read_settings({"CROPCUBE_CONFIG": str(rmanhome / "etc" / "cropcube.conf")})
    assert settings.model == str(udf_dir / "cropcube" / "my_model.pt")
    assert server.registered == {"crop.classify", "crop.classify_dates"}
    assert len(lines) == len(deploy.plan_deploy(opts))
    # Upgrade in place: the second run deletes the registration first, then creates it again.
    execute(deploy.plan_deploy(opts), server, echo=lines.append)
    assert [s.split(" (")[0] for s in server.statements if "function" in s and "sdom" not in s] == [
        "delete function crop.classify",
        "create function crop.classify",
        "delete function crop.classify_dates",
        "create function crop.classify_dates",
    ] * 2
    assert "crop.classify_dates (array cube, array doy)" in server.statements[-2]
    assert not [p for p in udf_dir.rglob("*") if ".cctmp." in p.name]  # nothing half-written left behind

    execute(deploy.plan_undeploy(opts), server, echo=lines.append)
    assert not server.registered
    assert not (udf_dir / "crop.py").exists() and not (udf_dir / "cropcube").exists()
    assert not (rmanhome / "etc" / "cropcube.conf").exists()
    execute(deploy.plan_undeploy(opts), server, echo=lines.append)  # undeploying again is harmless


def test_failed_smoke_query_stops_the_deployment(rmanhome: Path, bundle: Path) -> None:
    opts = DeployOptions(rmanhome=rmanhome, model=bundle, language="python", restart=())
    with pytest.raises(DeployError, match=r"smoke query.*expected '\[10:13,20:24\]'"):
        execute(deploy.plan_deploy(opts), FakeServer(smoke_answer="[0:3,0:4]"), echo=lambda _: None)


def test_failed_command_names_the_step(rmanhome: Path, bundle: Path) -> None:
    opts = DeployOptions(rmanhome=rmanhome, model=bundle, language="python", restart=(("false",),))
    with pytest.raises(DeployError, match="run: false: exit status 1"):
        execute(deploy.plan_deploy(opts), FakeServer(), echo=lambda _: None)


def test_undeploy_plan(rmanhome: Path, bundle: Path) -> None:
    steps = deploy.plan_undeploy(DeployOptions(rmanhome=rmanhome, model=bundle, restart=()))
    assert isinstance(steps[0], Rasql) and steps[0].statement == "delete function crop.classify"
    assert steps[0].ignore == deploy.NOT_REGISTERED
    removed = {s.target.name for s in steps if isinstance(s, RemoveFile | RemoveFolder)}
    assert removed == {"crop.so", "libcropcube_kernel.so", "crop.py", "crop.jar", "cropcube.conf", "cropcube"}


def test_cli_dry_run_shows_steps_and_no_credentials(
    rmanhome: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROPCUBE_RASDAMAN_USER", "rasadmin")
    monkeypatch.setenv("CROPCUBE_RASDAMAN_PASSWORD", "s3cret-pw")
    result = CliRunner().invoke(
        app, ["rasdaman", "deploy", "--rmanhome", str(rmanhome), "--model", str(bundle), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert 'extern "crop.so"' in result.output
    assert "s3cret-pw" not in result.output
    result = CliRunner().invoke(app, ["rasdaman", "undeploy", "--rmanhome", str(rmanhome), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "delete function crop.classify" in result.output


def test_rasql_url_and_credentials() -> None:
    assert rasql_url("http://localhost:8080/rasdaman/ows") == "http://localhost:8080/rasdaman/rasql"
    assert rasql_url("https://h.example/rasdaman/") == "https://h.example/rasdaman/rasql"
    with pytest.raises(InputError, match="must not contain credentials"):
        rasql_url("http://rasadmin:pw@localhost:8080/rasdaman/ows")
    with pytest.raises(InputError, match="not http or https"):
        rasql_url("ftp://localhost/rasdaman/ows")


class FakeResponse:
    def __init__(self, status: int, body: str) -> None:
        self.status_code, self.content, self.reason, self.headers = status, body.encode(), "reason", {}


class FakeSession:
    def __init__(self, response: FakeResponse) -> None:
        self.response, self.auth, self.calls = response, None, []  # type: ignore[var-annotated]

    def mount(self, prefix: str, adapter: object) -> None:
        pass

    def request(self, method: str, url: str, data: dict[str, str], **kwargs: object) -> FakeResponse:
        assert method == "POST"
        self.calls.append((url, data))
        return self.response


def test_petascope_rasql_sends_auth_outside_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROPCUBE_RASDAMAN_USER", "rasadmin")
    monkeypatch.setenv("CROPCUBE_RASDAMAN_PASSWORD", "pw")
    session = FakeSession(FakeResponse(200, "[10:13,20:24]"))
    run = PetascopeRasql("http://localhost:8080/rasdaman/ows", session=session)  # type: ignore[arg-type]
    assert run("select sdom(c) from c") == "[10:13,20:24]"
    assert session.auth == ("rasadmin", "pw")
    assert session.calls == [("http://localhost:8080/rasdaman/rasql", {"query": "select sdom(c) from c"})]


def test_petascope_rasql_error_answer() -> None:
    report = (
        "<ows:ExceptionReport><ows:Exception><ows:ExceptionText>Execution error 441: UDF function not found."
        "</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"
    )
    run = PetascopeRasql("http://localhost:8080/rasdaman/ows", session=FakeSession(FakeResponse(400, report)))  # type: ignore[arg-type]
    with pytest.raises(RasqlError, match=r"HTTP 400.*UDF function not found"):
        run("delete function crop.classify")


def test_no_register_builds_and_installs_only(rmanhome: Path, bundle: Path) -> None:
    opts = DeployOptions(rmanhome=rmanhome, model=bundle, register=False, restart=(("restart",),))
    steps = deploy.plan_deploy(opts)
    assert not any(isinstance(s, Rasql) for s in steps)
    assert not any(isinstance(s, RunCommand) and s.argv == ("restart",) for s in steps)
    assert any(isinstance(s, InstallFile) and s.target.name == "crop.so" for s in steps)
    assert isinstance(steps[-1], WriteFile) and steps[-1].target.name == "cropcube.conf"


def test_dry_run_needs_no_installation() -> None:
    from typer.testing import CliRunner

    from cropcube.cli.main import app

    for command in (["rasdaman", "deploy", "--dry-run"], ["rasdaman", "undeploy", "--dry-run"]):
        result = CliRunner().invoke(app, command, env={"RMANHOME": ""})
        assert result.exit_code == 0, (result.output, result.exception)
        assert "$RMANHOME/share/rasdaman/udf/crop.so" in result.output

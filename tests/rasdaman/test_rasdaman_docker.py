"""The docker compose demo where no Docker engine runs (CI): static checks with the real tools.

The compose file goes through docker-compose 1.29's own ``config`` (in a venv of its own: it pins PyYAML<6),
the Dockerfiles through hadolint, the shell scripts through ``bash -n`` and shellcheck; the health check runs
with stand-ins for rasql and curl. The demo itself runs end to end with ``scripts/docker_demo_test.sh`` on a
machine with an engine (docs/rasdaman.md, "docker compose demo").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cropcube.rasdaman.udf.deploy import RasdamanPaths

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOCKER = ROOT / "docker"
COMPOSE_VERSION = "1.29.2"
BUNDLE_IN_CONTAINERS = "/opt/cropcube/bundle/cropcube.pt"
PACKAGED_BUNDLE = (
    ROOT / "python_model" / "cropcube" / "resources" / "models" / "cropcube_default_synthetic.pt"
)
BUILD_CONTEXT_COPIES = [DOCKER / "rasdaman" / "install", DOCKER / "wheels", DOCKER / "certs"]  # git-ignored


def _ours(pattern: str) -> list[Path]:
    """The project's files under docker/, not what a build copied into its git-ignored folders."""
    found = DOCKER.rglob(pattern)
    return sorted(p for p in found if not any(p.is_relative_to(d) for d in BUILD_CONTEXT_COPIES))


SHELL_SCRIPTS = [*_ours("*.sh"), ROOT / "scripts" / "docker_demo_test.sh"]
DOCKERFILES = _ours("Dockerfile")
CREDENTIALS = "CROPCUBE_RASDAMAN_USER=rasadmin\nCROPCUBE_RASDAMAN_PASSWORD=not-a-real-one\n"
SECRET_WORDS = re.compile(r"(password|passwd|secret|token)[ \t]*[:=][ \t]*['\"]?[^\s'\"$]+", re.I)


def _tool(name: str) -> str:
    """A tool of the dev extra (beside this Python), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    assert found, f"{name} not found: install the dev extra (scripts/install.sh --dev)"
    return found


@pytest.fixture(scope="session")
def docker_compose(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docker-compose 1.29 in its own venv (kept in .venv/ between runs)."""
    base = ROOT / ".venv" if (ROOT / ".venv").is_dir() else tmp_path_factory.mktemp("compose")
    venv = base / f"docker-compose-{COMPOSE_VERSION}"
    exe = venv / "bin" / "docker-compose"
    if not exe.is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
        env = os.environ | {"PIP_CONSTRAINT": str(HERE / "docker_compose_constraints.txt")}
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run(
            [*pip, "-r", str(HERE / "docker_compose_requirements.txt")], check=True, env=env, timeout=900
        )
    return exe


def _compose_config(exe: Path, env_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "compose.env"
    env_file.write_text(env_text)
    # Only the env file speaks: compose lets the shell's variables override it.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    cmd = [str(exe), "-f", str(DOCKER / "docker-compose.yml"), "--env-file", str(env_file), "config"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)


def _resolved(exe: Path, env_text: str, tmp_path: Path) -> dict[str, Any]:
    done = _compose_config(exe, env_text, tmp_path)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config["services"]


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (volume name or host path), from compose's resolved short syntax."""
    mounts = {}
    for entry in service["volumes"]:
        source, target, *_ = entry.split(":")
        mounts[target] = source
    return mounts


def test_compose_public_defaults(docker_compose: Path, tmp_path: Path) -> None:
    services = _resolved(docker_compose, CREDENTIALS, tmp_path)
    rasdaman, cropcube = services["rasdaman"], services["cropcube"]
    assert (
        rasdaman["build"]["args"].items()
        >= {
            "BASE_IMAGE": "ubuntu:22.04",
            "RASDAMAN_SOURCE": "deb",
            "RASDAMAN_EDITION": "community",
            "RASDAMAN_HOME": "/opt/rasdaman",
            "TORCH_INDEX_URL": "https://download.pytorch.org/whl/cpu",
        }.items()
    )
    assert cropcube["build"]["args"]["BASE_IMAGE"] == "python:3.11.9-slim-bookworm"
    assert cropcube["build"]["args"]["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert rasdaman["build"]["network"] == cropcube["build"]["network"] == "default"
    # published on the loopback only
    assert rasdaman["ports"] and all(p.startswith("127.0.0.1:") for p in rasdaman["ports"])
    assert "ports" not in cropcube
    # start order, one-shot job, the health check script of the image
    assert cropcube["depends_on"]["rasdaman"]["condition"] == "service_healthy"
    assert cropcube["restart"] == "no"
    assert rasdaman["healthcheck"]["test"] == ["CMD", "/usr/local/bin/healthcheck.sh"]
    assert rasdaman["hostname"] == "rasdaman"  # entrypoint.sh announces it as the rasservers' host
    env = cropcube["environment"]
    assert env["CROPCUBE_RASDAMAN_URL"] == "http://rasdaman:8080/rasdaman/ows"
    assert env["CROPCUBE_RASQL_HOST"] == "rasdaman"
    # the bundle: one file mounted into both, deployed by rasdaman into the volume cropcube reads at /models
    paths = RasdamanPaths(Path("/opt/rasdaman"))
    ras_mounts, job_mounts = _mounts(rasdaman), _mounts(cropcube)
    assert ras_mounts[str(paths.bundle_dir)] == job_mounts["/models"] == "cropcube_models"
    assert any(v.endswith("cropcube_models:/models:ro") for v in cropcube["volumes"])
    assert ras_mounts[str(paths.rmanhome / "data")] == "rasdaman_data"
    assert ras_mounts[BUNDLE_IN_CONTAINERS] == job_mounts[BUNDLE_IN_CONTAINERS] == str(PACKAGED_BUNDLE)
    assert PACKAGED_BUNDLE.is_file()


def test_env_example_states_the_defaults(docker_compose: Path, tmp_path: Path) -> None:
    example = (DOCKER / ".env.example").read_text().replace("PASSWORD=\n", "PASSWORD=not-a-real-one\n")
    defaults = _resolved(docker_compose, CREDENTIALS, tmp_path)
    assert _resolved(docker_compose, example, tmp_path) == defaults


def test_compose_here_local_bases_install_folder_local_wheel(docker_compose: Path, tmp_path: Path) -> None:
    local = (
        "RASDAMAN_SOURCE=install\nRASDAMAN_HOME=/root/rasbuild/install\nRASDAMAN_BASE_IMAGE=local/bookworm\n"
        "CROPCUBE_BASE_IMAGE=local/bookworm\nRASDAMAN_VERSION=local\nTORCH_INDEX_URL=\n"
        "CROPCUBE_BUILD_NETWORK=host\nCROPCUBE_WCS_PORT=18080\n"
    )
    services = _resolved(docker_compose, CREDENTIALS + local, tmp_path)
    rasdaman, cropcube = services["rasdaman"], services["cropcube"]
    for service in (rasdaman, cropcube):
        assert service["build"]["args"]["BASE_IMAGE"] == "local/bookworm"
        assert service["build"]["args"]["TORCH_INDEX_URL"] == ""  # empty: the wheel from docker/wheels/
        assert service["build"]["network"] == "host"
    assert rasdaman["build"]["args"]["RASDAMAN_SOURCE"] == "install"
    assert rasdaman["image"] == "cropcube/rasdaman:local-install-community"
    assert rasdaman["ports"] == ["127.0.0.1:18080:8080/tcp"]
    home = RasdamanPaths(Path("/root/rasbuild/install"))
    mounts = _mounts(rasdaman)
    assert mounts[str(home.rmanhome / "data")] == "rasdaman_data"
    assert mounts[str(home.bundle_dir)] == "cropcube_models"


def test_compose_enterprise(docker_compose: Path, tmp_path: Path) -> None:
    services = _resolved(docker_compose, CREDENTIALS + "RASDAMAN_EDITION=enterprise\n", tmp_path)
    assert services["rasdaman"]["build"]["args"]["RASDAMAN_EDITION"] == "enterprise"
    assert services["rasdaman"]["image"].endswith("-enterprise")
    assert services["cropcube"]["environment"]["RASDAMAN_EDITION"] == "enterprise"
    # the rasdaman service deploys with the credentials (petascope's rasql endpoint)
    assert set(services["rasdaman"]["environment"]) == {
        "CROPCUBE_RASDAMAN_USER",
        "CROPCUBE_RASDAMAN_PASSWORD",
    }


def test_compose_without_credentials_names_the_file(docker_compose: Path, tmp_path: Path) -> None:
    done = _compose_config(docker_compose, "CROPCUBE_RASDAMAN_USER=rasadmin\n", tmp_path)
    assert done.returncode != 0
    assert "CROPCUBE_RASDAMAN_PASSWORD" in done.stderr and "set it in docker/.env" in done.stderr


def test_dockerfiles_pass_hadolint() -> None:
    config = DOCKER / "hadolint.yaml"
    done = subprocess.run(
        [_tool("hadolint"), "--config", str(config), "--no-color", *map(str, DOCKERFILES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(DOCKERFILES) == 2


def test_shell_scripts_parse_and_pass_shellcheck() -> None:
    for script in SHELL_SCRIPTS:
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{script}: {done.stderr}"
        assert os.access(script, os.X_OK), f"{script} is not executable"
    done = subprocess.run(
        [_tool("shellcheck"), *map(str, SHELL_SCRIPTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _stages(dockerfile: Path) -> tuple[dict[str, str], list[str]]:
    """Global ARG defaults and the FROM lines of a Dockerfile."""
    text = dockerfile.read_text()
    head = text.split("\nFROM ", 1)[0]
    args = dict(re.findall(r"^ARG (\w+)=(\S*)", head, re.M))
    return args, re.findall(r"^FROM (.+)$", text, re.M)


def test_rasdaman_image_routes_select_existing_stages() -> None:
    args, froms = _stages(DOCKER / "rasdaman" / "Dockerfile")
    names = {line.split(" AS ")[1] for line in froms if " AS " in line}
    assert args["RASDAMAN_SOURCE"] == "deb" and args["RASDAMAN_EDITION"] == "community"
    assert "rasdaman-${RASDAMAN_SOURCE} AS core" in froms and froms[-1] == "edition-${RASDAMAN_EDITION}"
    assert {"rasdaman-deb", "rasdaman-install", "edition-community", "edition-enterprise"} <= names
    text = (DOCKER / "rasdaman" / "Dockerfile").read_text()
    assert (
        'apt-get install -y --no-install-recommends -o Dpkg::Options::="--force-confdef" "rasdaman=${' in text
    )
    # enterprise: crop.so from this image's headers at build time, registration at start
    assert "cropcube rasdaman deploy --rmanhome" in text and "--no-register" in text
    entrypoint = (DOCKER / "rasdaman" / "entrypoint.sh").read_text()
    assert "cropcube rasdaman deploy --rmanhome" in entrypoint and "--no-register" not in entrypoint
    assert f"{BUNDLE_IN_CONTAINERS}" in entrypoint
    assert f"{BUNDLE_IN_CONTAINERS}" in (DOCKER / "cropcube" / "demo.sh").read_text()


def test_default_base_images_are_pinned() -> None:
    for dockerfile in DOCKERFILES:
        args, _ = _stages(dockerfile)
        assert re.search(r":\d", args["BASE_IMAGE"]), f"{dockerfile}: unpinned default {args['BASE_IMAGE']}"
        text = dockerfile.read_text()
        assert "ARG TORCH_VERSION=2.13.0" in text or dockerfile.parent.name == "rasdaman"
    assert "ARG RASDAMAN_VERSION=10.2.5" in (DOCKER / "rasdaman" / "Dockerfile").read_text()


def test_no_secrets_baked_in() -> None:
    files = [*DOCKERFILES, DOCKER / "docker-compose.yml", *SHELL_SCRIPTS, DOCKER / ".env.example"]
    for path in files:
        text = re.sub(r"\$\{[^}]*\}", "", path.read_text())  # interpolations from .env are fine
        assert not SECRET_WORDS.search(text), f"{path} seems to contain a credential"
        assert "ENV CROPCUBE_RASDAMAN_PASSWORD" not in text
    ignored = (DOCKER / ".gitignore").read_text().split()
    assert ".env" in ignored and "rasdaman/install/*" in ignored and "certs/*" in ignored
    assert ".env" not in (ROOT / ".dockerignore").read_text().replace("docker/.env", "")


# ------------------------------------------------------------------ the health check, with stand-ins
def _fake_program(path: Path, exit_code: int, output: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'#!/bin/sh\necho \'{output}\'\necho "$0 $*" >> "$(dirname "$0")/calls"\nexit {exit_code}\n'
    )
    path.chmod(0o755)


def _healthcheck(tmp_path: Path, *args: str, ready: bool = True) -> subprocess.CompletedProcess[str]:
    ready_file = tmp_path / "ready"
    if ready:
        ready_file.touch()
    env = {
        "PATH": f"{tmp_path / 'fakebin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "RMANHOME": str(tmp_path / "rmanhome"),
        "CROPCUBE_READY_FILE": str(ready_file),
    }
    script = DOCKER / "rasdaman" / "healthcheck.sh"
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.mark.parametrize("answers", [True, False])
def test_healthcheck_core_only_asks_rasql(tmp_path: Path, answers: bool) -> None:
    _fake_program(tmp_path / "rmanhome" / "bin" / "rasql", 0 if answers else 1, "rasdaman 9.5.0")
    _fake_program(tmp_path / "fakebin" / "curl", 0, "<wcs:Capabilities/>")
    done = _healthcheck(tmp_path)
    assert (done.returncode == 0) is answers
    assert "select version()" in (tmp_path / "rmanhome" / "bin" / "calls").read_text()
    assert not (tmp_path / "fakebin" / "calls").exists()  # no petascope here: WCS is not asked


@pytest.mark.parametrize(
    ("curl_exit", "output", "healthy"), [(0, "<wcs:Capabilities>", True), (22, "", False)]
)
def test_healthcheck_with_petascope_asks_wcs(
    tmp_path: Path, curl_exit: int, output: str, healthy: bool
) -> None:
    (tmp_path / "rmanhome" / "etc").mkdir(parents=True)
    (tmp_path / "rmanhome" / "etc" / "petascope.properties").write_text("java_server=embedded\n")
    _fake_program(tmp_path / "rmanhome" / "bin" / "rasql", 0)
    _fake_program(tmp_path / "fakebin" / "curl", curl_exit, output)
    done = _healthcheck(tmp_path)
    assert (done.returncode == 0) is healthy
    assert "request=GetCapabilities" in (tmp_path / "fakebin" / "calls").read_text()


def test_healthcheck_waits_for_the_init_step(tmp_path: Path) -> None:
    _fake_program(tmp_path / "rmanhome" / "bin" / "rasql", 0)
    done = _healthcheck(tmp_path, ready=False)
    assert done.returncode == 1 and "init step" in done.stdout
    assert _healthcheck(tmp_path, "--server", ready=False).returncode == 0  # what entrypoint.sh waits with

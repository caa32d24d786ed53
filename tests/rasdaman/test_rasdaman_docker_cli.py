"""The docker demo job runs only commands and options the tested CLI has.

``docker/cropcube/demo.sh`` runs with a stand-in ``cropcube`` that records its arguments (and a ``curl``
that answers as the server would); every recorded command line is then resolved against the real
``cropcube`` command: the subcommand must exist, every option must be one of its options, and the
number of positional arguments must be what it takes. A demo that drifts from the CLI fails here,
without a Docker engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from cropcube.cli.main import app

DEMO = Path(__file__).resolve().parents[2] / "docker" / "cropcube" / "demo.sh"
_RECORDER = """#!{python}
import json, sys
with open({log!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def _run_demo(tmp_path: Path, edition: str, petascope: bool) -> list[list[str]]:
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    log = tmp_path / "calls.jsonl"
    (fakebin / "cropcube").write_text(_RECORDER.format(python=sys.executable, log=str(log)))
    (fakebin / "curl").write_text(
        "#!/bin/sh\necho '<wcs:Capabilities/>'\n" if petascope else "#!/bin/sh\nexit 7\n"
    )
    for p in fakebin.iterdir():
        p.chmod(0o755)
    env = {
        "PATH": f"{fakebin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "CROPCUBE_RASDAMAN_URL": "http://rasdaman:8080/rasdaman/ows",
        "RASDAMAN_EDITION": edition,
        "CROPCUBE_WORK": str(tmp_path / "work"),
        "CROPCUBE_DATA": str(tmp_path / "no_data"),
    }
    subprocess.run(["bash", str(DEMO)], env=env, check=True, capture_output=True, text=True, timeout=60)
    return [json.loads(line) for line in log.read_text().splitlines()]


def _resolve(argv: list[str]) -> tuple[Any, list[str]]:
    """The click command an argv names, and the arguments left for it."""
    command: Any = typer.main.get_command(app)
    rest = list(argv)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"no command {name!r} in {' '.join(argv)}"
        command = command.commands[name]
    return command, rest


def _check(argv: list[str]) -> None:
    command, rest = _resolve(argv)
    options = {opt: p for p in command.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("-")}
    positional, i = [], 0
    while i < len(rest):
        token = rest[i]
        if token.startswith("-") and token != "-":
            name = token.split("=", 1)[0]
            assert name in options, f"{' '.join(argv)}: no option {name} (has {sorted(options)})"
            takes_value = not options[name].is_flag and "=" not in token
            i += 2 if takes_value else 1
        else:
            positional.append(token)
            i += 1
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    assert len(positional) == len(arguments), (
        f"{' '.join(argv)}: {positional} for {[a.name for a in arguments]}"
    )


@pytest.mark.parametrize(
    ("edition", "petascope"), [("community", False), ("community", True), ("enterprise", True)]
)
def test_every_command_of_the_demo_is_a_command_of_the_cli(
    tmp_path: Path, edition: str, petascope: bool
) -> None:
    calls = _run_demo(tmp_path, edition, petascope)
    names = [" ".join(c[:2]) if c[0] == "rasdaman" else c[0] for c in calls]
    assert names[0] == "synth" and "rasdaman ingest" in names and "rasdaman classify" in names
    for argv in calls:
        _check(argv)


def test_the_check_catches_drift() -> None:
    with pytest.raises(AssertionError, match="no option --tiles"):
        _check(["rasdaman", "classify", "in", "out", "--tiles", "256"])
    with pytest.raises(AssertionError, match="no command 'clasify'"):
        _check(["rasdaman", "clasify", "in", "out"])
    with pytest.raises(AssertionError, match="for"):
        _check(["rasdaman", "classify", "in"])

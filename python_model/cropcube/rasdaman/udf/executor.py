"""Run the steps of a UDF (un)deployment plan (:mod:`cropcube.rasdaman.udf.deploy`).

Each step is idempotent (atomic file replacement, delete-before-create), so a deployment that stopped
halfway is finished by running it again.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from cropcube.errors import CropcubeError, InputError
from cropcube.io.atomic import atomic_output
from cropcube.rasdaman.udf.deploy import (
    InstallFile,
    Rasql,
    RemoveFile,
    RemoveFolder,
    RunCommand,
    Step,
    WriteFile,
    describe,
)
from cropcube.rasdaman.udf.rasql_http import RasqlError

log = logging.getLogger(__name__)

RasqlRunner = Callable[[str], str]


class DeployError(CropcubeError):
    """A deployment step failed; the message names the step and the cause."""


def _replace_atomically(target: Path, write: Callable[[Path], None], mode: int) -> None:
    with atomic_output(target) as tmp:
        write(tmp)
        tmp.chmod(mode)


def _run_command(step: RunCommand) -> None:
    try:
        done = subprocess.run(step.argv, cwd=step.cwd, check=False, capture_output=True, text=True)
    except OSError as exc:
        raise DeployError(f"{describe(step)}: cannot start ({exc.strerror})") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise DeployError(f"{describe(step)}: exit status {done.returncode}\n{tail}")


def _install(step: InstallFile) -> None:
    if not step.source.is_file():
        raise InputError(str(step.source), f"file to install does not exist ({step.why})")

    def copy(tmp: Path) -> None:
        shutil.copyfile(step.source, tmp)

    _replace_atomically(step.target, copy, step.mode)


def _write(step: WriteFile) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(step.text, encoding="utf-8")

    _replace_atomically(step.target, write, 0o644)


def _rasql(step: Rasql, rasql: RasqlRunner) -> None:
    try:
        answer = rasql(step.statement)
    except RasqlError as exc:
        if any(marker in str(exc) for marker in step.ignore):
            log.info("%s: nothing to do (%s)", step.why, exc)
            return
        raise DeployError(f"{step.why}: {exc}") from None
    if step.expect is not None and step.expect not in answer:
        raise DeployError(f"{step.why}: expected {step.expect!r} in the answer, got {answer[:300]!r}")


def execute(
    steps: Sequence[Step], rasql: RasqlRunner, dry_run: bool = False, echo: Callable[[str], None] = print
) -> None:
    """Run the steps in order; stop at the first failure.

    Args:
        steps: a plan from :func:`~cropcube.rasdaman.udf.deploy.plan_deploy` or ``plan_undeploy``.
        rasql: runs one rasql statement and returns the answer (raises RasqlError on failure).
        dry_run: only print the steps.
        echo: where progress lines go.

    Raises:
        DeployError: a step failed (the message names it).
    """
    for number, step in enumerate(steps, start=1):
        echo(f"[{number}/{len(steps)}] {step.why}: {describe(step)}")
        if dry_run:
            continue
        if isinstance(step, RunCommand):
            _run_command(step)
        elif isinstance(step, InstallFile):
            _install(step)
        elif isinstance(step, WriteFile):
            _write(step)
        elif isinstance(step, RemoveFile):
            step.target.unlink(missing_ok=True)
        elif isinstance(step, RemoveFolder):
            shutil.rmtree(step.target, ignore_errors=True)
        elif isinstance(step, Rasql):
            _rasql(step, rasql)

"""`cropcube rasdaman deploy|undeploy`: the UDF deployment (the rest of the group is in rasdaman.py)."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from cropcube.errors import InputError
from cropcube.rasdaman.udf import deploy as plan
from cropcube.rasdaman.udf.executor import execute
from cropcube.rasdaman.udf.rasql_http import DEFAULT_ENDPOINT, URL_ENV, PetascopeRasql

_RESOURCES = Path(__file__).resolve().parents[1] / "resources"
_DEFAULT_BUNDLE = _RESOURCES / "models" / "cropcube_default_synthetic.pt"


def _options(
    model: Path | None,
    rmanhome: Path | None,
    language: str,
    build_dir: Path | None,
    restart_command: list[str] | None,
    no_restart: bool,
    no_wcps: bool,
    no_register: bool = False,
) -> plan.DeployOptions:
    if rmanhome is None:
        raise InputError("--rmanhome", "not given and $RMANHOME is not set")
    if no_restart:
        restart: tuple[tuple[str, ...], ...] | None = ()
    elif restart_command:
        restart = tuple(tuple(shlex.split(cmd)) for cmd in restart_command)
    else:
        restart = None
    return plan.DeployOptions(
        rmanhome=rmanhome.resolve(),
        model=(model or _DEFAULT_BUNDLE).resolve(),
        language=language,
        build_dir=build_dir.resolve() if build_dir else None,
        torch_cmake_prefix=plan.default_torch_prefix(),
        python_path=plan.default_python_path(),
        restart=restart,
        wcps=not no_wcps,
        register=not no_register,
    )


_RMANHOME = typer.Option(None, "--rmanhome", envvar="RMANHOME", help="rasdaman installation ($RMANHOME).")
_ENDPOINT = typer.Option(
    DEFAULT_ENDPOINT,
    "--endpoint",
    envvar=URL_ENV,
    help="petascope OWS endpoint; rasql goes to its /rasdaman/rasql sibling.",
)
_LANGUAGE = typer.Option(
    "cpp",
    "--language",
    help="UDF behind crop.classify: cpp (crop.so) or python (crop.py).",
)
_RESTART = typer.Option(
    None,
    "--restart-command",
    help="Command that restarts rasdaman (repeatable), e.g. 'systemctl restart rasdaman'. "
    "Default: $RMANHOME/bin/stop_rasdaman.sh then start_rasdaman.sh.",
)
_NO_RESTART = typer.Option(False, "--no-restart", help="Do not restart rasdaman (files load on next start).")
_MODEL = typer.Option(None, "--model", help="Bundle to install (default: the packaged one).")
_BUILD_DIR = typer.Option(None, "--build-dir", help="CMake build folder for crop.so.")
_NO_WCPS = typer.Option(False, "--no-wcps", help="Skip the petascope (WCPS) class.")
_DRY_RUN = typer.Option(False, "--dry-run", help="Print the steps without running them.")
_NO_REGISTER = typer.Option(
    False,
    "--no-register",
    help="Build and install the files only, without the server (e.g. in an image build); "
    "run deploy again once rasdaman runs to register crop.classify and run the smoke query.",
)


def register(rasdaman_app: typer.Typer) -> None:
    """Add the UDF deployment subcommands to the ``cropcube rasdaman`` group."""

    @rasdaman_app.command("deploy")
    def deploy(
        model: Path | None = _MODEL,
        rmanhome: Path | None = _RMANHOME,
        endpoint: str = _ENDPOINT,
        language: str = _LANGUAGE,
        build_dir: Path | None = _BUILD_DIR,
        restart_command: list[str] | None = _RESTART,
        no_restart: bool = _NO_RESTART,
        no_wcps: bool = _NO_WCPS,
        no_register: bool = _NO_REGISTER,
        dry_run: bool = _DRY_RUN,
    ) -> None:
        """Build and install crop.classify into rasdaman (enterprise), register it, run a smoke query."""
        opts = _options(
            model, rmanhome, language, build_dir, restart_command, no_restart, no_wcps, no_register
        )
        execute(plan.plan_deploy(opts), PetascopeRasql(endpoint), dry_run=dry_run, echo=typer.echo)
        if no_register and not dry_run:
            typer.echo(f"{plan.FUNCTION} files installed ({opts.language}); not registered (--no-register)")
        elif not dry_run:
            typer.echo(
                f"{plan.FUNCTION} deployed ({opts.language}); try: "
                f"select {plan.FUNCTION}(c[0:99,0:99]) from <collection> as c"
            )

    @rasdaman_app.command("undeploy")
    def undeploy(
        rmanhome: Path | None = _RMANHOME,
        endpoint: str = _ENDPOINT,
        restart_command: list[str] | None = _RESTART,
        no_restart: bool = _NO_RESTART,
        dry_run: bool = _DRY_RUN,
    ) -> None:
        """Unregister crop.classify and remove every file deploy installed."""
        opts = _options(None, rmanhome, "cpp", None, restart_command, no_restart, True)
        execute(plan.plan_undeploy(opts), PetascopeRasql(endpoint), dry_run=dry_run, echo=typer.echo)

"""`cropcube rasdaman deploy|undeploy`: the UDF deployment (the rest of the group is in rasdaman.py).

Each command parses its options (declared in :mod:`cropcube.cli.options`) and makes one call into
:mod:`cropcube.rasdaman.jobs`.
"""

from __future__ import annotations

import typer

from cropcube.cli import options


def deploy(
    model: options.UdfModel = None,
    rmanhome: options.RmanHome = None,
    endpoint: options.Endpoint = None,
    language: options.Language = "cpp",
    build_dir: options.BuildDir = None,
    restart_command: options.RestartCommand = None,
    no_restart: options.NoRestart = False,
    no_wcps: options.NoWcps = False,
    no_register: options.NoRegister = False,
    dry_run: options.DryRun = False,
) -> None:
    """Build and install crop.classify into rasdaman (enterprise), register it, run a smoke query."""
    from cropcube.rasdaman import jobs

    jobs.deploy(
        rmanhome=rmanhome,
        model=model,
        language=language,
        build_dir=build_dir,
        restart_command=restart_command or (),
        no_restart=no_restart,
        wcps=not no_wcps,
        register=not no_register,
        endpoint=endpoint,
        dry_run=dry_run,
        echo=typer.echo,
    )


def undeploy(
    rmanhome: options.RmanHome = None,
    endpoint: options.Endpoint = None,
    restart_command: options.RestartCommand = None,
    no_restart: options.NoRestart = False,
    dry_run: options.DryRun = False,
) -> None:
    """Unregister crop.classify and remove every file deploy installed."""
    from cropcube.rasdaman import jobs

    jobs.undeploy(
        rmanhome=rmanhome,
        restart_command=restart_command or (),
        no_restart=no_restart,
        endpoint=endpoint,
        dry_run=dry_run,
        echo=typer.echo,
    )


def register(rasdaman_app: typer.Typer) -> None:
    """Add the UDF deployment subcommands to the ``cropcube rasdaman`` group."""
    rasdaman_app.command("deploy")(deploy)
    rasdaman_app.command("undeploy")(undeploy)

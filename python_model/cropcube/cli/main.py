"""Entry point of the ``cropcube`` console script.

Each ``cropcube.cli.<topic>`` module owns its subcommands and exposes ``register(app)``; this module
only assembles them, so that topics stay independent.
"""

from __future__ import annotations

import logging
import sys

import typer

from cropcube import __version__
from cropcube.cli import classify, data, demo, kernel, model, rasdaman, synth
from cropcube.errors import CropcubeError

app = typer.Typer(
    name="cropcube",
    help="Crop-type segmentation of Sentinel-2 time series, inside, beside or without rasdaman.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cropcube {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


for _topic in (demo, synth, data, model, classify, kernel, rasdaman):
    _topic.register(app)


def main() -> None:
    """Run the CLI; cropcube errors print one clear line and exit with status 2."""
    try:
        app()
    except CropcubeError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)

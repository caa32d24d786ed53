"""Entry point of the ``cropcube`` console script.

Each ``cropcube.cli.<topic>`` module owns its subcommands and exposes ``register(app)``; this module
only assembles them, so that topics stay independent. Every option is declared once, in
:mod:`cropcube.cli.options`.

Exit status: 0 success; 2 a bad input, named in the message (a usage error found while parsing, or a
:class:`~cropcube.errors.CropcubeError` raised by the job); 1 an operating-system failure (disk full,
I/O error), named too; 130 interrupted.
"""

from __future__ import annotations

import logging
from typing import Any

import typer
from typer.core import TyperGroup

from cropcube import __version__
from cropcube.cli import classify, data, demo, kernel, model, rasdaman, synth
from cropcube.errors import CropcubeError


class CropcubeGroup(TyperGroup):
    """The root group: turns the errors jobs raise into one line ``error: <input>: <problem>``."""

    def invoke(self, ctx: Any) -> Any:
        """Run the subcommand; a cropcube error exits with status 2, an OS error with 1."""
        try:
            return super().invoke(ctx)
        except CropcubeError as exc:
            message, code = str(exc), 2
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            message, code = f"{where}{exc.strerror or exc}", 1
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code)


app = typer.Typer(
    name="cropcube",
    cls=CropcubeGroup,
    help="Crop-type segmentation of Sentinel-2 time series, inside, beside or without rasdaman.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain errors: one line a user can copy, never wrapped inside a box
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
    """Run the CLI (errors: see the module docstring)."""
    app()

"""`cropcube rasdaman ...`: ingest, classify and write back (the UDF deployment commands come from rasdaman_udf)."""

from __future__ import annotations

import typer

from cropcube.cli import rasdaman_udf

rasdaman_app = typer.Typer(help="Work with a rasdaman server: ingest, classify, write back, deploy the UDF.",
                           no_args_is_help=True)
rasdaman_udf.register(rasdaman_app)


def register(app: typer.Typer) -> None:
    """Add the ``rasdaman`` group to the app."""
    app.add_typer(rasdaman_app, name="rasdaman")

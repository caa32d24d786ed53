"""`cropcube rasdaman deploy|undeploy` (the UDF deployment; the rest of `cropcube rasdaman` is in rasdaman.py)."""

from __future__ import annotations

import typer


def register(rasdaman_app: typer.Typer) -> None:
    """Add the UDF deployment subcommands to the ``cropcube rasdaman`` group."""

"""The ``cropcube`` command line (one Typer app, one module per group of subcommands)."""

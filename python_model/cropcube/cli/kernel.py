"""`cropcube kernel build|info`: the C++ inference kernel."""

from __future__ import annotations

import typer

from cropcube.cli import options

kernel_app = typer.Typer(help="Build and inspect the C++ inference kernel.", no_args_is_help=True)


@kernel_app.command("build")
def build(
    build_dir: options.BuildDir = None, sanitize: options.Sanitize = False, jobs: options.Jobs = 0
) -> None:
    """Build libcropcube_kernel.so against the installed torch and put it into the package."""
    from cropcube.inference.build import build_kernel

    typer.echo(f"kernel library: {build_kernel(build_dir, sanitize=sanitize, jobs=jobs)}")


@kernel_app.command("info")
def info() -> None:
    """Print the kernel library path, its version, the torch version and CUDA availability."""
    from cropcube.inference.build import kernel_report

    typer.echo(kernel_report())


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.add_typer(kernel_app, name="kernel")

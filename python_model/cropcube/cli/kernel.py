"""`cropcube kernel build|info`: the C++ inference kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

kernel_app = typer.Typer(help="Build and inspect the C++ inference kernel.", no_args_is_help=True)


@kernel_app.command("build")
def build(
    build_dir: Annotated[
        Path | None, typer.Option("--build-dir", help="CMake build folder (default udf/build).")
    ] = None,
    sanitize: Annotated[
        bool, typer.Option("--sanitize", help="AddressSanitizer+UBSan build (udf/build-asan).")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel compile jobs (0 = all cores).")] = 0,
) -> None:
    """Build libcropcube_kernel.so against the installed torch and put it into the package."""
    from cropcube.inference.build import build_kernel

    path = build_kernel(build_dir, sanitize=sanitize, jobs=jobs)
    typer.echo(f"kernel library: {path}")


@kernel_app.command("info")
def info() -> None:
    """Print the kernel library path, its version, the torch version and CUDA availability."""
    import torch

    from cropcube.errors import CropcubeError
    from cropcube.inference.config import resolve_model_path
    from cropcube.inference.native import ABI_VERSION, kernel_library_path, library_version, load_library

    path = kernel_library_path()
    typer.echo(f"library:        {path}")
    try:
        lib = load_library(path)
        typer.echo(f"kernel version: {library_version(lib)} (ABI {ABI_VERSION})")
    except CropcubeError as exc:
        typer.echo(f"kernel version: not available ({exc})")
    typer.echo(f"torch:          {torch.__version__}")
    cuda = f"available: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "not available"
    typer.echo(f"cuda:           {cuda}")
    typer.echo(f"cpu threads:    {torch.get_num_threads()}")
    try:
        typer.echo(f"default model:  {resolve_model_path(None)}")
    except CropcubeError as exc:
        typer.echo(f"default model:  none ({exc})")


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.add_typer(kernel_app, name="kernel")

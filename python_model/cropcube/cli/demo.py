"""`cropcube demo`: the main job on the embedded default (:func:`cropcube.demo.run_demo`)."""

from __future__ import annotations

import typer

from cropcube.cli import options
from cropcube.demo import DEMO_SEED

DEMO_OUT = options.Path("demo_out")


def demo(
    out: options.DemoOutDir = DEMO_OUT,
    size: options.DemoSize = 1024,
    seed: options.Seed = DEMO_SEED,
    model: options.Model = None,
    voting: options.Voting = True,
    backend: options.Backend = None,
    device: options.Device = None,
) -> None:
    """Classify a synthetic 2018 scene with the shipped model and report how well it did."""
    from cropcube.demo import run_demo
    from cropcube.inference.options import InferenceOptions

    inference = InferenceOptions.build(backend=backend, device=device)  # over the config file's values
    report = run_demo(out, size, seed, model, voting, echo=typer.echo, options=inference)
    for line in report.lines():
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""
    app.command("demo")(demo)

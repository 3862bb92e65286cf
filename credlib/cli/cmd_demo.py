"""`credlib demo`: thin wrapper over credlib.demo.run_demo."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(help="Offline walk-through: apply the shipped example against a built-in local relay.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"), show_default=True,
    help="Scratch directory for every output (replaced if an earlier demo made it).",
)
@click.option(
    "--examples", "example_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Directory holding credentials.yaml and demo.agekey.txt (default: the source checkout's examples/).",
)
def demo(out: Path, example_dir: Path | None) -> int:
    from credlib.demo import DemoOptions, default_example_dir, run_demo

    return run_demo(DemoOptions(out=out, example_dir=example_dir or default_example_dir()), click.echo)

"""The ``ram`` command line (Typer): ``main`` is the console script."""

from ram.cli.main import main

__all__ = ["main"]

"""The ``ram`` command line: the app, its global options, the one place errors become exit codes.

Each command module (``query``, ``collect``, ``charts``, ``backfill``) parses options, calls one
library function and renders; ``build_app`` registers their commands explicitly.  Errors are
raised as ``ram.errors`` states and become one line on stderr here, in ``main``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ram import __version__
from ram.cli import backfill, charts, collect, forecast, query
from ram.cli.common import STATE
from ram.errors import RamError


def _version(value: bool) -> None:
    if value:
        print(f"ram {__version__}")
        raise typer.Exit()


def _global(
    db: Annotated[
        Path | None, typer.Option("--db", help="DuckDB file (default: RAM_DB or config.yaml).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: ./config.yaml).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print version."),
    ] = False,
) -> None:
    STATE.db, STATE.config, STATE.debug, STATE._cfg = db, config, debug, None


def build_app() -> typer.Typer:
    """The ``ram`` app with every command registered, in the order ``ram --help`` lists them."""
    app = typer.Typer(
        name="ram",
        help="Track open-model adoption on the Hugging Face Hub and score it with the "
        "Relative Adoption Metric (RAM).",
        no_args_is_help=True,
        add_completion=True,  # ram --install-completion (bash, zsh, fish, PowerShell)
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_global)
    for module in (query, forecast, collect, charts, backfill):
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; turn known errors into one line and an exit code."""
    app = build_app()
    try:
        # Without standalone mode Click returns a command's exit code instead of exiting.
        code = app(args=argv, standalone_mode=False)
    except RamError as exc:
        if STATE.debug:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except (typer.Abort, KeyboardInterrupt):
        print(_interrupted(), file=sys.stderr)
        return 130
    except typer.TyperException as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(message, file=sys.stderr)
            return 2
        ctx = getattr(exc, "ctx", None)
        hint = f"; see: {ctx.command_path} --help" if ctx is not None else ""
        print(f"Error: {' '.join(message.split()).rstrip('.')}{hint}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # Safety nets for what no command translated: DuckDB's own errors (Ctrl-C inside a
        # query is one) and the file system's, as one line each; --debug shows the traceback.
        if STATE.debug:
            raise
        line, code = _unexpected(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return code
    if code == 130:  # Typer turns a KeyboardInterrupt inside a command into exit code 130
        print(_interrupted(), file=sys.stderr)
    return code if isinstance(code, int) else 0


def _interrupted() -> str:
    """What Ctrl-C left behind: every write is one transaction, so only committed ones."""
    store = sys.modules.get("ram.store.database")
    written = list(getattr(store, "WRITTEN", []))
    if not written:
        return "Interrupted; nothing was written."
    return f"Interrupted; written before it: {', '.join(written)}; nothing after that."


def _unexpected(exc: Exception) -> tuple[str | None, int]:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, duckdb.InterruptException):
        return _interrupted(), 130
    if duckdb is not None and isinstance(exc, duckdb.Error):
        return (
            f"Error: the database failed ({first}); it may be damaged: "
            "restore it from a copy, or start a new one with --db",
            1,
        )
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        reason = exc.strerror or first
        return (
            f"Error: cannot use{where}: {reason}; check the path, its permissions and free space",
            1,
        )
    return None, 1


if __name__ == "__main__":
    sys.exit(main())

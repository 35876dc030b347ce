"""``ram derivatives``, ``ram families`` and ``ram import derivatives``: what the community builds
on each model, and launches split across first-party repos."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ram.cli.common import STATE, FormatOption, fmt_or_default
from ram.progress import StderrProgress


class _Listings(StderrProgress):
    """A bar (on a terminal) counting the children listings done."""

    def advance(self, name: str, found: int) -> None:
        if self.bar is None:
            return
        if "list" not in self.tasks:
            self.tasks["list"] = self.bar.add_task("listing children", total=None)
        self.bar.update(self.tasks["list"], advance=1, description=f"listed {name}: {found:,}")


def derivatives(
    model: Annotated[
        list[str] | None,
        typer.Argument(help="Repo ids; with --rebuild, none means every tracked model."),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="List the models' children on the Hub (base_model:<relation>:ID, four "
            "listings per model) and store the curve their creation days give.",
        ),
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """Derivative counts (fine-tunes, adapters, quantizations, merges) of a model by day and
    relation: model_id, obs_date, relation, n, source.

    Example: ram derivatives Qwen/Qwen2.5-7B-Instruct;  ram derivatives --rebuild Qwen/Qwen3-8B
    """
    from ram import api
    from ram.cli.output import emit
    from ram.errors import BadInput

    f = fmt_or_default(fmt)
    if rebuild:
        from ram.pipeline.derivatives import rebuild as run_rebuild

        with _Listings() as bar:
            done = run_rebuild(STATE.cfg, STATE.db_path, model or [], progress=bar.advance)
        notes = [f"{b} ({r}): not listed ({why}); its earlier curve is kept"
                 for (b, r), why in sorted(done.failed.items())]  # fmt: skip
        rows = done.rows.copy()
        rows["obs_date"] = rows["obs_date"].dt.date
        meta = {"source": "Hugging Face children listings (rebuilt)", "requests": done.requests}
        emit(rows, f, title="Rebuilt derivative counts", meta=meta, notes=notes)
        return
    if not model or len(model) != 1:
        raise BadInput("name one model (ram derivatives ORG/NAME), or pass --rebuild")
    rows, fell = api.derivative_table(STATE.cfg, STATE.db_path, model[0])
    notes = [
        f"{r['relation']} count fell from {int(r['previous']):,} to {int(r['n']):,} on "
        f"{r['obs_date'].date()} ({r['source']}): children deleted or reclassified; "
        "kept as reported"
        for r in fell.to_dict("records")
    ]
    if rows.empty:
        notes.append(
            f"no derivative counts of {model[0]} yet: ram snapshot collects them daily, "
            "ram derivatives --rebuild lists them from the Hub"
        )
    emit(rows, f, title=f"Derivatives of {model[0]}", meta={"db": STATE.db_path}, notes=notes)


def families(fmt: FormatOption = None) -> None:
    """Families: a base repo and its first-party variants (same org, base_model tag naming the
    base, name = base + a precision/format suffix): family, model_id, role, evidence.

    Example: ram families;  ram top --by family
    """
    from ram import api
    from ram.cli.output import emit

    frame = api.families_of(STATE.cfg, STATE.db_path)
    notes = [] if len(frame) else [
        "no family yet: no stored repo names a stored base of its org with a precision/format "
        "suffix (families.suffixes); live snapshots store the base_model tags this needs"
    ]  # fmt: skip
    emit(frame, fmt_or_default(fmt), title="Families", meta={"db": STATE.db_path}, notes=notes)


def import_derivatives(
    file: Annotated[Path, typer.Argument(help="CSV, CSV.gz or Parquet: model_id,date,relation,n.")],
    source: Annotated[
        str | None, typer.Option("--source", help="Source name stored with the rows.")
    ] = None,
) -> None:
    """Import derivative counts: model_id,date,relation,n (relation: finetune, adapter,
    quantized, merge or all).  A bad file is refused whole, naming its first bad line.

    Example: ram import derivatives snapshots/sample/finetunes_2025-02-18.csv.gz
    """
    from ram.pipeline.derivatives import import_derivatives as run_import

    run = run_import(STATE.cfg, STATE.db_path, file, source)
    print(
        f"imported {run.details['rows']:,} derivative counts of {run.models:,} models from "
        f"{file} as {run.source} into {STATE.db_path}"
    )
    if run.models:
        print("score them with: ram top --signal derivatives", file=sys.stderr)


def register(app: typer.Typer, imports: typer.Typer) -> None:
    """Add this module's commands to ``app`` (and ``import derivatives`` to ``imports``)."""
    app.command("derivatives")(derivatives)
    app.command("families")(families)
    imports.command("derivatives")(import_derivatives)

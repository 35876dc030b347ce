"""Track open-model adoption on the Hugging Face Hub and compute the Relative Adoption Metric.

The library API (what the CLI, charts and notebooks call), importable from ``ram`` itself::

    import ram
    cfg = ram.load_config(None)
    ram.import_panel(cfg, db, "panel.csv")        # write: validate the file, save it whole
    an = ram.analyse(cfg, db)                     # read: curves, baselines, scores
    ram.top_leaderboard(an, day=30).rows          # the leaderboard, as a DataFrame

Names are loaded on first use, so ``import ram`` stays cheap for the command line.  The
packages below hold the layers (see docs/ARCHITECTURE.md): ``ram.store`` (DuckDB),
``ram.metric`` (pure RAM), ``ram.pipeline`` (fetch -> resolve -> save), ``ram.charts``,
``ram.cli``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Config": "ram.config",
    "load_config": "ram.config",
    "Analysis": "ram.api",
    "Leaderboard": "ram.api",
    "ModelScore": "ram.api",
    "analyse": "ram.api",
    "baseline_table": "ram.api",
    "freeze_baseline": "ram.api",
    "models_table": "ram.api",
    "rank": "ram.api",
    "score_model": "ram.api",
    "scores_table": "ram.api",
    "top_leaderboard": "ram.api",
    "forecast_table": "ram.api",
    "backtest_table": "ram.api",
    "collect_status": "ram.status",
    "import_panel": "ram.pipeline.panel_import",
    "run_snapshot": "ram.pipeline.snapshot",
    "backfill": "ram.pipeline.backfill",
    "ChartData": "ram.charts.figures",
    "build_figure": "ram.charts.figures",
    "write_figure": "ram.charts.export",
    "write_report": "ram.charts.report",
    "RamError": "ram.errors",
}
__all__ = [
    "Analysis",
    "ChartData",
    "Config",
    "Leaderboard",
    "ModelScore",
    "RamError",
    "__version__",
    "analyse",
    "backfill",
    "backtest_table",
    "baseline_table",
    "build_figure",
    "collect_status",
    "forecast_table",
    "freeze_baseline",
    "import_panel",
    "load_config",
    "models_table",
    "rank",
    "run_snapshot",
    "score_model",
    "scores_table",
    "top_leaderboard",
    "write_figure",
    "write_report",
]

if TYPE_CHECKING:
    from ram.api import (
        Analysis,
        Leaderboard,
        ModelScore,
        analyse,
        backtest_table,
        baseline_table,
        forecast_table,
        freeze_baseline,
        models_table,
        rank,
        score_model,
        scores_table,
        top_leaderboard,
    )
    from ram.charts.export import write_figure
    from ram.charts.figures import ChartData, build_figure
    from ram.charts.report import write_report
    from ram.config import Config, load_config
    from ram.errors import RamError
    from ram.pipeline.backfill import backfill
    from ram.pipeline.panel_import import import_panel
    from ram.pipeline.snapshot import run_snapshot
    from ram.status import collect_status


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ram' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

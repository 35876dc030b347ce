"""The notebooks under notebooks/ are committed without outputs and run, offline, from a clean kernel."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "ram-notebook-test"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
CELL_TIMEOUT_S = 120


def _read(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _cell(nb: NotebookNode, cell_id: str) -> NotebookNode:
    return next(c for c in nb.cells if c.get("id") == cell_id)


def _text(cell: NotebookNode) -> str:
    """Everything a cell printed or displayed as plain text, one output after the other."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text.rstrip("\n"))
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def _rows(text: str, model_id: str) -> list[list[str]]:
    """The lines of a printed DataFrame that show ``model_id``, split into cells."""
    return [line.split() for line in text.splitlines() if model_id in line.split()]


def _figures(cell: NotebookNode) -> list[dict]:
    return [out.data[PLOTLY_MIME] for out in cell.outputs if PLOTLY_MIME in out.get("data", {})]


def test_there_is_a_notebook() -> None:
    assert [p.name for p in NOTEBOOKS] == ["adoption.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    nb = _read(path)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert [(c.execution_count, c.outputs) for c in code] == [(None, [])] * len(code)
    assert [c.id for c in code if "execution" in c.metadata] == []  # nbclient's timings
    assert nb.metadata.kernelspec.name == "python3"


@pytest.fixture(scope="module")
def run_notebook(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[Path], NotebookNode]]:
    """Executes a notebook once in a kernel of this interpreter, found through a private JUPYTER_PATH.

    No kernel needs to be installed beforehand (a fresh CI venv has none registered), and a
    kernel the developer installed elsewhere cannot be picked by mistake.
    """
    tmp = tmp_path_factory.mktemp("jupyter")
    spec_dir = tmp / "data" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    kernel_env = {
        # Like pytest's pythonpath setting, so the kernel imports this checkout's ram.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (ram tests)",
        "language": "python",
        "env": kernel_env,
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    kernel_tmp = tmp / "tmp"
    kernel_tmp.mkdir()
    done: dict[Path, NotebookNode] = {}

    def run(path: Path) -> NotebookNode:
        if path not in done:
            nb = _read(path)
            client = NotebookClient(
                nb,
                kernel_name=KERNEL,
                timeout=CELL_TIMEOUT_S,
                startup_timeout=60,
                # The notebook's own folder, as Jupyter runs it; it finds the sample from there.
                resources={"metadata": {"path": str(path.parent)}},
            )
            client.execute()
            done[path] = nb
        return done[path]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(tmp / "data"))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(tmp / "runtime"))
        mp.setenv("IPYTHONDIR", str(tmp / "ipython"))  # no user startup files or profile
        mp.setenv("TMPDIR", str(kernel_tmp))  # the notebook's store lands here
        mp.delenv("PLOTLY_RENDERER", raising=False)
        yield run


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_without_errors_and_offline(
    path: Path, run_notebook: Callable[[Path], NotebookNode]
) -> None:
    nb = run_notebook(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    outputs = [out for c in code for out in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    assert [o for o in outputs if o.output_type == "stream" and o.name == "stderr"] == []
    # Nothing the notebook shows loads a script from the network.
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert not [h for h in html if "<script" in h]


def test_adoption_tables(run_notebook: Callable[[Path], NotebookNode]) -> None:
    nb = run_notebook(NOTEBOOK_DIR / "adoption.ipynb")
    assert _text(_cell(nb, "store")) == (
        # 115: the catalog's screen leaves out a reward model, a PRM and a CLIP encoder; untagged
        # repos of orgs outside the catalog and tracking.orgs (22 sized ones) are not tracked
        "imported 60,478 observations of 470 models (115 tracked) "
        "as source 'panel:hf_downloads_30d_2024H2'"
    )
    assert _text(_cell(nb, "analyse")) == (
        "as of 2025-02-18 · baseline: live cutoff, top 10 · source: "
        "Hugging Face download counts (panel:hf_downloads_30d_2024H2)"
    )
    qwen = "Qwen/Qwen2.5-7B-Instruct"
    top = _text(_cell(nb, "top"))
    assert top.split("\n")[0].split() == [
        "rank", "model_id", "size_class", "release_date", "day", "cumulative_downloads",
        "baseline", "ram", "n_models", "in_pool", "thin", "flags",
    ]  # fmt: skip
    # The header, then 5 rows for each class whose day-30 baseline rests on at least 20 curves
    # (1-5B: 27, 5-10B: 32); the thin ones (<1B, 10-50B, 50-100B) are left out by default.
    assert top.count("\n") == 10
    assert _rows(top, qwen) == [
        ["7", "3", qwen, "5-10B", "2024-09-16", "30", "158,277", "61,168", "2.59", "20", "True",
         "False", "None"]
    ]  # fmt: skip
    score = _text(_cell(nb, "score"))
    assert "size_class: 5-10B\nparams_b: 7.0\n" in score
    assert "tracked_reason: ATOM catalog\n" in score
    assert _rows(score, qwen) == [
        ["model_id:", qwen],
        # fewer pool curves reach the later days (n_models): under min_pool 20 from day 60 on
        ["0", qwen, "5-10B", "2024-09-16", "7", "5,952", "2,825", "2.11", "25", "True", "False",
         "None"],
        ["1", qwen, "5-10B", "2024-09-16", "14", "47,329", "28,412", "1.67", "25", "True", "False",
         "None"],
        ["2", qwen, "5-10B", "2024-09-16", "30", "158,277", "61,168", "2.59", "20", "True", "False",
         "None"],
        ["3", qwen, "5-10B", "2024-09-16", "60", "787,138", "61,168", "12.9", "19", "True", "True",
         "None"],
        ["4", qwen, "5-10B", "2024-09-16", "90", "2,648,229", "61,168", "43.3", "18", "True",
         "True", "None"],
        ["0", qwen, "5-10B", "2024-09-16", "155", "5,842,118", "75,924", "76.9", "14", "True",
         "True", "None"],  # its latest RAM rests on a thin baseline: flagged, not hidden
    ]  # fmt: skip


def test_adoption_figures(run_notebook: Callable[[Path], NotebookNode]) -> None:
    nb = run_notebook(NOTEBOOK_DIR / "adoption.ipynb")
    titles = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "build_figure(" in cell.source:
            figures = _figures(cell)
            assert len(figures) == 1, cell.id
            titles[cell.id] = figures[0]["layout"]["title"]["text"].split("<br>")[0]
    assert titles == {
        "curves": "Relative Adoption Metric since release",
        "cumulative": "Cumulative downloads since release: 5-10B models",
        "milestones": "RAM at milestones, recent releases",
        "calendar-region": "Cumulative downloads by region",
        "calendar-org": "Cumulative downloads by organisation",
        "monthly-region": "Monthly downloads by region",
        "size-mix": "Downloads by size class, per organisation",
    }
    curves = _figures(_cell(nb, "curves"))[0]
    assert curves["data"][0]["name"] == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert curves["layout"]["yaxis"]["type"] == "log"
    assert len(curves["data"]) == 7
    cumulative = _figures(_cell(nb, "cumulative"))[0]
    bold = [t["name"] for t in cumulative["data"] if t.get("legendgroup") == "chosen"]
    assert bold == [
        "Qwen/Qwen2.5-VL-7B-Instruct",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        "deepseek-ai/Janus-Pro-7B",
        "Qwen/Qwen2.5-7B-Instruct-1M",
    ]
    faint = [t for t in cumulative["data"] if t.get("legendgroup") == "top"]
    assert len(faint) == 8  # the class's top 10, less the two chosen ones among them
    assert {t["opacity"] for t in faint} == {0.35}

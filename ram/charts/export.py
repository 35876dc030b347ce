"""Write Plotly figures: offline HTML (plotly.js embedded or one local copy), PNG/SVG via kaleido.

Static images need a Chrome/Chromium binary: ``BROWSER_PATH`` if set, else one on ``PATH``.
Nothing here loads from a CDN: MathJax is off and plotly.js comes from the installed package.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from ram import files
from ram.errors import BadInput, ExportError

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
REMEDY = "install Chromium (apt-get install chromium) or set BROWSER_PATH to a Chrome binary"
PLOTLYJS_FILE = "plotly.min.js"
PLOTLYJS_MODES = ("inline", "directory", "none")
IMAGE_FORMATS = {".png": "png", ".svg": "svg"}
WIDTH = 1000
CONFIG = {"displaylogo": False, "responsive": True}


def find_browser() -> str:
    """Path of the browser kaleido should drive; ExportError with the remedy when there is none."""
    chosen = os.environ.get("BROWSER_PATH")
    if chosen:
        if Path(chosen).is_file() and os.access(chosen, os.X_OK):
            return chosen
        raise ExportError(f"BROWSER_PATH={chosen!r} is not an executable browser; {REMEDY}")
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ExportError(f"PNG/SVG export needs Chrome or Chromium and none was found: {REMEDY}")


def write_plotlyjs(directory: Path) -> Path:
    """One local copy of the installed plotly.js in ``directory`` (rewritten only if it differs)."""
    from plotly.offline import get_plotlyjs

    target = directory / PLOTLYJS_FILE
    bundle = get_plotlyjs()
    if target.is_symlink() or not target.is_file() or target.read_text("utf-8") != bundle:
        files.write_text(target, bundle)
    return target


def figure_html(
    fig: go.Figure, *, full_html: bool = True, plotlyjs: str = "inline", div_id: str | None = None
) -> str:
    """The figure as HTML; ``plotlyjs``: 'inline' embeds plotly.js, 'directory' references a
    local ``plotly.min.js`` beside the page, 'none' expects the host page to load it."""
    if plotlyjs not in PLOTLYJS_MODES:
        raise BadInput(f"plotlyjs must be one of {', '.join(PLOTLYJS_MODES)}, got {plotlyjs!r}")
    modes: dict[str, bool | str] = {"inline": True, "directory": "directory", "none": False}
    include = modes[plotlyjs]
    return pio.to_html(
        fig,
        full_html=full_html,
        include_plotlyjs=include,
        include_mathjax=False,
        config=CONFIG,
        div_id=div_id,
        default_width="100%",
    )


IMAGE_BACKGROUND = "white"  # a transparent PNG vanishes on a dark page


def _image_spec(fig: go.Figure, path: Path, scale: float) -> dict[str, Any]:
    height = fig.layout.height or 560
    fig = go.Figure(fig)  # a copy: the HTML charts stay transparent
    fig.update_layout(paper_bgcolor=IMAGE_BACKGROUND, plot_bgcolor=IMAGE_BACKGROUND)
    opts = {"format": IMAGE_FORMATS[path.suffix.lower()], "width": WIDTH, "height": height}
    return {"fig": fig, "path": path, "opts": opts | {"scale": scale}}


def write_images(jobs: Sequence[tuple[go.Figure, Path]], *, scale: float = 2.0) -> list[Path]:
    """Render several figures to PNG/SVG with one browser session (starting one costs ~1 s)."""
    import kaleido

    for _, path in jobs:
        if path.suffix.lower() not in IMAGE_FORMATS:
            raise BadInput(f"cannot render {path.name}: use .png or .svg")
    if not jobs:
        return []
    browser = find_browser()
    # choreographer logs tracebacks for browser chatter it ignores; the outcome is checked below.
    logging.getLogger("choreographer").setLevel(logging.CRITICAL)
    with contextlib.ExitStack() as stack:
        # Each image is rendered to a temporary name and renamed into place (ram.files).
        temps = [stack.enter_context(files.replacing(path)) for _, path in jobs]
        specs = [_image_spec(fig, tmp, scale) for (fig, _), tmp in zip(jobs, temps, strict=True)]
        for tmp in temps:
            tmp.unlink()  # kaleido writes the file itself; an empty one would hide a failure
        try:
            kaleido.write_fig_from_object_sync(
                specs, kopts={"path": browser, "mathjax": False}, cancel_on_error=True
            )
        except Exception as exc:  # kaleido/choreographer raise many types; all mean "no image"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"could not render with {browser}: {first}; {REMEDY}") from exc
        missing = [p for (_, p), tmp in zip(jobs, temps, strict=True) if not tmp.is_file()]
        if missing:
            raise ExportError(f"the browser wrote no image for {missing[0].name}; {REMEDY}")
    return [p for _, p in jobs]


def write_figure(
    fig: go.Figure,
    path: Path,
    *,
    embed: bool = False,
    plotlyjs: str = "inline",
    scale: float = 2.0,
) -> Path:
    """Write ``fig`` in the format of the suffix: .html (``embed``: a fragment), .png or .svg."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", *IMAGE_FORMATS):
        raise BadInput(f"unknown chart format {path.suffix or '(none)'!r}: use .html, .png or .svg")
    if embed and suffix not in (".html", ".htm"):
        raise BadInput("--embed makes an HTML fragment: give an .html output file")
    if not path.parent.is_dir():
        raise BadInput(f"output directory {path.parent} does not exist")
    if suffix in IMAGE_FORMATS:
        return write_images([(fig, path)], scale=scale)[0]
    text = figure_html(fig, full_html=not embed, plotlyjs=plotlyjs)
    if plotlyjs == "directory":
        write_plotlyjs(path.parent)
    return files.write_text(path, text)

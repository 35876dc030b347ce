"""Named error states.  The CLI turns each into one line on stderr and its exit code."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class RamError(Exception):
    """Base of every error a user can cause or meet; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class BadInput(RamError):
    """Something the user gave us is wrong (file, option, argument); exit 2."""

    exit_code = 2


class ConfigError(BadInput):
    """``config.yaml`` is missing a key, has an unknown key, a wrong type or a bad value."""


class BadPanel(BadInput):
    """An imported panel or archive file is malformed; nothing was written."""


class UnknownModel(BadInput):
    """A model id that is not in the store."""


class UnknownSizeClass(BadInput):
    """A size class that the configured scheme does not define."""


class UnknownBaseline(BadInput):
    """A frozen baseline version that does not exist."""


class EmptyStore(BadInput):
    """The store holds no observations yet."""


class StoreError(RamError):
    """The database cannot be opened or written (locked, corrupt, wrong schema)."""


class HubError(RamError):
    """The Hub could not be reached or answered with an error after retries."""


class RateLimited(HubError):
    """The Hub kept answering 429 beyond the retry budget."""


class LockHeld(RamError):
    """Another scheduler (or snapshot) already holds the lock."""


class ExportError(RamError):
    """A chart could not be exported (for example no Chromium for PNG/SVG)."""


class OutputError(RamError):
    """An output file (chart, report, CSV) could not be written; what was there is kept."""


# -- messages used in more than one place: one wording each ----------------------------------


def unknown_size_class(
    name: str, known: Sequence[str], *, defined: bool = False
) -> UnknownSizeClass:
    """``--size-class NAME`` that is not one of ``known`` (``defined``: the scheme has it, but
    no model is in it)."""
    what = "no models in size class" if defined else "unknown size class"
    return UnknownSizeClass(f"{what} {name!r}; use one of: {', '.join(known) or 'none'}")


def unknown_model(model_id: str, known: Sequence[str]) -> UnknownModel:
    """A model id that is not among ``known``, with the closest known id as a hint."""
    lower = {m.lower(): m for m in known}
    if model_id.lower() in lower:
        hint = f"; did you mean {lower[model_id.lower()]}?"
    else:
        close = difflib.get_close_matches(model_id, list(known), n=1)
        hint = f"; did you mean {close[0]}?" if close else "; list models with: ram models"
    return UnknownModel(f"unknown model {model_id!r}{hint}")

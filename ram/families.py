"""Families: a base repo and its first-party variants, so a launch split across repos
(``-FP8``, ``-NVFP4``, an official GGUF) can be scored as one.

A stored model is a variant of base ``B`` when (1) its card names ``B`` as its base with relation
``quantized`` or ``finetune`` (the Hub's ``base_model:<relation>:B`` tag, stored as
``base_model`` / ``base_relation``), (2) it belongs to ``B``'s org, and (3) its name is ``B``'s
name plus a separator and a precision/format suffix of ``families.suffixes`` (any case).  GGUF
variants count only with ``families.include_gguf`` (every ``.gguf`` file download counts, so
they inflate a family's total).  Pure: frames in, frames out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

FAMILY_COLUMNS = ["family", "model_id", "role", "evidence"]
_SEPARATORS = "-_."


def _suffix_of(name: str, base: str) -> str | None:
    """The part of ``name`` after ``base`` and a separator (any case), or None."""
    if len(name) <= len(base) + 1 or name[: len(base)].lower() != base.lower():
        return None
    if name[len(base)] not in _SEPARATORS:
        return None
    return name[len(base) + 1 :]


def families(
    models: pd.DataFrame, suffixes: Sequence[str], include_gguf: bool = False
) -> pd.DataFrame:
    """Every family with at least one variant: its base first, then the variants by id, each
    with the evidence (``family, model_id, role, evidence``)."""
    wanted = {s.lower(): s for s in suffixes}
    if not include_gguf:
        wanted = {k: v for k, v in wanted.items() if "gguf" not in k}
    by_id = {str(m).lower(): str(m) for m in models["model_id"]}
    rows: dict[str, list[dict[str, str]]] = {}
    for r in models[models["base_model"].notna()].to_dict("records"):
        variant, base_named = str(r["model_id"]), str(r["base_model"])
        relation = str(r.get("base_relation") or "")
        if relation not in ("quantized", "finetune"):
            continue
        base = by_id.get(base_named.lower())
        if base is None or base == variant:
            continue
        v_org, v_name = variant.split("/", 1)
        b_org, b_name = base.split("/", 1)
        if v_org.lower() != b_org.lower():
            continue
        suffix = _suffix_of(v_name, b_name)
        if suffix is None or suffix.lower() not in wanted:
            continue
        rows.setdefault(base, []).append(
            {
                "family": base,
                "model_id": variant,
                "role": "variant",
                "evidence": f"tag base_model:{relation}:{base_named}; name = base + "
                f"{v_name[len(b_name)]}{suffix}",
            }
        )
    out = []
    for base in sorted(rows, key=str.lower):
        members = sorted(rows[base], key=lambda x: x["model_id"].lower())
        out.append(
            {
                "family": base,
                "model_id": base,
                "role": "base",
                "evidence": f"named as base by {len(members)} first-party "
                f"variant{'s' if len(members) != 1 else ''}",
            }
        )
        out.extend(members)
    return pd.DataFrame(out, columns=FAMILY_COLUMNS)


def member_map(fams: pd.DataFrame) -> dict[str, str]:
    """Model id -> its family's base id (variants and bases alike)."""
    return dict(zip(fams["model_id"], fams["family"], strict=True))


def family_obs(
    model_ids: np.ndarray,
    values: np.ndarray,
    release: pd.Series,
    fams: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Observations of each family with variants: on each calendar day from the base's release
    to ``as_of``, the sum of its members' cumulative downloads (curves ``values``, rows in
    ``model_ids`` order, days since each member's release).  A member not yet released adds 0;
    a day on which a released member's count is unknown is left out (never a partial sum)."""
    row = {m: i for i, m in enumerate(model_ids)}
    out = []
    for base, part in fams.groupby("family", sort=True):
        members = [m for m in part["model_id"] if m in row and pd.notna(release.get(m))]
        if base not in members:
            continue
        start = pd.Timestamp(release[base])
        n_days = int((as_of - start).days) + 1
        if n_days <= 0:
            continue
        total = np.zeros(n_days)
        for m in members:
            offset = int((pd.Timestamp(release[m]) - start).days)  # its day 0 on the base's axis
            curve = values[row[m]]
            days = np.arange(n_days) - offset
            mine = np.full(n_days, np.nan)
            inside = (days >= 0) & (days < curve.shape[0])
            mine[inside] = curve[days[inside]]
            mine[days < 0] = 0.0
            total += mine
        known = ~np.isnan(total)
        dates = start + pd.to_timedelta(np.nonzero(known)[0], unit="D")
        out.append(
            pd.DataFrame(
                {
                    "model_id": base,
                    "obs_date": dates,
                    "downloads_all_time": np.round(total[known]).astype(np.int64),
                }
            )
        )
    columns = ["model_id", "obs_date", "source", "observed_at", "downloads_all_time",
               "downloads_30d", "likes", "run_id"]  # fmt: skip
    if not out:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(out, ignore_index=True)
    return pd.DataFrame(
        {
            "model_id": frame["model_id"],
            "obs_date": frame["obs_date"].to_numpy(),
            "source": "family",
            "observed_at": pd.NaT,
            "downloads_all_time": pd.array(frame["downloads_all_time"].to_numpy(), dtype="Int64"),
            "downloads_30d": pd.array([pd.NA] * len(frame), dtype="Int64"),
            "likes": pd.array([pd.NA] * len(frame), dtype="Int64"),
            "run_id": None,
        }
    )[columns]

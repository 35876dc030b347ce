"""Map an archive's columns onto the fields ``collectors.archive`` returns, as one SQL projection.

Archives differ by era and by publisher (a column missing, a STRUCT that is JSON text elsewhere),
so each logical field is resolved against the file's own schema before any row is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

import pyarrow as pa

from ram.errors import BadPanel

# Logical name -> column in the archive.  ``a.b`` reaches into a STRUCT column or, when the column
# is text, into its JSON.  Names as in cfahlgren1/hub-stats models.parquet and the
# hfmlsoc/hub_weekly_snapshots copies of it (``downloadsAllTime`` only exists from 2025-02-26 on).
DEFAULT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "model_id": "id",
        "hub_id": "_id",
        "author": "author",
        "created_at": "createdAt",
        "downloads_30d": "downloads",
        "downloads_all_time": "downloadsAllTime",
        "likes": "likes",
        "pipeline_tag": "pipeline_tag",
        "library_name": "library_name",
        "safetensors_total": "safetensors.total",
        "tags": "tags",
        "gated": "gated",
    }
)
COUNTS = ("downloads_30d", "downloads_all_time", "likes")
# Counts are whole numbers below 2**53, as ``ram import panel`` requires (exact as a double).
COUNT_LIMIT = 2**53
_TEXTS = ("hub_id", "author", "pipeline_tag", "library_name", "gated")

_JSON_KEY = re.compile(r"^[A-Za-z0-9_]+$")

OUTPUT_SCHEMA = pa.schema(
    [
        ("model_id", pa.string()),
        ("hub_id", pa.string()),
        ("author", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("obs_date", pa.date32()),
        ("downloads_30d", pa.int64()),
        ("downloads_all_time", pa.int64()),
        ("likes", pa.int64()),
        ("pipeline_tag", pa.string()),
        ("library_name", pa.string()),
        ("safetensors_total", pa.int64()),
        ("license", pa.string()),
        ("gated", pa.string()),
        ("discovered", pa.bool_()),
    ]
)


def merge_columns(columns: Mapping[str, str] | None) -> dict[str, str]:
    """``DEFAULT_COLUMNS`` overridden by a layout's mapping (``archive.columns`` in config)."""
    problem = column_problem(columns or {})
    if problem is not None:  # ram.config refuses such a mapping on load; a caller may not
        raise ValueError(problem)
    return {**DEFAULT_COLUMNS, **(columns or {})}


def column_problem(columns: Mapping[str, str]) -> str | None:
    """Why ``columns`` (logical name -> column, or ``col.key.key`` into a struct or JSON text)
    cannot map an archive's layout, or None.  ``ram.config`` uses it to validate
    ``archive.columns``."""
    for key, spec in columns.items():
        if key not in DEFAULT_COLUMNS:
            return f"unknown column {key!r}; known: {', '.join(DEFAULT_COLUMNS)}"
        _, _, rest = spec.partition(".")
        if rest and not all(_JSON_KEY.match(k) for k in rest.split(".")):
            return f"{key}: {spec!r}: keys after the column must be [A-Za-z0-9_]"
    return None


def _quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _resolve(spec: str, schema: pa.Schema) -> tuple[str, pa.DataType, bool] | None:
    """One mapped column as (SQL expression, Arrow type, read from JSON text); None if absent."""
    if not spec:
        return None
    if spec in schema.names:
        return _quote(spec), schema.field(spec).type, False
    root, _, rest = spec.partition(".")
    if not rest or root not in schema.names:
        return None
    expr, typ = _quote(root), schema.field(root).type
    fields = rest.split(".")
    for i, name in enumerate(fields):
        if pa.types.is_struct(typ):
            idx = typ.get_field_index(name)
            if idx < 0:
                return None
            expr, typ = f"struct_extract({expr}, {_literal(name)})", typ.field(idx).type
        elif _is_text(typ):
            # column_problem refused other keys: they are safe inside a JSON path literal
            path = _literal("$." + ".".join(fields[i:]))
            return (
                f"CASE WHEN json_valid({expr}) THEN json_extract_string({expr}, {path}) END",
                pa.string(),
                True,
            )
        else:
            return None
    return expr, typ, False


def _is_text(typ: pa.DataType) -> bool:
    return (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or str(typ) == "extension<arrow.json>"
    )


def id_expression(schema: pa.Schema, mapping: Mapping[str, str]) -> str:
    """The SQL expression ``select_list`` reads the model id from (it checks the column)."""
    model = _resolve(mapping["model_id"], schema)
    assert model is not None, "select_list refuses a file without a model id column"
    return model[0]


def select_list(where: str, schema: pa.Schema, mapping: Mapping[str, str]) -> str:
    """The projection over the file: each logical column typed as the output needs."""
    cols = {key: _resolve(spec, schema) for key, spec in mapping.items()}

    def bad(key: str, typ: pa.DataType, want: str) -> BadPanel:
        return BadPanel(
            f"{where}: column {mapping[key]!r} ({key}) is {typ}, expected {want}; "
            f"map it with archive.columns.{key} (an empty name ignores it)"
        )

    model = cols["model_id"]
    if model is None:
        raise BadPanel(f"{where}: no model id column {mapping['model_id']!r}")
    if not _is_text(model[1]):
        raise bad("model_id", model[1], "text")
    if cols["downloads_30d"] is None and cols["downloads_all_time"] is None:
        raise BadPanel(
            f"{where}: no download column ({mapping['downloads_30d']!r} or "
            f"{mapping['downloads_all_time']!r})"
        )
    out = [f"{model[0]} AS raw_id"]
    for key in COUNTS:
        col = cols[key]
        if col is None or pa.types.is_null(col[1]):
            out += [f"NULL::BIGINT AS {key}", f"NULL::VARCHAR AS {key}_bad"]
        elif _numeric(col[1]) or (col[2] and _is_text(col[1])):
            out += _count(key, col[0], col[1])
        else:
            raise bad(key, col[1], "an integer")
    col = cols["safetensors_total"]
    if col is None or pa.types.is_null(col[1]):
        out.append("NULL::BIGINT AS safetensors_total")
    elif _numeric(col[1]) or _is_text(col[1]):
        out.append(f"TRY_CAST({col[0]} AS BIGINT) AS safetensors_total")
    else:
        raise bad("safetensors_total", col[1], "an integer")
    for key in _TEXTS:
        col = cols[key]
        if col is None or pa.types.is_null(col[1]):
            out.append(f"NULL::VARCHAR AS {key}")
        elif _is_text(col[1]) or _numeric(col[1]) or pa.types.is_boolean(col[1]):
            out.append(f"CAST({col[0]} AS VARCHAR) AS {key}")
        else:
            raise bad(key, col[1], "text")
    out.append(_created_at(cols["created_at"], bad))
    out.append(_license(cols["tags"], bad))
    return ", ".join(out)


def _count(key: str, expr: str, typ: pa.DataType) -> list[str]:
    """A count as BIGINT when it is a whole number from 0 to ``COUNT_LIMIT`` - 1, else NULL, and
    beside it ``<key>_bad``: the offending value as text, for the reader to refuse the file.

    The rule ``ram import panel`` applies: 3.7, -1, 1e19 or NaN is no count, and is never
    rounded, clamped or dropped in silence.
    """
    num = expr if _numeric(typ) else f"TRY_CAST({expr} AS DOUBLE)"
    # isfinite first: a NaN read from Parquet compared as below 2**53 in DuckDB 1.x.
    finite = "" if pa.types.is_decimal(typ) else f" AND isfinite({num})"
    whole = "" if pa.types.is_integer(typ) else f"{finite} AND {num} = trunc({num})"
    valid = f"coalesce({expr} IS NULL OR ({num} >= 0 AND {num} < {COUNT_LIMIT}{whole}), false)"
    return [
        # TRY_CAST: DuckDB may evaluate the cast before the CASE filters the row.
        f"CASE WHEN {valid} THEN TRY_CAST({num} AS BIGINT) END AS {key}",
        f"CASE WHEN NOT {valid} THEN CAST({expr} AS VARCHAR) END AS {key}_bad",
    ]


def _numeric(typ: pa.DataType) -> bool:
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)


def _created_at(
    col: tuple[str, pa.DataType, bool] | None, bad: Callable[[str, pa.DataType, str], BadPanel]
) -> str:
    if col is None or pa.types.is_null(col[1]):
        return "NULL::TIMESTAMPTZ AS created_at"
    expr, typ, _ = col
    if pa.types.is_timestamp(typ) and typ.tz is not None:
        return f"CAST({expr} AS TIMESTAMPTZ) AS created_at"
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        return f"timezone('UTC', CAST({expr} AS TIMESTAMP)) AS created_at"
    if _is_text(typ):
        return f"TRY_CAST({expr} AS TIMESTAMPTZ) AS created_at"
    raise bad("created_at", typ, "a timestamp")


def _license(
    col: tuple[str, pa.DataType, bool] | None, bad: Callable[[str, pa.DataType, str], BadPanel]
) -> str:
    """The Hub puts a repo's license in its tags as ``license:<id>``."""
    if col is None or pa.types.is_null(col[1]):
        return "NULL::VARCHAR AS license"
    expr, typ, _ = col
    if not (pa.types.is_list(typ) or pa.types.is_large_list(typ)) or not _is_text(typ.value_type):
        raise bad("tags", typ, "a list of text")
    first = f"list_filter({expr}, lambda t: starts_with(t, 'license:'))[1]"
    return f"substr({first}, 9) AS license"

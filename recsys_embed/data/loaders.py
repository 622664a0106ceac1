"""The only module that reads interaction and item files (polars): delimited text, parquet."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys_embed.data.interactions import Interactions
from recsys_embed.data.validate import int_if_exact, require_columns, strip_ids
from recsys_embed.errors import DataError

PARQUET_EXT = (".parquet", ".pq")
SEP_BY_EXT = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
SNIFF_SEPS = ("::", "\t", ",", ";", "|")


def _sniff_sep(head: str, path: Path) -> str:
    first = head.splitlines()[0] if head else ""
    counts = {s: first.count(s) for s in SNIFF_SEPS}
    best = max(counts, key=lambda s: counts[s])
    if counts[best] == 0:
        raise DataError(
            f"{path}: cannot tell the separator from the first line {first[:80]!r}; "
            f"pass sep= (tried {list(SNIFF_SEPS)})"
        )
    return best


def _read_text(
    path: Path,
    sep: str | None,
    has_header: bool,
    column_names: Sequence[str] | None,
    encoding: str,
    string_cols: Sequence[str],
    piped: bytes | None = None,
) -> pl.DataFrame:
    """``piped``: the bytes of a pipe (e.g. ``/dev/fd/63``), read once, else read ``path``."""

    def whole() -> bytes:
        return path.read_bytes() if piped is None else piped

    if piped is None:
        with path.open("rb") as fh:
            head = fh.read(8192)
    else:
        head = piped[:8192]
    if not head.strip() and not whole().strip():
        raise DataError(f"{path}: file is empty; expected delimited text with one row per record")
    if head[:4] == b"PAR1":
        raise DataError(f"{path}: this is a parquet file, not text; give it a .parquet extension")
    if b"\x00" in head:
        raise DataError(
            f"{path}: file looks binary, not delimited text (extension {path.suffix!r})"
        )
    if sep is None:
        sep = SEP_BY_EXT.get(path.suffix.lower()) or _sniff_sep(
            head.decode("utf8", "replace"), path
        )
    source: Path | io.BytesIO = path if piped is None else io.BytesIO(piped)
    if encoding.lower().replace("-", "") not in ("utf8", "utf8lossy"):
        source = io.BytesIO(whole().decode(encoding).encode("utf8"))
        encoding = "utf8"
    if len(sep) != 1:  # polars takes one byte: map a multi-char separator to an unused one
        data = source.getvalue() if isinstance(source, io.BytesIO) else whole()
        source = io.BytesIO(data.replace(sep.encode("utf8"), b"\x1f"))
        sep = "\x1f"
    overrides = {c: pl.String for c in string_cols}
    kwargs: dict[str, Any] = dict(
        separator=sep,
        has_header=has_header,
        encoding=encoding,
        quote_char='"',
        infer_schema_length=10000,
    )
    if column_names:
        kwargs["new_columns"] = list(column_names)
    if has_header and not column_names:
        _refuse_duplicate_header(head, sep, path)
    try:
        frame = pl.read_csv(source, schema_overrides=overrides or None, **kwargs)
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError):
        # A late row did not fit the inferred type: read everything as text, let validation name it.
        try:
            _rewind(source)
            frame = pl.read_csv(source, infer_schema=False, **kwargs)
        except pl.exceptions.PolarsError as exc:
            raise _parse_error(path, source, sep, has_header, exc) from None
    except pl.exceptions.PolarsError as exc:
        raise _parse_error(path, source, sep, has_header, exc) from None
    if frame.width == 0 or (frame.height == 0 and not has_header):
        raise DataError(f"{path}: no data rows")
    return frame


def _header_names(head: bytes, sep: str) -> list[str]:
    first = head.split(b"\n", 1)[0].decode("utf8", "replace").rstrip("\r")
    if len(sep) != 1:
        return first.split(sep)
    return next(csv.reader([first], delimiter=sep, quotechar='"'), [])


def _refuse_duplicate_header(head: bytes, sep: str, path: Path) -> None:
    names = _header_names(head, sep)
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise DataError(
            f"{path}: header names column {dups[0]!r} more than once; expected unique column names"
        )


def _parse_error(
    path: Path, source: Path | io.BytesIO, sep: str, has_header: bool, exc: Exception
) -> DataError:
    """One line naming the file and the first row that does not parse (polars' own is long)."""
    data = source.getvalue() if isinstance(source, io.BytesIO) else path.read_bytes()
    text = io.StringIO(data.decode("utf8", "replace"), newline="")
    reader = csv.reader(text, delimiter=sep, quotechar='"')
    expected = None
    row = -1 if has_header else 0
    try:
        line = 1
        for fields in reader:
            if expected is None:
                expected = len(fields)
            elif fields and len(fields) != expected:
                hint = (
                    " (an unbalanced quote?)" if any('"' in f or "\n" in f for f in fields) else ""
                )
                return DataError(
                    f"{path}: row {row} (line {line}) has {len(fields)} fields, "
                    f"expected {expected}{hint}"
                )
            row += 1
            line = reader.line_num + 1
    except csv.Error as err:
        return DataError(f"{path}: row {row} (line {reader.line_num}) cannot be parsed ({err})")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(f"{path}: cannot parse as {sep!r}-separated text ({excerpt(first)})")


def excerpt(text: str, width: int = 120) -> str:
    """``text`` cut to ``width`` characters (a message quotes a long row's start, not all of it)."""
    return text if len(text) <= width else f"{text[: width - 20]}... ({len(text)} characters)"


def _rewind(source: Path | io.BytesIO) -> None:
    if isinstance(source, io.BytesIO):
        source.seek(0)


def read_table(
    path: str | Path,
    sep: str | None = None,
    has_header: bool = True,
    column_names: Sequence[str] | None = None,
    encoding: str = "utf8",
    string_cols: Sequence[str] = (),
) -> pl.DataFrame:
    """Read a delimited text or parquet file into a polars frame.

    The separator comes from ``sep``, else the extension (.csv ``,``; .tsv ``\\t``), else it is
    sniffed from the first line (``::``, tab, ``,``, ``;``, ``|``). Multi-character separators
    (MovieLens 1M's ``::``) work. ``column_names`` names the columns of a headerless file (or
    renames those of a file with a header). ``string_cols`` are read as text, never inferred.
    """
    path = Path(path)
    check_readable(path)
    try:
        piped = None if path.is_file() else path.read_bytes()
        return _read_any(path, sep, has_header, column_names, encoding, string_cols, piped)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, LookupError) as exc:
        raise DataError(f"{path}: cannot decode as {encoding} ({exc})") from None


def check_readable(path: Path) -> None:
    """A file (or a pipe) that can be read, else a DataError naming it and why not."""
    if path.is_dir():
        raise DataError(f"{path}: is a directory; expected a file")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: cannot read the file (permission denied)")


def _read_any(
    path: Path,
    sep: str | None,
    has_header: bool,
    column_names: Sequence[str] | None,
    encoding: str,
    string_cols: Sequence[str],
    piped: bytes | None,
) -> pl.DataFrame:
    if path.suffix.lower() in PARQUET_EXT:
        try:
            frame = pl.read_parquet(path if piped is None else io.BytesIO(piped))
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise DataError(f"{path}: not a readable parquet file ({exc})") from None
        if column_names:
            frame = frame.rename(dict(zip(frame.columns, column_names, strict=False)))
        return frame
    return _read_text(path, sep, has_header, column_names, encoding, string_cols, piped)


def read_interactions(
    path: str | Path,
    user_col: str = "user",
    item_col: str = "item",
    weight_col: str | None = None,
    time_col: str | None = None,
    sep: str | None = None,
    has_header: bool = True,
    column_names: Sequence[str] | None = None,
    encoding: str = "utf8",
) -> Interactions:
    """Read an interaction log (one row per interaction) into :class:`Interactions`.

    Id columns are read as text, trimmed of surrounding whitespace (``" 1"`` and ``"1"`` are one
    id: a spaced-out CSV is formatting, not identity), and become ints only when every value is a
    plain integer (so ``"007"`` stays a string id). Errors name the file, the column and the
    first bad row; a row that does not parse is named with its line number.
    """
    path = Path(path)
    frame = read_table(
        path, sep, has_header, column_names, encoding, string_cols=[user_col, item_col]
    )
    return Interactions.from_frame(
        frame, user_col, item_col, weight_col, time_col, source=str(path), ints_from_text=True
    )


def read_item_text(
    path: str | Path,
    id_col: str,
    text_cols: Sequence[str],
    sep: str | None = None,
    has_header: bool = True,
    column_names: Sequence[str] | None = None,
    encoding: str = "utf8",
    tags_path: str | Path | None = None,
    tag_item_col: str | None = None,
    tag_col: str = "tag",
) -> pl.DataFrame:
    """Item metadata: ``item_id``, the text columns, ``tags`` (if a tag file is given) and ``text``.

    ``text`` joins the non-empty text columns and the item's tags with ``" | "``. Tags come one
    per row (e.g. MovieLens ``tags.csv``) and are aggregated per item: unique, in first-seen order.
    """
    path = Path(path)
    frame = read_table(path, sep, has_header, column_names, encoding, string_cols=list(text_cols))
    require_columns(frame, [id_col, *text_cols], str(path))
    items = frame.select(
        pl.col(id_col).alias("item_id"),
        *[pl.col(c).cast(pl.String).fill_null("") for c in text_cols],
    )
    items = strip_ids(items, ["item_id"])  # as read_interactions does
    missing = items["item_id"].is_null()
    if missing.any():
        row = int(missing.arg_max() or 0)
        raise DataError(f"{path}: row {row} has no item id in column {id_col!r}")
    dup = items["item_id"].is_duplicated()
    if dup.any():
        raise DataError(
            f"{path}: item id {items['item_id'][int(dup.arg_max() or 0)]!r} appears more than once "
            f"in column {id_col!r}; expected one row per item"
        )
    parts = list(text_cols)
    if tags_path is not None:
        items = items.join(
            item_tags(tags_path, tag_item_col or id_col, tag_col), on="item_id", how="left"
        ).with_columns(pl.col("tags").fill_null(""))
        parts.append("tags")
    text = pl.concat_str([pl.col(c) for c in parts], separator=" | ")
    return items.with_columns(text.str.strip_chars(" |").alias("text"))


def item_tags(path: str | Path, item_col: str, tag_col: str = "tag") -> pl.DataFrame:
    """One row per item: ``item_id`` and its unique tags joined with ``" | "``."""
    path = Path(path)
    frame = read_table(path, string_cols=[tag_col])
    require_columns(frame, [item_col, tag_col], str(path))
    return (
        frame.select(pl.col(item_col).alias("item_id"), pl.col(tag_col).str.strip_chars())
        .filter(pl.col(tag_col).is_not_null() & (pl.col(tag_col) != ""))
        .unique(subset=["item_id", tag_col], keep="first", maintain_order=True)
        .group_by("item_id", maintain_order=True)
        .agg(pl.col(tag_col).str.join(" | ").alias("tags"))
    )


def read_user_ids(path: str | Path, id_dtype: np.dtype) -> np.ndarray:
    """User ids, one per line (.txt) or a ``user_id`` column (.csv / .parquet)."""
    return read_ids(path, id_dtype, "user")


def read_ids(path: str | Path, id_dtype: np.dtype, kind: str = "user") -> np.ndarray:
    """Ids, one per line (.txt) or a ``{kind}_id`` column (.csv / .parquet), typed like
    ``id_dtype`` (a model's id dtype): integer ids must be integers."""
    col = f"{kind}_id"
    path = Path(path)
    if path.suffix.lower() in (".csv", ".parquet", ".pq", ".tsv"):
        frame = read_table(path, string_cols=[col])
        if col not in frame.columns:
            raise DataError(f"{path}: needs a {col} column; found {frame.columns}")
        values = frame[col].drop_nulls().cast(pl.String).to_list()
    else:
        check_readable(path)
        values = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not values:
        raise DataError(f"{path}: no {kind} ids; expected at least one")
    if id_dtype.kind in "iu":
        bad = [v for v in values if not (v.lstrip("-").isascii() and v.lstrip("-").isdigit())]
        if bad:
            raise DataError(
                f"{path}: {kind} id {bad[0]!r} is not an integer, as this model's ids are"
            )
        big = [v for v in values if len(v) > 20 or not -(2**63) <= int(v) < 2**63]
        if big:
            raise DataError(
                f"{path}: {kind} id {big[0][:40]!r} is outside the 64-bit integer range of this "
                "model's ids"
            )
        return np.asarray([int(v) for v in values], dtype=np.int64)
    return np.asarray(values, dtype=object)


def read_histories(path: str | Path, item_dtype: np.dtype) -> dict[Any, list[Any]]:
    """New users' histories: ``{user_id: [item ids]}`` from a file with ``user_id`` and
    ``item_id`` columns (.csv/.tsv/.parquet), users in first-seen order.

    Item ids must be integers when the model's are (``item_dtype``); user ids become ints when
    every one is a plain integer, as in :func:`read_interactions`.
    """
    path = Path(path)
    frame = read_table(path, string_cols=["user_id", "item_id"])
    require_columns(frame, ["user_id", "item_id"], str(path))
    if frame.height == 0:
        raise DataError(f"{path}: no history rows; expected user_id, item_id rows")
    frame = frame.select(pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String))
    for col in ("user_id", "item_id"):
        nulls = frame[col].is_null()
        if nulls.any():
            raise DataError(f"{path}: column {col!r} has a missing id at row {nulls.arg_max()}")
    frame = int_if_exact(frame, ["user_id"])
    if item_dtype.kind in "iu":
        as_int = frame["item_id"].str.to_integer(strict=False)
        if as_int.null_count():
            row = int(as_int.is_null().arg_max() or 0)
            raise DataError(
                f"{path}: item id {frame['item_id'][row]!r} at row {row} is not an integer, "
                "as this model's item ids are"
            )
        frame = frame.with_columns(as_int.alias("item_id"))
    grouped = frame.group_by("user_id", maintain_order=True).agg(pl.col("item_id"))
    return dict(zip(grouped["user_id"].to_list(), grouped["item_id"].to_list(), strict=True))

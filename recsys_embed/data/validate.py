"""Row-level checks of an interaction frame; every failure names source, column and row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from recsys_embed.errors import DataError


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def first_row(mask: pl.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def require_columns(frame: pl.DataFrame, wanted: list[str], source: str | None) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if not missing:
        return
    msg = f"{_where(source)}missing column(s) {missing}; found columns {frame.columns}"
    if len(frame.columns) == 1 and any(s in frame.columns[0] for s in ",;\t|: "):
        msg += " (only one column was read: is the separator right?)"
    raise DataError(msg)


def strip_ids(frame: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Text id columns trimmed of surrounding whitespace; an id that was all blanks becomes null."""
    text = [c for c in dict.fromkeys(cols) if c in frame.columns and frame.schema[c] == pl.String]
    if not text:
        return frame
    trimmed = [pl.col(c).str.strip_chars() for c in text]
    frame = frame.with_columns(trimmed)
    return frame.with_columns(
        [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in text]
    )


def int_if_exact(frame: pl.DataFrame, cols: Sequence[str]) -> pl.DataFrame:
    """Text id columns become Int64 when every value is a plain integer that round-trips.

    ``"007"``, ``"+7"`` or ``"-0"`` keep the whole column as text, so distinct ids never merge.
    """
    cols = [c for c in cols if frame.schema[c] == pl.String]
    if not cols or frame.height == 0:
        return frame
    out = frame.select(
        *[pl.col(c).str.to_integer(strict=False).alias(c) for c in cols],
        *[
            (
                pl.col(c).str.starts_with("+")
                | pl.col(c).str.starts_with("-0")
                | (pl.col(c).str.starts_with("0") & (pl.col(c).str.len_bytes() > 1))
            )
            .any()
            .alias(f"{c} unsafe")
            for c in cols
        ],
    )
    exact = [
        out[c]
        for c in cols
        if out[c].null_count() == frame[c].null_count() and not out[f"{c} unsafe"][0]
    ]
    return frame.with_columns(exact) if exact else frame


def _ids(frame: pl.DataFrame, col: str, source: str | None) -> pl.Series:
    """The id column ``col`` of a frame whose text ids are already stripped."""
    s = frame[col]
    if s.null_count():
        raise DataError(
            f"{_where(source)}column {col!r} has a missing id at row {first_row(s.is_null())}; "
            "expected an int or string id on every row"
        )
    if s.dtype.is_integer() or s.dtype == pl.String:
        return s.cast(pl.Int64) if s.dtype.is_integer() else s
    if s.dtype.is_float():
        bad = (s != s.round(0)) | s.is_nan() | s.is_infinite()
        if bad.any():
            raise DataError(
                f"{_where(source)}column {col!r} holds non-integer number {s[first_row(bad)]!r} "
                f"at row {first_row(bad)}; expected int or string ids"
            )
        return s.cast(pl.Int64)
    if s.dtype == pl.Categorical or s.dtype == pl.Enum:
        return s.cast(pl.String)
    raise DataError(
        f"{_where(source)}column {col!r} has type {s.dtype}; expected int or string ids"
    )


def _weights(frame: pl.DataFrame, col: str, source: str | None) -> np.ndarray:
    s = frame[col]
    if not s.dtype.is_numeric():
        cast = s.cast(pl.Float64, strict=False)
        bad = cast.is_null() & s.is_not_null()
        if bad.any():
            r = first_row(bad)
            raise DataError(
                f"{_where(source)}column {col!r} has {s[r]!r} at row {r}; expected a number"
            )
        s = cast
    s = s.cast(pl.Float64)
    if s.null_count():
        raise DataError(
            f"{_where(source)}column {col!r} has a missing weight at row {first_row(s.is_null())}; "
            "expected a positive finite number"
        )
    w = s.to_numpy()
    bad_mask = ~np.isfinite(w) | (w <= 0)
    if bad_mask.any():
        r = first_row(bad_mask)
        raise DataError(
            f"{_where(source)}column {col!r} has weight {float(w[r])} at row {r}; "
            "expected a positive finite number (filter such rows out before loading, "
            "or load without weight_col)"
        )
    with np.errstate(over="ignore", under="ignore"):
        w32 = w.astype(np.float32)  # the precision of the interaction matrix
    lost = ~np.isfinite(w32) | (w32 == 0)
    if lost.any():
        r = first_row(lost)
        what = "too large" if not np.isfinite(w32[r]) else "too small (it rounds to 0)"
        raise DataError(
            f"{_where(source)}column {col!r} has weight {float(w[r])} at row {r}: {what} for "
            f"float32; expected a number between {float(np.finfo(np.float32).smallest_subnormal)}"
            f" and {float(np.finfo(np.float32).max):.4g}"
        )
    return w


def _times(frame: pl.DataFrame, col: str, source: str | None) -> np.ndarray:
    s = frame[col]
    if not (s.dtype.is_numeric() or s.dtype.is_temporal()):
        raise DataError(
            f"{_where(source)}column {col!r} has type {s.dtype}; "
            "expected numeric (e.g. unix seconds) or datetime timestamps"
        )
    if s.null_count():
        raise DataError(
            f"{_where(source)}column {col!r} has a missing timestamp at row "
            f"{first_row(s.is_null())}"
        )
    if s.dtype.is_float() and (s.is_nan() | s.is_infinite()).any():
        r = first_row(s.is_nan() | s.is_infinite())
        raise DataError(f"{_where(source)}column {col!r} has timestamp {s[r]!r} at row {r}")
    return s.to_numpy()


def validated_columns(
    frame: pl.DataFrame,
    user_col: str,
    item_col: str,
    weight_col: str | None,
    time_col: str | None,
    source: str | None,
    *,
    ints_from_text: bool = False,
) -> tuple[pl.Series, pl.Series, np.ndarray | None, np.ndarray | None]:
    """User ids, item ids, weights (float64) and timestamps of ``frame``, validated.

    Text ids are trimmed of surrounding whitespace; with ``ints_from_text`` (the loaders, which
    read id columns as text) a text id column becomes ints when :func:`int_if_exact` allows.
    """
    wanted = [c for c in (user_col, item_col, weight_col, time_col) if c is not None]
    require_columns(frame, wanted, source)
    if frame.height == 0:
        raise DataError(f"{_where(source)}no rows; expected at least one interaction")
    frame = strip_ids(frame, [user_col, item_col])
    if ints_from_text:
        frame = int_if_exact(frame, [user_col, item_col])
    users = _ids(frame, user_col, source)
    items = _ids(frame, item_col, source)
    weights = _weights(frame, weight_col, source) if weight_col is not None else None
    times = _times(frame, time_col, source) if time_col is not None else None
    return users, items, weights, times

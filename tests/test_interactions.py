import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys_embed as rse
from recsys_embed import DataError
from tests.conftest import triplets


def test_from_pandas_int_ids_shape_and_values():
    df = pd.DataFrame({"u": [5, 5, 9], "i": [100, 200, 100], "w": [1.0, 2.5, 4.0]})
    inter = rse.Interactions.from_frame(df, "u", "i", "w")
    assert (inter.n_users, inter.n_items, inter.nnz) == (2, 2, 3)
    assert inter.user_ids.tolist() == [5, 9] and inter.item_ids.tolist() == [100, 200]
    assert inter.matrix.dtype == np.float32
    assert inter.matrix.toarray().tolist() == [[1.0, 2.5], [4.0, 0.0]]


def test_from_polars_str_ids_unweighted():
    df = pl.DataFrame({"user": ["b", "a", "a"], "item": ["x", "x", "y"]})
    inter = rse.Interactions.from_frame(df)
    assert inter.user_ids.tolist() == ["a", "b"]
    assert inter.matrix.toarray().tolist() == [[1, 1], [1, 0]]


def test_duplicates_sum_weights_keep_latest_time_and_are_counted():
    df = pl.DataFrame(
        {"u": [1, 1, 1, 2], "i": [7, 7, 7, 7], "w": [1.0, 2.0, 0.5, 3.0], "t": [30, 10, 20, 5]}
    )
    inter = rse.Interactions.from_frame(df, "u", "i", "w", "t")
    assert inter.n_duplicates == 2
    assert inter.weights.tolist() == [3.5, 3.0]
    assert inter.timestamps.tolist() == [30, 5]


def test_to_frame_round_trip_datetime_timestamps():
    ts = pl.datetime_range(pl.datetime(2020, 1, 1), pl.datetime(2020, 1, 3), "1d", eager=True)
    df = pl.DataFrame({"u": ["x", "y", "x"], "i": [1, 2, 3], "t": ts})
    out = rse.Interactions.from_frame(df, "u", "i", time_col="t").to_frame()
    assert out.columns == ["user_id", "item_id", "weight", "timestamp"]
    got = sorted(out.rows())
    want = sorted((u, i, 1.0, t) for u, i, t in df.rows())
    assert got == want


ids_int = st.integers(min_value=-5, max_value=40)
ids_str = st.text(alphabet="abcXYZ_0", min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(ids_int, ids_str, st.floats(0.01, 100), st.integers(0, 10**9)),
        min_size=1,
        max_size=60,
        unique_by=lambda r: (r[0], r[1]),
    )
)
def test_round_trip_preserves_every_row(rows):
    df = pl.DataFrame(rows, schema=["u", "i", "w", "t"], orient="row")
    inter = rse.Interactions.from_frame(df, "u", "i", "w", "t")
    assert inter.nnz == len(rows) and inter.n_duplicates == 0
    assert sorted(inter.to_frame().rows()) == sorted(rows)
    assert triplets(inter) == set(rows)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pl.DataFrame({"u": [1, None], "i": [1, 2]}), r"column 'u' has a missing id at row 1"),
        (pl.DataFrame({"u": [1.0, 2.5], "i": [1, 2]}), r"non-integer number 2.5 at row 1"),
        (
            pl.DataFrame({"u": [1, 2], "i": [1, 2], "w": ["1", "x"]}),
            r"'x' at row 1; expected a number",
        ),
        (
            pl.DataFrame({"u": [1, 2], "i": [1, 2], "w": [1.0, float("nan")]}),
            r"weight nan at row 1",
        ),
        (
            pl.DataFrame({"u": [1, 2], "i": [1, 2], "w": [float("inf"), 1.0]}),
            r"weight inf at row 0",
        ),
        (pl.DataFrame({"u": [1, 2], "i": [1, 2], "w": [1.0, -2.0]}), r"weight -2.0 at row 1"),
        (
            pl.DataFrame({"u": [1, 2], "i": [1, 2], "w": [0.0, 1.0]}),
            r"weight 0.0 at row 0.*positive",
        ),
        (
            pl.DataFrame({"u": [1], "i": [1], "w": [None]}, schema_overrides={"w": pl.Float64}),
            r"missing weight at row 0",
        ),
        (
            pl.DataFrame({"u": [1], "item": [1], "w": [1.0]}),
            r"missing column\(s\) \['i'\]; found columns \['u', 'item', 'w'\]",
        ),
        (pl.DataFrame({"u": [], "i": [], "w": []}), r"no rows"),
    ],
)
def test_bad_frames_raise_data_error_naming_the_problem(frame, match):
    with pytest.raises(DataError, match=match):
        rse.Interactions.from_frame(
            frame, "u", "i", "w" if "w" in frame.columns else None, source="log"
        )


def test_bad_timestamps_named():
    with pytest.raises(DataError, match="column 't' has a missing timestamp at row 1"):
        rse.Interactions.from_frame(
            pl.DataFrame({"u": [1, 2], "i": [1, 2], "t": [5, None]}), "u", "i", time_col="t"
        )
    with pytest.raises(DataError, match="expected numeric"):
        rse.Interactions.from_frame(
            pl.DataFrame({"u": [1], "i": [1], "t": ["noon"]}), "u", "i", time_col="t"
        )


def test_not_a_frame():
    with pytest.raises(DataError, match="expected a pandas or polars DataFrame, got list"):
        rse.Interactions.from_frame([[1, 2]])


def test_compact_and_subset_keep_id_space():
    df = pl.DataFrame({"u": [1, 2, 3], "i": [10, 20, 30]})
    inter = rse.Interactions.from_frame(df, "u", "i")
    sub = inter.subset(np.array([True, False, True]))
    assert sub.user_map is inter.user_map and sub.n_users == 3 and sub.nnz == 2
    small = sub.compact()
    assert small.user_ids.tolist() == [1, 3] and small.item_ids.tolist() == [10, 30]


def test_pandas_column_of_mixed_id_types_is_a_data_error():
    df = pd.DataFrame({"u": [1, "two"], "i": [1, 2]})
    with pytest.raises(DataError, match="log: cannot convert the pandas frame"):
        rse.Interactions.from_frame(df, "u", "i", source="log")

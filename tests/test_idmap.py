import numpy as np
import pytest

from recsys_embed import IdMap, UnknownIdError


def test_int_ids_round_trip():
    m = IdMap(np.array([10, 3, 7]), "user")
    assert m.indices([7, 10]).tolist() == [2, 0]
    assert m.external(np.array([1, 2])).tolist() == [3, 7]
    assert m.ids.dtype == np.int64


def test_str_ids_and_scalar_lookup():
    m = IdMap(["b", "a", "c"])
    assert m.indices("c").tolist() == [2]
    assert m.indices(np.array(["a", "b"])).tolist() == [1, 0]
    assert m.ids.dtype == object


def test_unknown_ids_are_named():
    m = IdMap([1, 2, 3], "user")
    with pytest.raises(UnknownIdError, match=r"2 unknown user id\(s\): 9, 11"):
        m.indices([1, 9, 11])
    assert m.indices([1, 9], missing="mask").tolist() == [0, -1]


def test_wrong_id_type_is_unknown_not_crash():
    m = IdMap([1, 2, 3], "item")
    with pytest.raises(UnknownIdError, match="'x'"):
        m.indices(["x"])


def test_ids_must_be_unique_and_are_frozen():
    with pytest.raises(ValueError, match="unique"):
        IdMap([1, 1, 2])
    m = IdMap([1, 2])
    with pytest.raises(ValueError):
        m.ids[0] = 5

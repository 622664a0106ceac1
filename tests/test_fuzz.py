"""Fuzzing the readers of outside input: interaction files, run configs, model folders, and
(through the command line) history files, add-items files and blend configs.

Any input either loads or raises the package's own error class (RecsysEmbedError); anything
else (IndexError, OverflowError, a polars panic...) is a bug. The command line's cases exit 0
with a correct result or with a documented code (2, 3, 4) and one error line. Inputs that
issue 27 found wrong are kept as named examples beside the generated ones. Bounded and
deterministic:
``derandomize=True`` (examples derived from the test, same on every run), a fixed example count.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recsys_embed as rse
from recsys_embed import IdMap, models
from recsys_embed.config import load_config, parse_config
from recsys_embed.errors import RecsysEmbedError
from recsys_embed.models.params import check_params
from recsys_embed.models.registry import REGISTRY
from recsys_embed.pipeline import VOCABULARY

FUZZ = settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---- interaction files ---------------------------------------------------------------------
TOKENS = st.sampled_from(
    ["1", "2", " 1", "1 ", "007", "-3", "+4", "1.5", "1e39", "1e-46", "3e38", "nan", "inf",
     "-inf", "0", "", " ", "a", '"', '"x"', '"a,b"', "x\ty", "99999999999999999999999",
     "1.0", "é", "\x00", "NULL", "true"]
)  # fmt: skip


GOOD_ID = st.sampled_from(["1", "2", "3", "10", "11", "a", "b"])
GOOD_NUMBER = st.sampled_from(["1", "2", "3", "4.5", "1.0", "100"])
GOOD = st.one_of(GOOD_ID, GOOD_NUMBER)
EDGE_NUMBER = st.sampled_from(["1e39", "1e-46", "3e38", "1e308", "nan", "inf", "-1", "0", "1e-40"])


@st.composite
def delimited(draw: st.DrawFn) -> tuple[bytes, str]:
    """Mostly well-formed logs with a few odd tokens, so parsing reaches the later checks."""
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = ["u", "i", "w", "t"]
    if draw(st.integers(0, 4)) == 0:
        header = draw(
            st.lists(st.sampled_from(["u", "i", "w", "t", "x", "u "]), min_size=1, max_size=5)
        )
    n = len(header)
    if draw(st.integers(0, 4)) < 3:  # well formed but for one odd cell: reaches every check
        good = st.tuples(*[GOOD_ID if h in ("u", "i") else GOOD_NUMBER for h in header])
        rows = [list(r) for r in draw(st.lists(good, min_size=1, max_size=6))]
        r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, n - 1))
        numeric = header[c] not in ("u", "i")
        rows[r][c] = draw(EDGE_NUMBER if numeric and draw(st.booleans()) else TOKENS)
    else:
        ragged = draw(st.integers(0, 3)) == 0
        cell = st.one_of(GOOD, TOKENS)
        rows = draw(
            st.lists(
                st.lists(cell, min_size=0 if ragged else n, max_size=6 if ragged else n),
                max_size=12,
            )
        )
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    end = draw(st.sampled_from(["\n", "\r\n", ""]))
    suffix = {",": ".csv", "\t": ".tsv"}.get(sep, ".txt")  # others are sniffed
    return (end or "\n").join(lines).encode("utf8") + end.encode(), suffix


def _load_file(data: bytes, suffix: str, **kw: object) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"log{suffix}"
        path.write_bytes(data)
        try:
            inter = rse.read_interactions(path, "u", "i", **kw)
        except RecsysEmbedError:
            return
        assert inter.nnz > 0
        assert np.isfinite(inter.matrix.data).all() and (inter.matrix.data > 0).all()


@settings(FUZZ, max_examples=250)
@given(delimited(), st.sampled_from(["w", "w", None]), st.sampled_from([None, "t"]))
def test_fuzz_delimited_logs(file, weight_col, time_col):
    data, suffix = file
    _load_file(data, suffix, weight_col=weight_col, time_col=time_col)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_raw_bytes(data):
    _load_file(data, ".txt")
    _load_file(b"u,i\n" + data, ".csv")
    _load_file(data, ".parquet")


# ---- run configs ---------------------------------------------------------------------------
SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.sampled_from(["random", "temporal", "given", "user", "als", "popularity", "ndcg@10",
                     "ndcg@²", "recall", "log.csv", "movielens-100k", ""]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
KEYS = {
    "data": ["interactions", "user_col", "item_col", "weight_col", "time_col", "sep",
             "has_header", "min_weight", "binary", "items"],
    "split": ["method", "test_fraction", "stratify", "seed", "n_last", "test"],
    "evaluate": ["k", "metrics", "chunk_size", "exclude_train"],
    "tune": ["metric", "validation", "validation_fraction", "seed", "sampler", "refit",
             "trials", "timeout", "space"],
}  # fmt: skip
MODEL_KEYS = ["type", "factors", "regularization", "iterations", "learning_rate", "epochs",
              "random_state", "alpha", "num_threads", "loss", "l2"]  # fmt: skip


BASE = {
    "data": {"interactions": "log.csv", "user_col": "u", "item_col": "i", "sep": ","},
    "split": {"method": "random", "test_fraction": 0.2, "seed": 1},
    "evaluate": {"k": [5, 10], "metrics": ["recall"], "chunk_size": 100},
    "tune": {"metric": "ndcg@10", "trials": 5, "timeout": 10.0, "seed": 0},
    "models": {"m": {"type": "als", "factors": 8, "iterations": 3, "regularization": 0.1}},
}
TARGETED = st.sampled_from(
    [-1, 0, 1, 2**31, 2**64, 10**17, 1e17, -0.5, 0.5, 1.5, math.nan, math.inf, -math.inf, "",
     "ndcg@²", "ndcg@0", "ndcg@99999999", "recall@5", [], [0], [10**9], [True], "als", "bpr"]
)  # fmt: skip


ALL_KEYS = [(t, k) for t, keys in KEYS.items() for k in keys if k != "items"] + [
    ("models", k) for k in ("type", "factors", "regularization", "iterations", "alpha",
                            "random_state", "num_threads")
]  # fmt: skip


@st.composite
def configs(draw: st.DrawFn) -> dict:
    """A valid config with one key changed (sometimes more): each change meets its validator."""
    raw = json.loads(json.dumps(BASE))
    changes = draw(st.sampled_from([1, 1, 1, 1, 2, 3]))
    for table, key in draw(st.lists(st.sampled_from(ALL_KEYS), min_size=changes,
                                    max_size=changes, unique=True)):  # fmt: skip
        target = raw["models"]["m"] if table == "models" else raw[table]
        target[key] = draw(TARGETED if draw(st.integers(0, 4)) else VALUES)
    if draw(st.integers(0, 19)) == 0:
        raw[draw(st.sampled_from(["data", "models", "split", "extra"]))] = draw(VALUES)
    return raw


@settings(FUZZ, max_examples=300)
@given(configs())
def test_fuzz_config_tables(raw):
    try:
        cfg = parse_config(raw, "fuzz.toml", Path("/nonexistent"), VOCABULARY)
    except RecsysEmbedError:
        return
    # what was accepted is usable: the checks the probe found missing hold
    assert 0 <= cfg.split.seed < 2**32 and 0 <= cfg.tune.seed < 2**32
    assert all(1 <= k <= 100_000 for k in cfg.evaluate.k)
    assert cfg.tune.timeout is None or (math.isfinite(cfg.tune.timeout) and cfg.tune.timeout > 0)
    assert cfg.data.sep is None or cfg.data.sep != ""
    assert 0 < cfg.split.test_fraction < 1
    _, _, k = cfg.tune.metric.partition("@")
    assert 1 <= int(k) <= 100_000
    for m in cfg.models:
        cls = REGISTRY[m.type]
        for key, v in check_params(m.type, cls.PARAMS, m.params).items():
            assert not isinstance(v, float) or math.isfinite(v)
            if cls.PARAMS[key].kind is int and v is not None:
                assert abs(v) < 2**32


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_config_text(text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.toml"
        path.write_text(text)
        try:
            load_config(path, VOCABULARY)
        except RecsysEmbedError:
            pass


# ---- model folders -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    m = models.ALS(factors=2)
    m.set_factors(
        IdMap(np.array([1, 2, 3]), "user"),
        IdMap(np.array([10, 20]), "item"),
        sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)),
        np.ones((3, 2)),
        np.ones((2, 2)),
    )
    path = m.save(tmp_path_factory.mktemp("fz") / "m")
    return {p.name: p.read_bytes() for p in path.iterdir()}


ARRAY_NAMES = ["user_ids", "item_ids", "user_factors", "item_factors", "seen_indptr",
               "seen_indices"]  # fmt: skip


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from(["<i8", "<i4", "<f4", "<f8", "<U3", "|b1"]))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    size = int(np.prod(shape)) if shape else 1
    values = draw(st.lists(st.integers(-3, 5), min_size=size, max_size=size))
    return np.asarray(values).astype(dtype).reshape(shape)


def _load_folder(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m"
        path.mkdir()
        for name, data in files.items():
            (path / name).write_bytes(data)
        try:
            m = models.load(path)
        except RecsysEmbedError:
            return
        users = m.user_map_.ids
        items, _scores = m.recommend(users, k=2)  # a model that loads must also work
        assert items.shape == (len(users), 2)


@FUZZ
@given(st.data())
def test_fuzz_model_manifest_and_arrays(saved, data):
    files = dict(saved)
    doc = json.loads(files["manifest.json"])
    for key in data.draw(st.lists(st.sampled_from(sorted(doc)), max_size=3, unique=True)):
        doc[key] = data.draw(VALUES)
    for name in data.draw(st.lists(st.sampled_from(ARRAY_NAMES), max_size=2, unique=True)):
        arr = data.draw(arrays())
        with tempfile.TemporaryDirectory() as d:
            np.save(Path(d) / "a.npy", arr)
            files[f"{name}.npy"] = (Path(d) / "a.npy").read_bytes()
        if isinstance(doc.get("arrays"), dict):
            doc["arrays"][name] = hashlib.sha256(files[f"{name}.npy"]).hexdigest()
    files["manifest.json"] = json.dumps(doc, default=str).encode()
    if "manifest.sha256" in files:  # its own checksum updated too: the checks behind it run
        digest = hashlib.sha256(files["manifest.json"]).hexdigest()
        files["manifest.sha256"] = (digest + "\n").encode()
    _load_folder(files)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from([*ARRAY_NAMES, "manifest"]))
def test_fuzz_model_raw_bytes(saved, data, name):
    files = dict(saved)
    files["manifest.json" if name == "manifest" else f"{name}.npy"] = data
    _load_folder(files)


# ---- the newer surfaces' files: history files, add-items files, blend configs ---------------
# Through the command line in this process: exit 0 with a correct result, or a documented code
# (2 usage/config, 3 data, 4 system) and one error line; never 1, never a traceback.
def _cli(*argv: str) -> tuple[int, str]:
    import contextlib

    from recsys_embed import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main([*argv, "--quiet"])
    return code, err.getvalue()


def _documented(code: int, err: str) -> None:
    assert code in (0, 2, 3, 4), err
    assert "Traceback" not in err, err
    if code:
        lines = [x for x in err.splitlines() if x.startswith("recsys-embed: error:")]
        assert len(lines) == 1, err


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory):
    """A saved ALS and a saved text-kNN on the planted groups (users 0-59, items 0-29)."""
    from recsys_embed.testing import planted, planted_text

    d = tmp_path_factory.mktemp("surfaces")
    inter = planted()
    als = models.create("als", factors=4, iterations=3).fit(inter, show_progress=False)
    knn = models.create("text-knn", word2vec_dim=8).fit(
        inter, planted_text(inter), show_progress=False
    )
    return {"inter": inter, "als": als.save(d / "als"), "knn": knn.save(d / "knn")}


ITEM_TOKENS = st.sampled_from(
    ["0", "1", "29", " 3", "007", "30", "-1", "1.5", "2.0", "1e3", "99999999999999999999999",
     "", "x", "nan", '"1"', "\x00", "é"]
)  # fmt: skip


@st.composite
def history_files(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["user_id,item_id", "user_id,item_id", "item_id,user_id",
                                   "user_id", "user,item", "user_id,item_id,extra"]))  # fmt: skip
    users = st.sampled_from(["n1", "n2", "1", "", "7", " n1"])
    rows = draw(st.lists(st.tuples(users, ITEM_TOKENS), max_size=6))
    if rows and draw(st.integers(0, 2)):  # well formed but for at most one cell
        good = st.tuples(st.sampled_from(["n1", "n2", "7"]), st.sampled_from(["0", "5", "29"]))
        rows = [draw(good) for _ in rows[1:]] + rows[:1]
    width = len(header.split(","))
    lines = [",".join([u, i, "x"][:width]) for u, i in rows]
    return "\n".join([header, *lines]) + "\n"


def _history_case(surfaces, text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        hist, out = Path(d) / "h.csv", Path(d) / "out.csv"
        hist.write_text(text)
        code, err = _cli("recommend", "--model", str(surfaces["als"]), "--history", str(hist),
                         "--k", "3", "--out", str(out))  # fmt: skip
        _documented(code, err)
        if code:
            return
        import polars as pl

        got = pl.read_csv(out)
        assert got.height > 0, "exit 0 with no row"
        assert np.isfinite(got["score"].to_numpy()).all()
        assert set(got["item_id"].to_list()) <= set(range(30))
        known = _known_items(text)  # a user is answered only from a known item
        for user in got["user_id"].cast(str).unique().to_list():
            assert known.get(user, 1), f"user {user!r} answered from unknown items only"


def _known_items(text: str) -> dict[str, int]:
    """User -> how many of their history items the model knows (items 0-29), by the header."""
    lines = text.splitlines()
    cols = lines[0].split(",")
    known: dict[str, int] = {}
    if not {"user_id", "item_id"} <= set(cols):
        return known
    for line in lines[1:]:
        cells = line.split(",")
        user, item = (cells[cols.index(c)].strip('"').strip() for c in ("user_id", "item_id"))
        known[user] = known.get(user, 0) + (item.isdigit() and int(item) < 30)
    return known


@FUZZ
@given(history_files())
def test_fuzz_history_files(surfaces, text):
    _history_case(surfaces, text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("user_id,item_id\nn1,30\nn1,99\n", id="every item unknown"),
        pytest.param("user_id,item_id\n", id="header only"),
    ],
)
def test_fuzz_history_files_found(surfaces, text):
    _history_case(surfaces, text)


ID_TOKENS = st.sampled_from(
    ["100", "101", "5", "0", "100.0", "300020.7", "1.0000001", "-7", "abc", "", " 102",
     "1" + "0" * 23, "1e5", "nan", "inf", '"1,2"', "é"]
)  # fmt: skip
TEXTS = st.one_of(
    st.sampled_from(["space alien", "love paris", "", " ", "\x00", '"quoted, text"', "é" * 40]),
    st.text(max_size=30),
)


@st.composite
def item_files(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["item_id,text", "item_id,text", "text,item_id", "item_id",
                                   "id,text"]))  # fmt: skip
    rows = draw(st.lists(st.tuples(ID_TOKENS, TEXTS), min_size=0, max_size=4))
    if rows and draw(st.integers(0, 2)):  # well formed but for at most one cell
        fresh = iter(range(200, 300))
        rows = [(str(next(fresh)), "space alien") for _ in rows[1:]] + rows[:1]
    width = len(header.split(","))
    quote = lambda v: '"' + v.replace('"', '""') + '"'  # noqa: E731
    lines = [",".join([quote(i), quote(t)][:width]) for i, t in rows]
    return "\n".join([header, *lines]) + "\n"


def _add_items_case(surfaces, text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        items, out = Path(d) / "items.csv", Path(d) / "grown"
        items.write_text(text)
        code, err = _cli("add-items", "--model", str(surfaces["knn"]), "--items", str(items),
                         "--out", str(out))  # fmt: skip
        _documented(code, err)
        if code:
            return
        grown = models.load(out)
        added = grown.item_map_.ids[30:].tolist()
        import polars as pl

        given_ids = pl.read_csv(items, infer_schema=False)["item_id"].str.strip_chars().to_list()
        exact = [Decimal(g) for g in given_ids]  # "100.0" is 100; "300020.7" must not load
        assert added == exact, (added, given_ids)


@settings(FUZZ, max_examples=60)
@given(item_files())
def test_fuzz_add_items_files(surfaces, text):
    _add_items_case(surfaces, text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('item_id,text\n"300020.7","space alien"\n', id="fractional id"),
        pytest.param('item_id,text\n"1' + "0" * 23 + '","space"\n', id="id 10^23"),
        pytest.param('item_id,text\n"1.0000001","space"\n', id="float id onto id 1"),
        pytest.param('item_id,text\n"abc","space"\n', id="text id on an int model"),
        pytest.param('item_id,text\n"","space"\n', id="missing id"),
    ],
)
def test_fuzz_add_items_files_found(surfaces, text):
    _add_items_case(surfaces, text)


MEMBER_TYPES = st.sampled_from(["als", "popularity", "random", "blend", "nope", ""])
WEIGHTS = st.one_of(
    st.sampled_from([1, 0, -1, 0.5, 1e308, 1e-320, math.nan, math.inf, -math.inf, "x", True]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def blend_configs(draw: st.DrawFn) -> dict:
    members = []
    for _ in range(draw(st.integers(0, 3))):
        member: dict = {"type": draw(MEMBER_TYPES)}
        if member["type"] == "als":
            member |= {"factors": 2, "iterations": 2}
        if draw(st.booleans()):
            member["weight"] = draw(WEIGHTS)
        if draw(st.integers(0, 5)) == 0:
            member[draw(st.sampled_from(["factors", "weight", "models", "x"]))] = draw(VALUES)
        members.append(member)
    raw = json.loads(json.dumps(BASE))
    raw["models"] = {"b": {"type": "blend", "models": members}}
    if draw(st.integers(0, 5)) == 0:
        raw["models"]["b"]["models"] = draw(VALUES)
    return raw


def _blend_case(raw: dict) -> None:
    from recsys_embed.engine import build_model
    from recsys_embed.testing import planted

    try:
        cfg = parse_config(raw, "fuzz.toml", Path("/nonexistent"), VOCABULARY)
        model = build_model(cfg, "b").fit(planted(), show_progress=False)
    except RecsysEmbedError:
        return
    users = model.user_map_.ids[:5]
    _items, scores = model.recommend(users, k=3)
    assert np.isfinite(scores).all()
    assert not (scores == 0).all(), "all-zero scores: lists in item-index order"


@settings(FUZZ, max_examples=80)
@given(blend_configs())
def test_fuzz_blend_configs(raw):
    _blend_case(raw)


def test_fuzz_blend_configs_found():
    raw = json.loads(json.dumps(BASE))
    members = [{"type": "als", "factors": 2, "iterations": 2, "weight": 1e308},
               {"type": "popularity", "weight": 1e308}]  # fmt: skip
    raw["models"] = {"b": {"type": "blend", "models": members}}
    _blend_case(raw)

"""Issue 27, inputs: long item texts, ids of add-items and similar, histories, k and files.

Each case failed on the code before it: a wrong answer with exit 0, an exit 1, or an unclear
message (see the issue)."""

from __future__ import annotations

import os
import random

import numpy as np
import polars as pl
import pytest

from recsys_embed import models
from recsys_embed.cli import main
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import DataError, MemoryLimitError, UnknownIdError
from recsys_embed.features.catalogue import (
    length_features,
    length_stats,
    token_onehots,
)
from recsys_embed.testing import GROUP_WORDS, planted, planted_text


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """An ALS and a text-kNN model on the planted groups (int ids 0-29, 3 groups of 10)."""
    d = tmp_path_factory.mktemp("models")
    inter = planted()
    als = models.create("als", factors=8, regularization=1.0, iterations=10).fit(
        inter, show_progress=False
    )
    knn = models.create("text-knn", word2vec_dim=8).fit(
        inter, planted_text(inter), show_progress=False
    )
    return {"als": als, "knn": knn, "als_dir": als.save(d / "als"), "knn_dir": knn.save(d / "knn")}


def cli(capsys, *args: str) -> tuple[int, str]:
    """Exit code and the one error line (or all of stderr when there is none)."""
    code = main(list(args))
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("recsys-embed: error:")]
    assert "Traceback" not in err
    assert len(lines) <= 1, err
    return code, lines[0] if lines else err


# ---- 1. one long text cannot take over the lists -----------------------------------------------
def test_length_features_saturate_at_the_catalogue_percentiles():
    lengths = np.log1p(np.arange(1.0, 201.0))[:, None].repeat(2, axis=1)
    stats = length_stats(lengths)
    inside = lengths[5:195]  # between the 1st and 99th percentiles: exactly standardised
    assert np.array_equal(length_features(inside, stats), (inside - stats[0]) / stats[1])
    huge = np.log1p(np.array([[2e5, 3e4]]))
    assert np.allclose(length_features(huge, stats), (stats[3] - stats[0]) / stats[1])
    old = stats[:2]  # saved before the range was kept: saturates at 3 std
    assert np.allclose(length_features(huge, old), 3.0)


def test_token_rows_weigh_no_more_than_the_richest_items():
    vocab = [f"w{i}" for i in range(50)]
    docs = [["w0", "w1"], ["w2", "w3", "w4", "w5"], vocab]
    plain = token_onehots(docs, vocab)
    bounded = token_onehots(docs, vocab, max_tokens=4)
    assert np.array_equal(bounded[:2].toarray(), plain[:2].toarray())  # within the bound: as is
    sums = np.asarray(bounded.sum(axis=1)).ravel()
    assert sums[2] == pytest.approx(2.0, rel=1e-6)  # sqrt(4): the richest item's, not sqrt(50)
    assert sums[2] < np.asarray(plain.sum(axis=1)).ravel()[2] / 3


@pytest.mark.parametrize(
    ("name", "most_random"),
    [("lightfm-hybrid", 0.03), ("als-text-map", 0.03)],  # before: 97% and 8% of users
)
def test_a_1mb_text_item_stays_out_of_most_lists_unless_its_content_earns_it(
    latest_small, name, most_random
):
    """A new item of 1 MB of catalogue words drawn at random reaches few users' top 10; one
    whose text repeats Pulp Fiction's reaches that film's audience, long or not."""
    inter, items = latest_small.interactions, latest_small.items
    model = models.create(name).fit(inter, item_text=items, show_progress=False)
    texts = dict(zip(items["item_id"].to_list(), items["text"].to_list(), strict=True))
    words = " ".join(texts.values()).split()
    rng = random.Random(0)
    noise = " ".join(rng.choice(words) for _ in range(160_000))
    assert len(noise) > 1_000_000
    pulp = texts[296]
    reach = {}
    for case, text in {"noise": noise, "copy": pulp, "long copy": " | ".join([pulp] * 400)}.items():
        grown = _with_item(model, text)
        ids, _ = grown.recommend(inter.user_ids, k=10)
        reach[case] = int((ids == 99_999_999).any(axis=1).sum()) / len(inter.user_ids)
    assert reach["noise"] < most_random, reach
    assert reach["copy"] >= 0.05 and reach["long copy"] >= 0.05, reach


def _with_item(model, text: str):
    """A copy of the fitted ``model`` (through save and load) with item 99999999 added."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        copy = models.load(model.save(f"{d}/m"))
    copy.add_items({99_999_999: text})
    return copy


# ---- 2. ids of add-items, from_frame and similar ------------------------------------------------
def _items_file(tmp_path, ids: list[str]) -> str:
    path = tmp_path / "new.csv"
    rows = "".join(f"{i},{GROUP_WORDS[1]} sequel\n" for i in ids)
    path.write_text(f"item_id,title\n{rows}")
    return str(path)


@pytest.mark.parametrize(
    ("ids", "needles"),
    [
        (["300021", "300020.7"], ["row 1", "300020.7", "is not an integer"]),
        (["300021", "abc"], ["row 1", "'abc'", "is not an integer"]),
        (["5.5"], ["row 0", "5.5", "is not an integer"]),  # would truncate onto item 5
        (["300021", "100000000000000000000000"], ["row 1", "outside the 64-bit"]),
        (["300021", ""], ["row 1 has no item id"]),
        (["", "300021", ""], ["row 0 has no item id"]),
    ],
)
def test_add_items_refuses_ids_that_are_not_the_models(saved, tmp_path, capsys, ids, needles):
    path = _items_file(tmp_path, ids)
    args = ["add-items", "--model", str(saved["knn_dir"]), "--items", path]
    code, line = cli(
        capsys, *args, "--id-col", "item_id", "--text-cols", "title", "--out", str(tmp_path / "o")
    )
    assert code == 3, line
    for needle in [path, *needles]:
        assert needle in line, line
    assert not (tmp_path / "o").exists()


def test_add_items_api_never_truncates_an_id(saved):
    model = models.load(saved["knn_dir"])
    with pytest.raises(DataError, match=r"add_items: item id 300020\.7 at row 0 is not an integer"):
        model.add_items({300020.7: "space alien"})
    with pytest.raises(DataError, match="row 0 has no item id"):
        model.add_items({None: "space alien"})
    assert model.add_items({300020.0: "space alien"}) == 1  # an integral float is that integer
    assert model.item_map_.ids[-1] == 300020


def test_add_items_messages_name_the_file_and_a_plain_id(saved, tmp_path, capsys):
    path = _items_file(tmp_path, ["300021", "1"])
    common = ["--id-col", "item_id", "--text-cols", "title", "--out", str(tmp_path / "o")]
    code, line = cli(
        capsys, "add-items", "--model", str(saved["knn_dir"]), "--items", path, *common
    )
    assert code == 3 and path in line and "item id 1 at row 1 is already in the catalogue" in line
    assert "np.int64" not in line
    code, line = cli(
        capsys, "add-items", "--model", str(saved["als_dir"]), "--items", path, *common
    )
    assert code == 2 and "als-text-map" in line and "lightfm-hybrid" in line and "text-knn" in line


def test_add_items_parse_error_quotes_an_excerpt_of_a_long_row(saved, tmp_path, capsys):
    path = tmp_path / "long.csv"
    path.write_text('item_id,title\n300021,ok\n300022,"unbalanced ' + "word " * 4000 + "\n")
    code, line = cli(
        capsys, "add-items", "--model", str(saved["knn_dir"]), "--items", str(path),
        "--id-col", "item_id", "--text-cols", "title", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == 3 and str(path) in line
    assert len(line) < 400, line


def test_from_frame_refuses_uint64_ids_past_int64():
    frame = pl.DataFrame(
        {
            "user": pl.Series([1, 2**63 + 5], dtype=pl.UInt64),
            "item": pl.Series([1, 2], dtype=pl.UInt64),
        }
    )
    with pytest.raises(
        DataError, match=r"log\.csv: column 'user' has id 9223372036854775813 at row 1"
    ):
        Interactions.from_frame(frame, source="log.csv")
    fits = pl.DataFrame({"user": pl.Series([1, 2**63 - 1], dtype=pl.UInt64), "item": [1, 2]})
    assert Interactions.from_frame(fits).user_ids.tolist() == [1, 2**63 - 1]


def test_similar_of_an_id_past_int64_is_an_unknown_id(saved, capsys):
    code, line = cli(
        capsys, "similar", "--model", str(saved["als_dir"]), "--item", "99999999999999999999999"
    )
    assert code == 3 and "unknown item id" in line and "99999999999999999999999" in line


# ---- 3. histories ---------------------------------------------------------------------------------
def test_history_with_no_known_item_is_an_error_not_a_list_of_zeros(saved, tmp_path, capsys):
    als = saved["als"]
    with pytest.raises(UnknownIdError, match="none of the 2 history item"):
        als.recommend_for_history([[900, 901]], k=5)
    with pytest.raises(UnknownIdError, match="no history item of the 1 user"):
        als.recommend_for_history([[]], k=5)
    with pytest.raises(UnknownIdError, match="none of the 1 history item"):
        als.recommend_for_history({"a": ["x"]}, k=5)  # a string on an int-id model
    with pytest.raises(DataError, match="no user histories"):
        als.recommend_for_history({}, k=5)
    # a user with nothing known gets no list; the others theirs, as before
    ids, scores = als.recommend_for_history([[900], [1, 2]], k=3)
    assert ids[0].tolist() == [-1, -1, -1] and np.isneginf(scores[0]).all()
    assert ids[1].tolist() == als.recommend_for_history([[1, 2]], k=3)[0][0].tolist()
    frame = als.recommend_for_history({"lost": [900], "n": [1, 2]}, k=3, output="polars")
    assert set(frame["user_id"].to_list()) == {"n"}
    hist = tmp_path / "unknown.csv"
    hist.write_text("user_id,item_id\nn1,900\nn1,901\n")
    out = tmp_path / "o.csv"
    code, line = cli(
        capsys,
        "recommend",
        "--model",
        str(saved["als_dir"]),
        "--history",
        str(hist),
        "--out",
        str(out),
    )
    assert code == 3 and "none of the 2 history item" in line and not out.exists()
    hist.write_text("user_id,item_id\n")
    code, line = cli(
        capsys,
        "recommend",
        "--model",
        str(saved["als_dir"]),
        "--history",
        str(hist),
        "--out",
        str(out),
    )
    assert code == 3 and str(hist) in line and "no history rows" in line and not out.exists()


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan"), float("inf")])
def test_history_weights_must_be_positive_and_finite(saved, weight):
    with pytest.raises(
        DataError, match=r"history of user 'u': weight .* of item 2 is not a positive finite"
    ):
        saved["als"].recommend_for_history({"u": [1, 2]}, weights=[[1.0, weight]], k=3)


def test_history_from_a_pipe(saved, tmp_path, capsys):
    read, write = os.pipe()
    os.write(write, b"user_id,item_id\nn1,1\nn1,2\n")
    os.close(write)
    out = tmp_path / "o.csv"
    try:
        code, err = cli(
            capsys,
            "recommend",
            "--model",
            str(saved["als_dir"]),
            "--history",
            f"/dev/fd/{read}",
            "--k",
            "3",
            "--out",
            str(out),
        )
    finally:
        os.close(read)
    assert code == 0, err
    want = saved["als"].recommend_for_history({"n1": [1, 2]}, k=3)[0][0].tolist()
    assert pl.read_csv(out)["item_id"].to_list() == want


# ---- 4. k and files -------------------------------------------------------------------------------
def test_a_k_too_large_for_memory_is_refused_before_allocating(saved):
    als = saved["als"]
    with pytest.raises(MemoryLimitError, match="top-k lists"):
        als.recommend([0], k=10**12)
    with pytest.raises(MemoryLimitError, match="top-k lists"):
        als.similar_items([0], k=10**11)
    with pytest.raises(MemoryLimitError, match="top-k lists"):
        als.recommend_for_history([[1]], k=10**12)
    assert als.recommend([0], k=40)[0].shape == (1, 40)  # beyond the catalogue: padded, as before


def test_similar_caps_k_at_the_catalogue_and_warns(saved, tmp_path, capsys):
    out = tmp_path / "s.csv"
    code = main(
        [
            "similar",
            "--model",
            str(saved["als_dir"]),
            "--item",
            "3",
            "--k",
            str(10**11),
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"--k {10**11} is more than the 30 items the model knows; using 30" in err
    assert pl.read_csv(out).height == 29  # every other item


@pytest.mark.parametrize("content", ["", "item_id\n"])
def test_empty_ids_files_are_refused(saved, tmp_path, capsys, content):
    ids = tmp_path / ("items.csv" if content else "items.txt")
    ids.write_text(content)
    out = tmp_path / "s.csv"
    code, line = cli(
        capsys, "similar", "--model", str(saved["als_dir"]), "--items", str(ids), "--out", str(out)
    )
    assert code == 3 and str(ids) in line and ("no item ids" in line or "empty" in line), line
    assert not out.exists()
    users = tmp_path / "users.txt"
    users.write_text("")
    code, line = cli(
        capsys,
        "recommend",
        "--model",
        str(saved["als_dir"]),
        "--users",
        str(users),
        "--out",
        str(out),
    )
    assert code == 3 and "no user ids" in line and not out.exists()


def test_a_directory_is_named_as_one(saved, tmp_path, capsys):
    out = str(tmp_path / "s.csv")
    for args in (["similar", "--items", str(tmp_path)], ["recommend", "--history", str(tmp_path)]):
        code, line = cli(capsys, args[0], "--model", str(saved["als_dir"]), *args[1:], "--out", out)
        assert code == 3 and f"{tmp_path}: is a directory" in line, line

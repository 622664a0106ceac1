import struct
import tracemalloc

import numpy as np
import pytest

from recsys_embed import DataError
from recsys_embed.features import (
    TextFeaturizer,
    WordVectors,
    load_word_vectors,
    title_year,
    tokenize,
    train_word2vec,
)
from recsys_embed.features.vectors import detect_format


def test_tokenize_item_metadata():
    assert tokenize("Toy Story (1995)") == ["toy", "story"]
    assert tokenize("Adventure|Animation|Children's") == ["adventure", "animation", "children's"]
    assert tokenize("Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)") == [
        "amélie",
        "fabuleux",
        "destin",
        "d'amélie",
        "poulain",
        "le",
    ]
    assert tokenize("Star Wars: Episode IV - A New Hope (1977) | sci-fi") == [
        "star",
        "wars",
        "episode",
        "iv",
        "a",
        "new",
        "hope",
        "1977",
        "sci",
        "fi",
    ]
    assert tokenize("The Matrix (1999)", stop_words=True) == ["matrix"]
    assert tokenize("") == [] and tokenize("  |  ") == []
    assert title_year("Heat (1995)") == 1995 and title_year("Heat") is None


VOCAB = {"cat": [1.0, 0.0], "dog": [0.0, 2.0], "fish": [3.0, 4.0]}


def write_text(path, header: bool):
    lines = [f"{len(VOCAB)} 2"] if header else []
    lines += [f"{w} {v[0]} {v[1]}" for w, v in VOCAB.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_binary(path):
    with path.open("wb") as fh:
        fh.write(f"{len(VOCAB)} 2\n".encode())
        for w, v in VOCAB.items():
            fh.write(w.encode() + b" " + struct.pack("<2f", *v) + b"\n")
    return path


@pytest.mark.parametrize(
    ("name", "writer", "fmt", "detected"),
    [
        ("glove.txt", lambda p: write_text(p, False), "glove", "glove"),
        ("w2v.txt", lambda p: write_text(p, True), "word2vec", "word2vec"),
        ("ft.vec", lambda p: write_text(p, True), "fasttext", "word2vec"),
        ("w2v.bin", write_binary, "word2vec-binary", "word2vec-binary"),
    ],
)
def test_vector_formats(tmp_path, name, writer, fmt, detected):
    path = writer(tmp_path / name)
    assert detect_format(path) == detected
    for f in ("auto", fmt):
        wv = load_word_vectors(path, fmt=f)
        assert wv.words == ["cat", "dog", "fish"]
        np.testing.assert_array_equal(wv.matrix, np.array(list(VOCAB.values()), dtype=np.float32))
    only = load_word_vectors(path, vocabulary={"dog", "zebra"})
    assert only.words == ["dog"] and only.matrix.tolist() == [[0.0, 2.0]]


def test_vector_file_errors(tmp_path):
    with pytest.raises(DataError, match="word-vector file not found"):
        load_word_vectors(tmp_path / "none.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("cat 1 2\ndog 1\n")
    with pytest.raises(DataError, match=r"line 2 has 1 values; expected 2"):
        load_word_vectors(bad)


def featurizer(pooling, docs, centre=False):
    wv = WordVectors(list(VOCAB), np.array(list(VOCAB.values()), dtype=np.float32))
    return TextFeaturizer(wv, pooling, centre=centre).fit(docs)


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


DOCS = [["cat", "dog"], ["cat", "fish", "unknownword"], ["zebra"], []]


def test_mean_pooling_by_hand_and_oov():
    f = featurizer("mean", DOCS)
    out = f.transform(DOCS)
    np.testing.assert_allclose(out[0], unit([0.5, 1.0]), rtol=1e-6)
    np.testing.assert_allclose(out[1], unit([2.0, 2.0]), rtol=1e-6)
    assert out[2].tolist() == [0.0, 0.0] and out[3].tolist() == [0.0, 0.0]  # never NaN
    assert f.oov_.token_share == pytest.approx(2 / 6)  # unknownword, zebra
    assert f.oov_.item_share == pytest.approx(1 / 3)  # zebra's item, of 3 with text
    assert f.oov_.items_without_text == 1


def test_tfidf_pooling_by_hand():
    f = featurizer("tfidf", DOCS)
    # idf = ln((1 + 4) / (1 + df)) + 1 ; cat df=2, dog df=1, fish df=1
    idf_cat, idf_dog = np.log(5 / 3) + 1, np.log(5 / 2) + 1
    want = (idf_cat * np.array([1.0, 0.0]) + idf_dog * np.array([0.0, 2.0])) / (idf_cat + idf_dog)
    np.testing.assert_allclose(f.transform(DOCS)[0], unit(want), rtol=1e-6)


def test_sif_pooling_by_hand():
    docs = [["cat", "dog"], ["cat", "fish"], ["dog", "fish", "fish"]]
    f = featurizer("sif", docs)
    total = 7
    p = {"cat": 2 / total, "dog": 2 / total, "fish": 3 / total}
    a = 1e-3
    raw = []
    for d in docs:
        w = np.array([a / (a + p[t]) for t in d])
        vec = np.array([VOCAB[t] for t in d])
        raw.append((w[:, None] * vec).sum(0) / w.sum())
    raw = np.array(raw)
    pc = np.linalg.svd(raw, full_matrices=False)[2][0]
    want = raw - np.outer(raw @ pc, pc)
    got = f.transform(docs)
    for g, w in zip(got, want, strict=True):
        if np.linalg.norm(w) > 1e-9:
            np.testing.assert_allclose(np.abs(g @ unit(w)), 1.0, rtol=1e-5)


def test_centring_removes_the_mean():
    docs = [["cat"], ["dog"], ["fish"]]
    f = featurizer("mean", docs, centre=True)
    mean = np.array(list(VOCAB.values())).mean(0)
    np.testing.assert_allclose(
        f.transform([["cat"]])[0], unit(np.array([1.0, 0.0]) - mean), rtol=1e-6
    )


def test_loading_a_big_file_restricted_to_a_small_corpus_stays_small(tmp_path):
    rng = np.random.default_rng(0)
    n, dim = 200_000, 100
    path = tmp_path / "big.txt"
    vals = rng.random((n, dim), dtype=np.float32)
    with path.open("w") as fh:
        for start in range(0, n, 20_000):
            block = vals[start : start + 20_000]
            fh.write(
                "\n".join(
                    f"w{start + i} " + " ".join(f"{x:.4f}" for x in row)
                    for i, row in enumerate(block)
                )
                + "\n"
            )
    del vals
    corpus = {f"w{i}" for i in range(0, n, 40)}  # 5,000 words
    tracemalloc.start()
    wv = load_word_vectors(path, vocabulary=corpus)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    full = n * dim * 4  # 80 MB as float32
    assert len(wv) == 5_000 and wv.dim == dim
    assert peak < full / 10, f"peak {peak / 2**20:.1f} MiB"


def test_word2vec_is_seeded():
    docs = [["space", "alien", "ship"], ["alien", "invasion"], ["love", "romance", "paris"]] * 20
    a = train_word2vec(docs, dim=8, seed=3, epochs=5)
    b = train_word2vec(docs, dim=8, seed=3, epochs=5)
    assert a.words == b.words and np.array_equal(a.matrix, b.matrix)


def planted_pairs_corpus(seed: int = 0) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Six word pairs; each pair's two words always appear together, mixed with noise words."""
    rng = np.random.default_rng(seed)
    pairs = [(f"a{k}", f"b{k}") for k in range(6)]
    noise = [f"n{k}" for k in range(30)]
    docs = []
    for _ in range(400):
        doc = list(pairs[rng.integers(len(pairs))])
        doc += rng.choice(noise, size=3, replace=False).tolist()
        rng.shuffle(doc)
        docs.append(doc)
    return docs, pairs


def test_cooccurrence_and_ppmi_by_hand():
    import scipy.sparse as sp

    from recsys_embed.features.ppmi import cooccurrence, ppmi

    docs = [["x", "y"], ["x", "y"], ["x", "z"], ["x", "x", "w"]]  # a repeat counts once per item
    words, counts = cooccurrence(docs)
    assert words == ["w", "x", "y", "z"]
    assert counts.toarray().tolist() == [[0, 1, 0, 0], [1, 0, 2, 1], [0, 2, 0, 0], [0, 1, 0, 0]]
    # words a, b, c, x: a-b together 5 times, the hub x once with each; total count 16
    c = sp.csr_matrix(
        np.array([[0, 5, 0, 1], [5, 0, 0, 1], [0, 0, 0, 1], [1, 1, 1, 0]], dtype=float)
    )
    m = ppmi(c, cds=1.0).toarray()
    assert m[0, 1] == pytest.approx(np.log((5 / 16) / ((6 / 16) * (6 / 16))))
    assert m[3, 2] == pytest.approx(np.log((1 / 16) / ((3 / 16) * (1 / 16))))
    assert m[3, 0] == 0.0  # log((1/16) / (3/16 * 6/16)) < 0: clipped
    smooth = ppmi(c, cds=0.75).toarray()
    ctx = np.array([6.0, 6.0, 1.0, 3.0]) ** 0.75
    assert smooth[0, 1] == pytest.approx(np.log((5 / 16) / ((6 / 16) * (ctx[1] / ctx.sum()))))


def test_ppmi_svd_pairs_are_nearest_neighbours_and_runs_are_identical():
    from recsys_embed.features.ppmi import train_ppmi_svd

    docs, pairs = planted_pairs_corpus()
    wv = train_ppmi_svd(docs, dim=12, seed=0, show=False)
    unit = wv.matrix / np.linalg.norm(wv.matrix, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    for a, b in pairs:
        assert wv.words[int(np.argmax(sims[wv.index[a]]))] == b
        assert wv.words[int(np.argmax(sims[wv.index[b]]))] == a
    again = train_ppmi_svd(docs, dim=12, seed=0, show=False)
    assert again.words == wv.words and again.matrix.tobytes() == wv.matrix.tobytes()


def test_ppmi_svd_is_the_same_on_every_build_of_a_small_vocabulary():
    # 11 words, rank 8, repeated singular values: ARPACK would restart from an unseeded
    # random vector here (a dense SVD is used instead)
    from recsys_embed.features.ppmi import train_ppmi_svd

    docs = [[f"group{i // 30}", f"word{i % 7}"] for i in range(120)]
    builds = [train_ppmi_svd(docs, dim=64, seed=0, show=False) for _ in range(3)]
    assert {b.matrix.tobytes() for b in builds} == {builds[0].matrix.tobytes()}
    unit = builds[0].matrix / np.linalg.norm(builds[0].matrix, axis=1, keepdims=True)
    assert builds[0].matrix.shape == (11, 64) and np.isfinite(unit).all()


def cache_test_data():
    import polars as pl

    import recsys_embed as rse

    docs, _ = planted_pairs_corpus()
    items = pl.DataFrame({"item_id": list(range(len(docs))), "text": [" ".join(d) for d in docs]})
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"u": rng.integers(0, 30, 600), "i": rng.integers(0, 300, 600)})
    return rse.Interactions.from_frame(frame.unique(), "u", "i"), items


def test_word_vectors_are_built_once_per_corpus_and_settings(caplog):
    import polars as pl

    from recsys_embed import models
    from recsys_embed.features.cache import WordVectorCache
    from recsys_embed.models.textbase import share_word_vectors

    train, items = cache_test_data()
    cache = WordVectorCache()  # a run's: every model below builds through it

    def create(name, **params):
        return share_word_vectors(models.create(name, **params), cache)

    with caplog.at_level("INFO", logger="recsys_embed"):
        knn = create("text-knn", word2vec_dim=8).fit(train, item_text=items)
        create("als-text-map", word2vec_dim=8, factors=4).fit(train, item_text=items)
        create("lightfm-hybrid", word2vec_dim=8, epochs=1).fit(train, item_text=items)
    assert (cache.trained, cache.reused) == (1, 2)
    built = [r for r in caplog.records if r.getMessage().startswith("word vectors: building")]
    assert len(built) == 1 and "ppmi-svd 8-d on 400 item texts" in built[0].getMessage()
    # other settings (dimensions, method) are another entry; so is another tokenisation
    create("text-knn", word2vec_dim=6).fit(train, item_text=items)
    create("text-knn", word2vec_dim=8, vectors="word2vec").fit(train, item_text=items)
    assert cache.trained == 3
    with_stop = items.with_columns((pl.col("text") + " the").alias("text"))
    create("text-knn", word2vec_dim=8, stop_words=False).fit(train, item_text=with_stop)
    assert cache.trained == 4
    create("text-knn", word2vec_dim=8, stop_words=True).fit(train, item_text=with_stop)
    assert (cache.trained, cache.reused) == (4, 3)  # "the" dropped: as before
    refit = create("text-knn", word2vec_dim=8).fit(train, item_text=items)
    assert np.array_equal(refit.item_factors_, knn.item_factors_)
    # a model left out of the run builds its own, every fit, and the run's cache is untouched
    alone = models.create("text-knn", word2vec_dim=8)
    assert share_word_vectors(models.create("als"), cache).get_params()["factors"] > 0
    with caplog.at_level("INFO", logger="recsys_embed"):
        caplog.clear()
        alone.fit(train, item_text=items)
        alone.fit(train, item_text=items)
    built = [r for r in caplog.records if r.getMessage().startswith("word vectors: building")]
    assert len(built) == 2 and alone.word_vector_cache is None
    assert (cache.trained, cache.reused) == (4, 4)
    assert np.array_equal(alone.item_factors_, knn.item_factors_)


def test_a_tuning_run_builds_its_word_vectors_once(caplog):
    from recsys_embed.tuning import tune

    train, items = cache_test_data()
    with caplog.at_level("INFO", logger="recsys_embed"):
        result = tune(
            "text-knn",
            train,
            fixed={"word2vec_dim": 8},
            space={"pooling": ["mean", "sif"]},
            trials=3,
            sampler="random",
            item_text=items,
            decision="best",
        )
    messages = [r.getMessage() for r in caplog.records]
    built = [m for m in messages if m.startswith("word vectors: building")]
    reused = [m for m in messages if m.startswith("word vectors: reusing")]
    assert len(result.trials) == 3
    # 3 trials and the final fits of the winner and the defaults: one build, the rest reuse it
    assert len(built) == 1 and len(reused) >= 3


def test_decade_onehots_of_a_parenthesised_year():
    from recsys_embed.features.catalogue import decade_onehots

    texts = [
        "Toy Story (1995) | Animation",  # 1990s: column 199 - 188 = 11
        "2001: A Space Odyssey (1968) | Sci-Fi",  # the (year), not the first number: 1960s
        "Old ( 1879 )",  # before 1880: the first column
        "Far (2051)",  # after the 2040s: the last column
        "tags 1995 without parentheses",
        "",
    ]
    m = decade_onehots(texts).toarray()
    assert m.shape == (6, 17)
    assert [list(np.flatnonzero(r)) for r in m] == [[11], [8], [0], [16], [], []]
    assert m.sum() == 4


def test_an_evaluation_run_builds_its_word_vectors_once(tmp_path, caplog):
    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY, run_evaluation

    train, items = cache_test_data()
    train.to_frame().select("user_id", "item_id").write_csv(tmp_path / "log.csv")
    items.write_csv(tmp_path / "items.csv")
    (tmp_path / "run.toml").write_text(
        '[data]\ninteractions = "log.csv"\nuser_col = "user_id"\nitem_col = "item_id"\n'
        '[data.items]\npath = "items.csv"\nid_col = "item_id"\ntext_cols = ["text"]\n'
        '[split]\nmethod = "random"\ntest_fraction = 0.2\nseed = 0\n'
        "[evaluate]\nk = [5]\n"
        '[models.knn]\ntype = "text-knn"\nword2vec_dim = 8\n'
        '[models.map]\ntype = "als-text-map"\nword2vec_dim = 8\nfactors = 4\n'
        '[models.pop]\ntype = "popularity"\n'
    )
    config = load_config(tmp_path / "run.toml", VOCABULARY)
    with caplog.at_level("INFO", logger="recsys_embed"):
        report = run_evaluation(config, tmp_path / "out", lambda _msg: None, show_progress=False)
    messages = [r.getMessage() for r in caplog.records]
    assert sorted(report.results) == ["knn", "map", "pop"]
    assert sum(m.startswith("word vectors: building") for m in messages) == 1
    assert sum(m.startswith("word vectors: reusing") for m in messages) == 1

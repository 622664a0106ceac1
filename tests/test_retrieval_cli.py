"""``recsys-embed recommend --retrieval ann --eligible --exclude-items --exclude-pairs``."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys_embed.cli import main

pytest.importorskip("faiss")

K = 10


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from test_retrieval import planted_model

    return planted_model(seed=8).save(tmp_path_factory.mktemp("cli") / "model")


@pytest.mark.parametrize("retrieval", ["exact", "ann"])
def test_recommend_applies_every_rule_and_names_unknown_ids(model_dir, tmp_path, capsys, retrieval):
    from recsys_embed.models.registry import load

    model = load(model_dir)
    ids = model.item_map_.ids
    eligible = ids[::2].tolist()
    (tmp_path / "in_stock.txt").write_text("\n".join(map(str, [*eligible, 99999999])) + "\n")
    excluded = eligible[:40]
    pl.DataFrame({"item_id": [*excluded, 88888888]}).write_csv(tmp_path / "ex.csv")
    users = model.user_map_.ids[:50]
    top = model.recommend(users, K, eligible=eligible, exclude_items=excluded)[0]
    pairs = pl.DataFrame(
        {
            "user_id": [int(u) for u in users for _ in range(3)],
            "item_id": [int(i) for row in top for i in row[:3]],
        }
    )
    pairs.write_csv(tmp_path / "bought.csv")
    out = tmp_path / "recs.parquet"
    code = main(
        [
            "recommend",
            "--model",
            str(model_dir),
            "--k",
            str(K),
            "--out",
            str(out),
            "--retrieval",
            retrieval,
            "--eligible",
            str(tmp_path / "in_stock.txt"),
            "--exclude-items",
            str(tmp_path / "ex.csv"),
            "--exclude-pairs",
            str(tmp_path / "bought.csv"),
            "--quiet",
        ]
    )
    assert code == 0
    recs = pl.read_parquet(out)
    assert recs["user_id"].n_unique() == len(model.user_map_)
    assert set(recs["item_id"].to_list()) <= set(eligible) - set(excluded)
    got = set(zip(recs["user_id"].to_list(), recs["item_id"].to_list(), strict=True))
    assert not got & set(zip(pairs["user_id"].to_list(), pairs["item_id"].to_list(), strict=True))
    assert recs.group_by("user_id").len()["len"].min() == K
    lib = model.recommend(
        users,
        K,
        retrieval=retrieval,
        eligible=eligible,
        exclude_items=excluded,
        exclude_pairs=pairs,
    )[0]
    first = recs.filter(pl.col("user_id") == int(users[0])).sort("rank")["item_id"].to_list()
    assert first == lib[0].tolist()
    code = main(
        [
            "recommend",
            "--model",
            str(model_dir),
            "--out",
            str(out),
            "--eligible",
            str(tmp_path / "in_stock.txt"),
            "--exclude-items",
            str(tmp_path / "ex.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert "1 item id(s) in --eligible the model does not know, ignored: 99999999" in err
    assert "1 item id(s) in --exclude-items the model does not know, ignored: 88888888" in err


def test_rules_are_refused_where_not_supported(model_dir, tmp_path, capsys):
    hist = tmp_path / "h.csv"
    pl.DataFrame({"user_id": [1], "item_id": [1000]}).write_csv(hist)
    code = main(
        [
            "recommend",
            "--model",
            str(model_dir),
            "--out",
            str(tmp_path / "r.csv"),
            "--history",
            str(hist),
            "--retrieval",
            "ann",
        ]
    )
    assert code != 0
    assert "not supported with --history yet" in capsys.readouterr().err


def test_similar_takes_retrieval(model_dir, tmp_path):
    exact, approx = tmp_path / "e.csv", tmp_path / "a.csv"
    for out, retrieval in ((exact, "exact"), (approx, "ann")):
        code = main(
            [
                "similar",
                "--model",
                str(model_dir),
                "--item",
                "1000",
                "--item",
                "1001",
                "--k",
                "5",
                "--out",
                str(out),
                "--retrieval",
                retrieval,
                "--quiet",
            ]
        )
        assert code == 0
    assert (
        pl.read_csv(exact)["similar_item_id"].to_list()
        == pl.read_csv(approx)["similar_item_id"].to_list()
    )


def test_pairs_for_text_user_ids_that_look_like_numbers(tmp_path, capsys):
    """ml-1m's user ids are text ("12"): a pairs file's 12 must match them, not be dropped."""
    from test_retrieval import planted_model

    from recsys_embed import IdMap
    from recsys_embed.models.registry import load

    base = planted_model(seed=9)
    users = np.array([str(u) for u in base.user_map_.ids], dtype=object)
    base.set_factors(
        IdMap(users, "user"), base.item_map_, base.seen_, base.user_factors_, base.item_factors_
    )
    path = base.save(tmp_path / "m")
    top = load(path).recommend(["12"], K)[0][0]
    pl.DataFrame(
        {"user_id": [12, 12, 777777], "item_id": [int(top[0]), int(top[1]), 1000]}
    ).write_csv(tmp_path / "bought.csv")
    out = tmp_path / "r.csv"
    args = ["recommend", "--model", str(path), "--out", str(out), "--users"]
    (tmp_path / "u.txt").write_text("12\n")
    code = main([*args, str(tmp_path / "u.txt"), "--exclude-pairs", str(tmp_path / "bought.csv")])
    assert code == 0
    got = pl.read_csv(out, schema_overrides={"user_id": pl.String})["item_id"].to_list()
    assert len(got) == K and int(top[0]) not in got and int(top[1]) not in got
    assert "1 user id(s) in --exclude-pairs the model does not know: '777777'" in (
        capsys.readouterr().err
    )


def test_evaluate_retrieval_flag_and_table(tmp_path):
    """evaluate --retrieval ann: the same NDCG on MovieLens 100K, AUC exact, recorded in the run."""
    import json

    from conftest import shared_data_dir

    if shared_data_dir() is None:
        pytest.skip("MovieLens 100K not found")
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        '[data]\ninteractions = "movielens-100k"\n[evaluate]\nk = [10]\n'
        'metrics = ["ndcg", "auc"]\n[models.als]\ntype = "als"\nfactors = 32\n'
    )
    runs = {}
    for retrieval in ("exact", "ann"):
        out = tmp_path / retrieval
        code = main(
            [
                "evaluate",
                "--config",
                str(cfg),
                "--out",
                str(out),
                "--quiet",
                "--retrieval",
                retrieval,
            ]
        )
        assert code == 0
        runs[retrieval] = json.loads((out / "metrics.json").read_text())["models"]["als"]
        toml = (out / "config.toml").read_text()
        assert ('method = "ann"' in toml) == (retrieval == "ann")
    exact, approx = (runs[r]["metrics"] for r in ("exact", "ann"))
    assert approx["auc@10"] == exact["auc@10"]
    assert abs(approx["ndcg@10"] - exact["ndcg@10"]) < 0.002

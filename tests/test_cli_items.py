"""CLI: similar items, adding items by text, fold-in from histories, help, progress lines."""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl
import pytest

from recsys_embed import models
from recsys_embed.cli import build_parser
from recsys_embed.testing import GROUP_WORDS, planted, planted_text
from tests.test_cli import one_error_line, run


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """An ALS and a text-kNN model fitted on the planted groups (items 0-29, 3 groups of 10)."""
    d = tmp_path_factory.mktemp("models")
    inter = planted()
    als = models.create("als", factors=8, regularization=1.0, iterations=10).fit(
        inter, show_progress=False
    )
    knn = models.create("text-knn", word2vec_dim=8).fit(
        inter, planted_text(inter), show_progress=False
    )
    return {"als": als, "knn": knn, "als_dir": als.save(d / "als"), "knn_dir": knn.save(d / "knn")}


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out[sub.prog] = sub
                out.update(subparsers(sub))
    return out


def test_every_option_has_help_a_default_and_every_command_an_example():
    subs = subparsers(build_parser())
    assert {"recsys-embed similar", "recsys-embed add-items", "recsys-embed datasets fetch"} <= set(
        subs
    )
    for prog, sub in subs.items():
        text = sub.format_help()
        assert "example:\n  recsys-embed " in text, prog
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{prog} {action.dest} has no help"
            if action.option_strings:
                shown = sub._get_formatter()._get_help_string(action)
                assert "default" in shown or "(required)" in shown, f"{prog} {action.dest}"
    rec = subs["recsys-embed recommend"].format_help()
    assert "items per user (default: 10)" in rec
    assert "--config" in subs["recsys-embed evaluate"].format_help()


def test_similar_to_stdout_and_file(saved, tmp_path):
    proc = run(
        "similar", "--model", str(saved["als_dir"]), "--item", "3", "--item", "25", "--k", "4"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "item_id,rank,similar_item_id,score" and len(lines) == 1 + 8
    want, _ = saved["als"].similar_items([3, 25], k=4)
    got = pl.read_csv(proc.stdout.encode())
    assert got["similar_item_id"].to_list() == want.ravel().tolist()
    # planted groups: item 3's nearest items are its group's (0-9), item 25's are 20-29
    assert set(want[0].tolist()) <= set(range(10)) and set(want[1].tolist()) <= set(range(20, 30))
    ids = tmp_path / "items.txt"
    ids.write_text("3\n")
    out = tmp_path / "sim.parquet"
    proc = run("similar", "--model", str(saved["als_dir"]), "--items", str(ids), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(out).height == 10
    one_error_line(
        run("similar", "--model", str(saved["als_dir"]), "--item", "999"),
        3,
        "unknown item id",
        "999",
    )


def test_add_items_to_a_saved_text_model(saved, tmp_path):
    new = tmp_path / "new_items.csv"
    pl.DataFrame(
        {
            "movieId": [100, 101],
            "title": [f"{GROUP_WORDS[1]} sequel", f"{GROUP_WORDS[2]} returns"],
            "genres": ["Romance", "Crime"],
        }
    ).write_csv(new)
    out = tmp_path / "knn-new"
    proc = run(
        "add-items", "--model", str(saved["knn_dir"]), "--items", str(new),
        "--id-col", "movieId", "--text-cols", "title", "genres", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "added 2 items (30 -> 32)" in proc.stderr
    grown = models.load(out)
    assert grown.item_map_.ids[-2:].tolist() == [100, 101]
    sim, _ = grown.similar_items([100, 101], k=5)
    assert set(sim[0].tolist()) <= set(range(10, 20))  # the romance group
    assert set(sim[1].tolist()) <= set(range(20, 30))  # the crime group
    # the new items can be recommended: restrict to them for a user of the crime group
    ids, _ = grown.recommend([45], k=1, items=[100, 101])
    assert ids[0].tolist() == [101]
    one_error_line(
        run("add-items", "--model", str(saved["als_dir"]), "--items", str(new),
            "--id-col", "movieId", "--text-cols", "title", "--out", str(tmp_path / "x")),
        2, "cannot add items from text",
    )  # fmt: skip
    again = run(
        "add-items", "--model", str(out), "--items", str(new),
        "--id-col", "movieId", "--text-cols", "title", "--out", str(tmp_path / "y"),
    )  # fmt: skip
    one_error_line(again, 3, "already in the catalogue")


def test_recommend_from_history_file(saved, tmp_path):
    hist = tmp_path / "new_users.csv"
    pl.DataFrame({"user_id": ["n1", "n1", "n2"], "item_id": [1, 2, 21]}).write_csv(hist)
    out = tmp_path / "new.csv"
    proc = run(
        "recommend", "--model", str(saved["als_dir"]), "--history", str(hist),
        "--k", "3", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = pl.read_csv(out)
    want = saved["als"].recommend_for_history({"n1": [1, 2], "n2": [21]}, k=3, output="polars")
    assert (
        got.select("user_id", "rank", "item_id").rows()
        == want.select("user_id", "rank", "item_id").rows()
    )
    assert set(got.filter(pl.col("user_id") == "n2")["item_id"].to_list()) <= set(range(20, 30))
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id\nn1,x7\n")
    one_error_line(
        run("recommend", "--model", str(saved["als_dir"]), "--history", str(bad), "--out", str(out)),
        3, "item id 'x7' at row 0 is not an integer",
    )  # fmt: skip


def test_progress_lines_off_a_terminal_and_quiet(tmp_path, monkeypatch, capsys):
    """In-process, stderr is no terminal: fits log their progress as timestamped lines (a
    clock that jumps 5 s per reading makes every update due), and --quiet prints nothing."""
    import itertools

    from recsys_embed import progress
    from recsys_embed.cli import main

    inter = planted()
    inter.to_frame().select("user_id", "item_id").write_csv(tmp_path / "log.csv")
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        '[data]\ninteractions = "log.csv"\nuser_col = "user_id"\nitem_col = "item_id"\n\n'
        '[models.bpr]\ntype = "bpr"\nfactors = 4\niterations = 3\n'
    )
    ticks = itertools.count(0.0, 10.0)
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(ticks))
    args = ["train", "--config", str(cfg), "--model", "bpr", "--out", str(tmp_path / "m")]
    assert main(args) == 0
    err = capsys.readouterr().err.splitlines()
    lines = [x for x in err if "recsys-embed: bpr: " in x]
    assert [x.split("recsys-embed: ")[1].split(",")[0] for x in lines] == [
        "bpr: 1/3 iteration (33%)",
        "bpr: 2/3 iteration (67%)",
        "bpr: 3/3 iteration (100%)",
        "bpr: 3/3 iteration (100%)",  # the closing line, "(done)"
    ]
    assert lines[-1].endswith("(done)")
    assert main([*args, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert np.load(tmp_path / "m" / "item_factors.npy").shape == (30, 5)

import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import DataError


def write(tmp_path, name, text, mode="w"):
    p = tmp_path / name
    if mode == "wb":
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


def test_csv_with_header(tmp_path):
    p = write(tmp_path, "log.csv", "u,i,r,t\n1,10,4.5,100\n2,10,3,200\n1,20,5,300\n")
    inter = rse.read_interactions(p, "u", "i", "r", "t")
    assert (inter.n_users, inter.n_items, inter.nnz) == (2, 2, 3)
    assert sorted(inter.to_frame().rows()) == [
        (1, 10, 4.5, 100),
        (1, 20, 5.0, 300),
        (2, 10, 3.0, 200),
    ]


def test_tsv_and_double_colon_headerless(tmp_path):
    p = write(tmp_path, "log.tsv", "1\t10\t4\n2\t11\t5\n")
    inter = rse.read_interactions(p, "u", "i", "r", has_header=False, column_names=["u", "i", "r"])
    assert inter.nnz == 2 and inter.weights.tolist() == [4.0, 5.0]
    p = write(tmp_path, "ratings.dat", "1::10::4::978300760\n2::11::5::978300761\n")
    inter = rse.read_interactions(
        p, "u", "i", "r", "t", sep="::", has_header=False, column_names=["u", "i", "r", "t"]
    )
    assert inter.timestamps.tolist() == [978300760, 978300761]


def test_separator_sniffed_for_unknown_extension(tmp_path):
    p = write(tmp_path, "log.txt", "u;i\na;x\nb;y\n")
    assert rse.read_interactions(p, "u", "i").user_ids.tolist() == ["a", "b"]


def test_parquet(tmp_path):
    p = tmp_path / "log.parquet"
    pl.DataFrame({"u": ["a", "b"], "i": [1, 2], "w": [1.0, 2.0]}).write_parquet(p)
    inter = rse.read_interactions(p, "u", "i", "w")
    assert inter.user_ids.tolist() == ["a", "b"] and inter.weights.tolist() == [1.0, 2.0]


def test_ids_with_leading_zeros_stay_strings(tmp_path):
    p = write(tmp_path, "log.csv", "u,i\n007,1\n7,2\n")
    inter = rse.read_interactions(p, "u", "i")
    assert inter.user_ids.tolist() == ["007", "7"]
    assert inter.item_ids.dtype.kind == "i"


def test_a_log_is_validated_once(tmp_path, monkeypatch):
    # the loader hands its frame to from_frame, which checks columns and trims ids once
    from recsys_embed.data import loaders, validate

    calls = {"require_columns": 0, "strip_ids": 0}
    for name in calls:
        original = getattr(validate, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(validate, name, counted)
        monkeypatch.setattr(loaders, name, counted)
    p = write(tmp_path, "log.csv", "u,i,w\n a ,007,2\nb, 7 ,1\n")
    inter = rse.read_interactions(p, "u", "i", "w")
    assert calls == {"require_columns": 1, "strip_ids": 1}
    assert inter.user_ids.tolist() == ["a", "b"] and inter.item_ids.tolist() == ["007", "7"]


def test_from_frame_makes_ints_of_text_ids_only_when_asked():
    frame = pl.DataFrame({"u": [" 1", "2 "], "i": ["10", "010"]})
    kept = rse.Interactions.from_frame(frame, "u", "i")
    assert kept.user_ids.tolist() == ["1", "2"] and kept.item_ids.tolist() == ["010", "10"]
    made = rse.Interactions.from_frame(frame, "u", "i", ints_from_text=True)
    assert made.user_ids.tolist() == [1, 2] and made.item_ids.tolist() == ["010", "10"]


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match=r"empty\.csv: file is empty"):
        rse.read_interactions(write(tmp_path, "empty.csv", ""), "u", "i")


def test_header_only_file(tmp_path):
    with pytest.raises(DataError, match=r"h\.csv: no rows"):
        rse.read_interactions(write(tmp_path, "h.csv", "u,i\n"), "u", "i")


def test_missing_column_names_found_columns(tmp_path):
    p = write(tmp_path, "log.csv", "user,item\n1,2\n")
    with pytest.raises(
        DataError,
        match=r"log\.csv: missing column\(s\) \['rating'\]; found columns \['user', 'item'\]",
    ):
        rse.read_interactions(p, "user", "item", "rating")


def test_wrong_separator_hints(tmp_path):
    p = write(tmp_path, "log.csv", "user\titem\n1\t2\n")
    with pytest.raises(DataError, match="is the separator right"):
        rse.read_interactions(p, "user", "item")


def test_bad_weight_late_in_file_names_row(tmp_path):
    rows = "\n".join(f"{k},{k % 7},1.5" for k in range(20000))
    p = write(tmp_path, "big.csv", "u,i,w\n" + rows + "\n5,5,oops\n")
    with pytest.raises(DataError, match=r"big\.csv: column 'w' has 'oops' at row 20000"):
        rse.read_interactions(p, "u", "i", "w")


def test_negative_weight_in_file(tmp_path):
    p = write(tmp_path, "log.csv", "u,i,w\n1,1,2\n1,2,-1\n")
    with pytest.raises(DataError, match=r"log\.csv: column 'w' has weight -1.0 at row 1"):
        rse.read_interactions(p, "u", "i", "w")


def test_file_not_what_extension_says(tmp_path):
    pq = tmp_path / "real.parquet"
    pl.DataFrame({"u": [1], "i": [2]}).write_parquet(pq)
    fake_csv = write(tmp_path, "fake.csv", pq.read_bytes(), mode="wb")
    with pytest.raises(DataError, match=r"fake\.csv: this is a parquet file, not text"):
        rse.read_interactions(fake_csv, "u", "i")
    fake_pq = write(tmp_path, "fake.parquet", "u,i\n1,2\n")
    with pytest.raises(DataError, match=r"fake\.parquet: not a readable parquet file"):
        rse.read_interactions(fake_pq, "u", "i")
    binary = write(tmp_path, "bin.tsv", b"\x00\x01\x02garbage", mode="wb")
    with pytest.raises(DataError, match=r"bin\.tsv: file looks binary"):
        rse.read_interactions(binary, "u", "i")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        rse.read_interactions(tmp_path / "nope.csv", "u", "i")


def test_item_text_with_tags(tmp_path):
    movies = write(
        tmp_path, "movies.csv", 'id,title,genres\n1,"Heat, The (1995)",Action|Crime\n2,Up (2009),\n'
    )
    tags = write(
        tmp_path, "tags.csv", "uid,id,tag\n7,1,heist\n8,1, heist \n8,1,de niro\n9,3,orphan\n"
    )
    items = rse.read_item_text(movies, "id", ["title", "genres"], tags_path=tags, tag_item_col="id")
    rows = {r["item_id"]: r for r in items.iter_rows(named=True)}
    assert rows[1]["tags"] == "heist | de niro"
    assert rows[1]["text"] == "Heat, The (1995) | Action|Crime | heist | de niro"
    assert rows[2]["text"] == "Up (2009)"


def test_item_text_duplicate_ids(tmp_path):
    p = write(tmp_path, "m.csv", "id,title\n1,A\n1,B\n")
    with pytest.raises(DataError, match=r"m\.csv: item id 1 appears more than once"):
        rse.read_item_text(p, "id", ["title"])

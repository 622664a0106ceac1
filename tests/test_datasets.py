import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import DataError
from tests.conftest import requires_ml100k


@requires_ml100k
def test_movielens_100k_real(ml100k):
    inter = ml100k.interactions
    assert (inter.n_users, inter.n_items, inter.nnz) == (943, 1682, 100_000)
    assert inter.n_duplicates == 0 and inter.timestamps is not None
    assert set(np.unique(inter.weights)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    items = ml100k.items
    assert set(items["item_id"].to_list()) >= set(inter.item_ids.tolist())
    assert (items["text"].str.len_chars() > 0).all()
    toy = items.filter(pl.col("item_id") == 1).row(0, named=True)
    assert toy["title"] == "Toy Story (1995)" and toy["genres"] == "Animation|Children's|Comedy"
    # u.item is latin-1
    assert items.filter(pl.col("title").str.contains("Misérables")).height >= 1


def test_movielens_latest_small_shipped(latest_small):
    inter = latest_small.interactions
    assert (inter.n_users, inter.n_items, inter.nnz) == (610, 9724, 100_836)
    items = latest_small.items.filter(pl.col("item_id").is_in(inter.item_ids.tolist()))
    assert items.height == 9724 and (items["text"].str.len_chars() > 0).all()
    assert items.filter(pl.col("tags") != "").height > 1500


def make_zip(folder: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(f"{folder}/{name}", text)
    return buf.getvalue()


ML1M = {
    "ratings.dat": "1::10::5::978300760\n1::20::3::978300761\n2::10::4::978300762\n",
    "movies.dat": "10::Heat: The Return (1995)::Action|Crime\n20::Toy Story (1995)::Animation\n",
}


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1; no internet involved."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(www), **k)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_checksum_unpack_and_load(server, tmp_path):
    www, base = server
    blob = make_zip("ml-1m", ML1M)
    (www / "ml-1m.zip").write_bytes(blob)
    sha = hashlib.sha256(blob).hexdigest()
    root = tmp_path / "data"
    ds = rse.load_dataset("movielens-1m", data_dir=root, url=f"{base}/ml-1m.zip", sha256=sha)
    assert ds.interactions.nnz == 3 and ds.interactions.weights.tolist() == [5.0, 3.0, 4.0]
    assert ds.items["title"].to_list() == ["Heat: The Return (1995)", "Toy Story (1995)"]
    assert (root / "ml-1m" / "ratings.dat").is_file()
    assert [p.name for p in root.iterdir()] == ["ml-1m"]  # no temp files left
    # second load is local: no server needed
    again = rse.load_dataset("movielens-1m", data_dir=root, download_missing=False)
    assert again.interactions.nnz == 3


def test_download_with_wrong_checksum_is_refused_and_leaves_nothing(server, tmp_path):
    www, base = server
    (www / "ml-1m.zip").write_bytes(make_zip("ml-1m", ML1M))
    root = tmp_path / "data"
    with pytest.raises(DataError, match="expected 0{64}; refusing to use it"):
        rse.load_dataset("movielens-1m", data_dir=root, url=f"{base}/ml-1m.zip", sha256="0" * 64)
    assert list(root.iterdir()) == []


def test_download_failure_is_a_data_error(server, tmp_path):
    _, base = server
    with pytest.raises(DataError, match="download from .*missing.zip failed"):
        rse.load_dataset("movielens-1m", data_dir=tmp_path, url=f"{base}/missing.zip")


def test_official_sources_are_pinned():
    for spec in rse.DATASETS.values():
        assert spec.url.startswith("https://files.grouplens.org/datasets/movielens/")
        assert len(spec.sha256) == 64


def test_ml1m_csv_layout_and_env_var(tmp_path, monkeypatch):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,5,4.0,10\n")
    (folder / "movies.csv").write_text("movieId,title,genres\n5,Heat (1995),Action\n")
    monkeypatch.setenv("RECSYS_EMBED_DATA", str(tmp_path))
    ds = rse.load_dataset("movielens-1m", download_missing=False)
    assert ds.path == folder and ds.interactions.nnz == 1


def test_unknown_dataset_and_not_found(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"unknown dataset 'ml-2k'; known: \["):
        rse.load_dataset("ml-2k")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="not found locally"):
        rse.load_dataset("movielens-1m", data_dir=tmp_path, download_missing=False)


def test_shipped_copy_is_the_official_one():
    root = Path(__file__).resolve().parent.parent / "datasets" / "ml-latest-small"
    assert (root / "README.txt").is_file()
    sums = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "SHA256SUMS"
    if not sums.is_file():
        pytest.skip("../shared/datasets/SHA256SUMS not present to compare against")
    want = {
        line.split()[1].split("/")[-1]: line.split()[0]
        for line in sums.read_text().splitlines()
        if "ml-latest-small/" in line
    }
    for name, digest in want.items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest

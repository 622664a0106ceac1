"""MovieLens dataset definitions: local layout, checksummed download, interactions and item text."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from recsys_embed.data.interactions import Interactions
from recsys_embed.data.loaders import read_interactions, read_item_text, read_table
from recsys_embed.errors import DataError

GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
ENV_VAR = "RECSYS_EMBED_DATA"


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: its interactions (rating as weight, with timestamps) and item text.

    ``items`` has ``item_id``, ``title``, ``genres`` (``|``-separated), ``tags`` where the
    dataset has them, and ``text`` (those joined with ``" | "``).
    """

    name: str
    interactions: Interactions
    items: pl.DataFrame
    path: Path


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    folder: str  # the folder the official zip unpacks to
    url: str
    sha256: str
    marker: str  # a file whose presence means the folder is complete
    read: Callable[[Path, str], Dataset]


def read_ratings_file(name: str, file: Path) -> Interactions:
    """A file in dataset ``name``'s rating-log layout, e.g. ML-100K's ``ua.base`` / ``ua.test``."""
    if file.suffix.lower() == ".csv":
        return read_interactions(file, "userId", "movieId", "rating", "timestamp")
    return read_interactions(
        file,
        "user",
        "item",
        "rating",
        "timestamp",
        sep="\t" if spec(name).folder == "ml-100k" else "::",
        has_header=False,
        column_names=["user", "item", "rating", "timestamp"],
    )


def _ml100k(path: Path, name: str) -> Dataset:
    inter = read_ratings_file(name, path / "u.data")
    genre_names = (
        read_table(path / "u.genre", sep="|", has_header=False, column_names=["genre", "idx"])[
            "genre"
        ]
        .drop_nulls()
        .to_list()
    )
    cols = ["item_id", "title", "release", "video_release", "url", *genre_names]
    raw = read_table(
        path / "u.item",
        sep="|",
        has_header=False,
        column_names=cols,
        encoding="latin-1",
        string_cols=["title"],
    )
    flags = raw.select(genre_names).to_numpy().astype(bool)
    genres = ["|".join(g for g, on in zip(genre_names, row, strict=True) if on) for row in flags]
    items = raw.select("item_id", pl.col("title").fill_null("")).with_columns(
        pl.Series("genres", genres, dtype=pl.String)
    )
    items = items.with_columns(pl.concat_str(["title", "genres"], separator=" | ").alias("text"))
    return Dataset(name, inter, items, path)


def _latest_small(path: Path, name: str) -> Dataset:
    inter = read_interactions(path / "ratings.csv", "userId", "movieId", "rating", "timestamp")
    items = read_item_text(
        path / "movies.csv",
        "movieId",
        ["title", "genres"],
        tags_path=path / "tags.csv",
        tag_item_col="movieId",
    )
    return Dataset(name, inter, items, path)


def _ml1m(path: Path, name: str) -> Dataset:
    if (path / "ratings.dat").is_file():
        inter = read_interactions(
            path / "ratings.dat",
            "user",
            "item",
            "rating",
            "timestamp",
            sep="::",
            has_header=False,
            column_names=["user", "item", "rating", "timestamp"],
        )
        items = read_item_text(
            path / "movies.dat",
            "item",
            ["title", "genres"],
            sep="::",
            has_header=False,
            column_names=["item", "title", "genres"],
            encoding="latin-1",
        )
    else:  # the same data as CSV with a header, as some mirrors lay it out
        inter = read_interactions(path / "ratings.csv", "userId", "movieId", "rating", "timestamp")
        items = read_item_text(path / "movies.csv", "movieId", ["title", "genres"])
    return Dataset(name, inter, items, path)


DATASETS: dict[str, DatasetSpec] = {
    "movielens-100k": DatasetSpec(
        "movielens-100k",
        "ml-100k",
        GROUPLENS + "ml-100k.zip",
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        "u.data",
        _ml100k,
    ),
    "movielens-latest-small": DatasetSpec(
        "movielens-latest-small",
        "ml-latest-small",
        GROUPLENS + "ml-latest-small.zip",
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        "ratings.csv",
        _latest_small,
    ),
    "movielens-1m": DatasetSpec(
        "movielens-1m",
        "ml-1m",
        GROUPLENS + "ml-1m.zip",
        "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        "ratings.dat",
        _ml1m,
    ),
}


def spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    return DATASETS[name]


def shipped_dir() -> Path | None:
    """Where the package's own copy of ml-latest-small lives (repo ``datasets/`` or the wheel)."""
    here = Path(__file__).resolve().parent.parent
    for base in (here / "_shipped", here.parent / "datasets"):
        if (base / "ml-latest-small" / "ratings.csv").is_file():
            return base
    return None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recsys_embed"


def _complete(folder: Path, s: DatasetSpec) -> bool:
    markers = [s.marker] + (["ratings.csv"] if s.name == "movielens-1m" else [])
    return any((folder / m).is_file() for m in markers)


def find_local(s: DatasetSpec, data_dir: str | Path | None) -> Path | None:
    """The dataset folder if present: ``data_dir`` (else ``$RECSYS_EMBED_DATA``), shipped, cache."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir))
    elif os.environ.get(ENV_VAR):
        roots.append(Path(os.environ[ENV_VAR]))
    shipped = shipped_dir()
    if shipped is not None and s.name == "movielens-latest-small":
        roots.append(shipped)
    roots.append(cache_dir())
    for root in roots:
        for folder in (root / s.folder, root):
            if _complete(folder, s):
                return folder
    return None


def download(s: DatasetSpec, target_root: Path, timeout: float = 60.0) -> Path:
    """Download ``s.url``, check its SHA-256, unpack into ``target_root/s.folder``, atomically.

    Nothing is left behind on failure; an existing folder is never half-overwritten.
    """
    target_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_root, prefix=".download-") as tmp:
        archive = Path(tmp) / "archive.zip"
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(s.url, timeout=timeout) as resp, archive.open("wb") as out:
                while chunk := resp.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            raise DataError(f"{s.name}: download from {s.url} failed: {exc}") from None
        if digest.hexdigest() != s.sha256:
            raise DataError(
                f"{s.name}: archive from {s.url} has SHA-256 {digest.hexdigest()}, "
                f"expected {s.sha256}; refusing to use it"
            )
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                dest = (unpacked / member).resolve()
                if not dest.is_relative_to(unpacked.resolve()):
                    raise DataError(
                        f"{s.name}: archive member {member!r} escapes the target folder"
                    )
            zf.extractall(unpacked)
        src = unpacked / s.folder
        if not _complete(src, s):
            raise DataError(f"{s.name}: archive has no {s.folder}/{s.marker}")
        final = target_root / s.folder
        if final.exists():
            shutil.rmtree(final)
        os.replace(src, final)
    return final


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    url: str | None = None,
    sha256: str | None = None,
) -> Dataset:
    """Load a MovieLens dataset by name.

    Looks in ``data_dir`` (else ``$RECSYS_EMBED_DATA``), then the package's shipped copy
    (ml-latest-small only), then the per-user cache (``$XDG_CACHE_HOME/recsys_embed``). If absent
    it downloads the official GroupLens zip into the first of those roots that was given, checks
    the pinned SHA-256, and unpacks it. ``url``/``sha256`` override the official source (mirrors).
    Ratings become weights, with their timestamps.
    """
    s = spec(name)
    if url is not None or sha256 is not None:
        s = replace(s, url=url or s.url, sha256=sha256 or s.sha256)
    folder = find_local(s, data_dir)
    if folder is None:
        if not download_missing:
            raise DataError(f"{name}: not found locally (looked in data_dir, ${ENV_VAR}, cache)")
        root = Path(data_dir or os.environ.get(ENV_VAR) or cache_dir())
        folder = download(s, root)
    return s.read(folder, name)

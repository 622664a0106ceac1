"""Shared half of the text models: a catalogue that includes items known only by their text,
the fitted text featurizer, the text-kNN content term, and their pickle-free persistence."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap, as_id_array, ids_like
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import DataError
from recsys_embed.features.cache import WordVectorCache
from recsys_embed.features.catalogue import (
    FIRST_DECADE,
    N_DECADES,
    decade_onehots,
    item_docs,
    length_features,
    length_stats,
    most_tokens,
    text_by_id,
    text_lengths,
    token_onehots,
    token_vocabulary,
    word_vectors,
)
from recsys_embed.features.itemvectors import ItemVectorTable, read_item_vectors, vectors_by_id
from recsys_embed.features.text import POOLINGS, TextFeaturizer, tokenize
from recsys_embed.features.vectors import FORMATS, WordVectors
from recsys_embed.models import persist
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import Param
from recsys_embed.models.topk import unit_rows

TEXT_PARAMS = {
    "vectors": Param(
        "ppmi-svd",
        str,
        "word vectors: 'ppmi-svd' or 'word2vec' trained on the item text, or a vector file",
    ),
    "vector_format": Param("auto", str, "vector file format", choices=FORMATS),
    "word2vec_dim": Param(
        64, int, "dimensions of word vectors trained on the item text (either method)", minimum=2
    ),
    "pooling": Param("mean", str, "word-vector pooling", choices=POOLINGS),
    "stop_words": Param(True, bool, "drop English stop-words"),
    "item_vectors": Param(
        None,
        str,
        "precomputed item vectors (.parquet: item_id + a list column; .npy + ids file) "
        "used instead of pooled word vectors",
        nullable=True,
    ),
    "item_vector_ids": Param(
        None, str, "ids file of a .npy item_vectors (default: <file>.ids.txt)", nullable=True
    ),
}


def length_param(default: float) -> Param:
    """``length_weight``: the scale of the two text-length features a hybrid adds."""
    return Param(
        default,
        float,
        "scale of the text-length features (log token counts, standardised; 0: none)",
        minimum=0,
    )


def year_param(default: float) -> Param:
    """``year_weight``: the scale of the decade one-hots of a ``(1995)``-style year."""
    return Param(
        default,
        float,
        "scale of the decade one-hots of a '(1995)'-style year in the item text (0: none)",
        minimum=0,
    )


def content_param(default: float) -> Param:
    """``content_weight``: the weight of the text-kNN term a hybrid adds to its own score."""
    return Param(
        default,
        float,
        "weight of the text-knn score (cosine of the user's mean text vector with the "
        "item's) added to the model's score",
        minimum=0,
    )


def text_profiles(history: sp.spmatrix, text: np.ndarray) -> np.ndarray:
    """(n_rows, dim): the unit mean text vector of each history row's items (text-kNN users).

    ``history`` may have fewer columns than ``text`` has rows (items known only by their text
    come after the training items)."""
    h = sp.csr_matrix(history)
    shape = (h.shape[0], text.shape[0])
    binary = sp.csr_matrix((np.ones(h.nnz), h.indices, h.indptr), shape=shape)
    return unit_rows(binary @ np.asarray(text, dtype=np.float64))


@runtime_checkable
class BuildsWordVectors(Protocol):
    """A model that builds word vectors through ``word_vector_cache`` (None: its own per fit)."""

    word_vector_cache: WordVectorCache | None


def share_word_vectors(model: Recommender, cache: WordVectorCache | None) -> Recommender:
    """``model``, set to build its word vectors through ``cache`` if it builds any (other
    models are returned as they are). A run gives one cache to all its models, so each set of
    word vectors is built once per run."""
    if isinstance(model, BuildsWordVectors):
        model.word_vector_cache = cache
    return model


class TextModel(Recommender):
    """A model that needs item text: ``fit(train, item_text=...)``.

    ``item_text`` is a frame with ``item_id`` and ``text`` columns (e.g. ``Dataset.items``) or
    a ``{item_id: text}`` mapping. Items that have text but no interaction in ``train`` join the
    catalogue after the training items, so they can be recommended, scored and compared.

    Word vectors are built through ``word_vector_cache``, set by the caller (a run's cache, see
    :func:`share_word_vectors`); without one, each fit builds its own.

    Content term (hybrids with a ``content_weight`` w > 0): the text block is inserted at
    column ``content_at_`` of the factors, ``w * unit(mean text of the user's items)`` on the
    user side and the item's text vector on the item side, so one dot product is the model's
    own score plus w times the text-kNN cosine; cold and added items get it from their text.
    """

    content_at_: int = 0  # first column of the content block
    content_dim_: int = 0  # its width (0: no content term)
    length_stats_: np.ndarray | None = None  # (4, 2): mean, std, min, max of text_lengths at fit
    tokens_: list[str]  # one-hot token vocabulary (hybrids with token_features)
    max_tokens_: int | None = None  # most vocabulary tokens of a catalogue item (bounds a row)
    word_vector_cache: WordVectorCache | None = None  # a run's, shared with its other models

    @property
    def needs_item_text(self) -> bool:
        """Text is needed unless precomputed ``item_vectors`` give the item side."""
        return self.params.get("item_vectors") is None

    def fit(
        self, train: Interactions, item_text: Any = None, *, show_progress: bool | None = None
    ) -> TextModel:
        """Fit on ``train`` with the items' text and/or the ``item_vectors`` file."""
        if item_text is None and self.needs_item_text:
            raise DataError(
                f"{self.name} needs item text: fit(train, item_text=<frame with item_id, text>)"
                " or the item_vectors parameter"
            )
        self._texts = {} if item_text is None else text_by_id(item_text)
        path = self.params.get("item_vectors")
        self._vectors = (
            {} if path is None else read_item_vectors(path, self.params["item_vector_ids"])
        )
        try:
            super().fit(train, show_progress=show_progress)
        finally:
            del self._texts, self._vectors
        return self

    def _catalogue(self, train: Interactions) -> IdMap:
        known = set(train.item_ids.tolist())
        extra = [i for i in {**self._texts, **self._vectors} if i not in known]
        if not extra:
            return train.item_map
        try:
            extra_ids = as_id_array(sorted(extra))
            ids = np.concatenate([train.item_ids, extra_ids.astype(train.item_ids.dtype)])
        except (TypeError, ValueError):
            raise DataError(
                "item text ids are not of the same type as the interaction ids"
            ) from None
        return IdMap(ids, "item")

    def _fit_text(self, catalogue: IdMap) -> np.ndarray:
        """The (n_items, dim) dense item block: the ``item_vectors`` file's vectors, or the
        pooled word vectors of the catalogue's text (the featurizer is fitted here)."""
        p = self.params
        if self._vectors:
            self.item_vector_table_ = ItemVectorTable().fit(self._vectors)
            self.items_without_vector_ = sum(
                1 for i in catalogue.ids.tolist() if i not in self._vectors
            )
            return self.item_vector_table_.transform(catalogue.ids.tolist(), self._vectors)
        docs = item_docs(catalogue.ids, self._texts, p["stop_words"])
        cache = self.word_vector_cache
        vectors = word_vectors(
            p["vectors"],
            docs,
            WordVectorCache() if cache is None else cache,
            p["vector_format"],
            p["word2vec_dim"],
            p.get("random_state") or 0,
            show=self._show_progress,
        )
        self.featurizer_ = TextFeaturizer(vectors, p["pooling"]).fit(docs)
        return self.featurizer_.transform(docs)

    def _dense_new(self, ids: list[Any], texts: list[str], vectors: dict[Any, Any]) -> np.ndarray:
        """The dense block of new items, as :meth:`_fit_text` built it for the catalogue."""
        if hasattr(self, "item_vector_table_"):
            return self.item_vector_table_.transform(ids, vectors)
        return self.featurizer_.transform(self._docs(texts))

    def _docs(self, texts: list[str]) -> list[list[str]]:
        return [tokenize(t or "", self.params["stop_words"]) for t in texts]

    # ---- tokens and facts of the text beside its words: length (popularity) and year ----
    def _fit_tokens_and_lengths(self, catalogue: IdMap) -> tuple[list[str], list[list[str]]]:
        """``(texts, docs)`` of the catalogue; fits the one-hot token vocabulary (hybrids with
        ``token_features``) and the standardisation of :func:`text_lengths` (none without
        text)."""
        p = self.params
        texts = [self._texts.get(i, "") for i in catalogue.ids.tolist()]
        docs = self._docs(texts)
        wanted = p.get("token_features", False) and self._texts
        self.tokens_ = token_vocabulary(docs, p["token_min_items"]) if wanted else []
        self.max_tokens_ = most_tokens(docs, self.tokens_) if self.tokens_ else None
        self.length_stats_ = None
        if p.get("length_weight", 0) > 0 and self._texts:
            self.length_stats_ = length_stats(text_lengths(docs))
        return texts, docs

    def _feature_blocks(
        self, dense: np.ndarray, docs: list[list[str]], texts: list[str]
    ) -> list[sp.csr_matrix]:
        """A hybrid's item feature blocks: ``dense`` x ``text_weight``, the token one-hots (if
        fitted) x ``token_weight``, the standardised text lengths (if fitted) and the decade
        one-hots (if weighted). Token and length features are bounded by the catalogue's at
        fit: a new item's long text weighs no more than the longest catalogue item's."""
        p = self.params
        blocks = [sp.csr_matrix(dense * p["text_weight"])]
        if self.tokens_:
            onehots = token_onehots(docs, self.tokens_, self.max_tokens_)
            blocks.append(onehots * p["token_weight"])
        if self.length_stats_ is not None:
            lengths = length_features(text_lengths(docs), self.length_stats_)
            blocks.append(sp.csr_matrix(lengths * p["length_weight"]))
        if p.get("year_weight", 0) > 0:
            blocks.append(decade_onehots(texts) * p["year_weight"])
        return blocks

    # ---- the content term ----------------------------------------------------------------
    def _add_content(
        self,
        users: np.ndarray,
        items: np.ndarray,
        history: sp.spmatrix,
        text: np.ndarray,
        at: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Users and items with the content block inserted at column ``at`` (w > 0)."""
        w = self.params["content_weight"]
        self.content_at_, self.content_dim_ = at, (text.shape[1] if w > 0 else 0)
        if w <= 0:
            return users, items
        profiles = text_profiles(history, text) * w
        return _insert_columns(users, at, profiles), _insert_columns(items, at, text)

    def _own_item_factors(self) -> np.ndarray:
        """The item factors without the content block (the model's own part)."""
        at, d = self.content_at_, self.content_dim_
        return np.delete(self.item_factors_, np.s_[at : at + d], axis=1)

    def _content_users(self, own: np.ndarray, history: sp.spmatrix) -> np.ndarray:
        """Folded-in users ``own`` (own part) completed with their content block."""
        at, d = self.content_at_, self.content_dim_
        if d == 0:
            return own
        text = self.item_factors_[:, at : at + d]
        profiles = text_profiles(history, text) * self.params["content_weight"]
        return _insert_columns(own, at, profiles).astype(np.float32)

    def _content_items(self, own: np.ndarray, text: np.ndarray) -> np.ndarray:
        """New items' own factors completed with their text block."""
        return own if self.content_dim_ == 0 else _insert_columns(own, self.content_at_, text)

    # ---- growing the catalogue -----------------------------------------------------------
    @abstractmethod
    def _new_item_factors(
        self, ids: list[Any], texts: list[str], vectors: dict[Any, Any]
    ) -> np.ndarray:
        """Item vectors for new items, from their text (and precomputed vectors) alone."""

    def add_items(self, item_text: Any = None, item_vectors: Any = None) -> int:
        """Add items known only by their text and/or vectors to a fitted model, no refitting.

        ``item_vectors``: ``{item_id: vector}`` or a frame with ``item_id`` and one list
        column, for a model fitted with ``item_vectors``. Returns how many were added; ids
        already in the catalogue, and ids not of the catalogue's type (an int model's ids must
        be integers: ``300020.7`` is refused, never truncated), are refused.
        """
        self.require_fitted()
        if item_text is None and item_vectors is None:
            raise DataError("add_items needs item_text and/or item_vectors")
        if item_vectors is not None and not hasattr(self, "item_vector_table_"):
            raise DataError(
                "item_vectors given to add_items, but this model was fitted without item_vectors"
            )
        texts = {} if item_text is None else text_by_id(item_text)
        vectors = {} if item_vectors is None else vectors_by_id(item_vectors)
        given = list({**texts, **vectors})
        ids = ids_like(given, self.item_map_.ids.dtype, "add_items")
        clash = self.item_map_.indices(ids, missing="mask") >= 0
        if clash.any():
            raise DataError(
                f"add_items: {int(clash.sum())} item id(s) already in the catalogue, e.g. "
                f"{ids[clash].tolist()[0]!r}"
            )
        if len(set(ids.tolist())) != len(ids):
            raise DataError("add_items: two given item ids are the same id of this model")
        id_list = ids.tolist()
        texts = {i: texts.get(g, "") for i, g in zip(id_list, given, strict=True)}
        vectors = {i: vectors[g] for i, g in zip(id_list, given, strict=True) if g in vectors}
        new = self._new_item_factors(id_list, [texts[i] for i in id_list], vectors)
        self.vectors_ = self.vectors_.with_items(ids, new)
        return len(ids)

    # ---- persistence ---------------------------------------------------------------------
    def extra_arrays(self) -> dict[str, np.ndarray]:
        content = {"content_columns": np.array([self.content_at_, self.content_dim_])}
        if self.length_stats_ is not None:
            content["text_length_stats"] = self.length_stats_
        if self.max_tokens_ is not None:
            content["text_max_tokens"] = np.array([self.max_tokens_])
        if self.params.get("year_weight", 0) > 0:
            content["text_decades"] = np.array([FIRST_DECADE, N_DECADES])
        if hasattr(self, "item_vector_table_"):
            return {**content, "item_vector_mean": self.item_vector_table_.mean_}
        f = self.featurizer_
        return {
            **content,
            "text_words": persist.ids_to_array(np.asarray(f.vectors.words, dtype=object)),
            "text_matrix": f.vectors.matrix,
            "text_word_weight": f.word_weight_,
            "text_component": f.component_,
            "text_mean": f.mean_,
        }

    def restore_extra(self, arrays: dict[str, np.ndarray]) -> None:
        if "content_columns" in arrays:
            self.content_at_, self.content_dim_ = (int(v) for v in arrays["content_columns"])
        self.length_stats_ = arrays.get("text_length_stats")  # absent: saved without it
        most = arrays.get("text_max_tokens")  # absent: saved before rows were bounded
        self.max_tokens_ = None if most is None else int(most[0])
        if "year_weight" in self.params and "text_decades" not in arrays:
            self.params["year_weight"] = 0.0  # saved without decade features (or before them)
        if "item_vector_mean" in arrays:
            table = ItemVectorTable()
            table.mean_ = arrays["item_vector_mean"]
            table.dim_ = len(table.mean_)
            self.item_vector_table_ = table
            return
        words = [str(w) for w in arrays["text_words"].tolist()]
        f = TextFeaturizer(WordVectors(words, arrays["text_matrix"]), self.params["pooling"])
        f.word_weight_ = arrays["text_word_weight"]
        f.component_ = arrays["text_component"]
        f.mean_ = arrays["text_mean"]
        self.featurizer_ = f


def _insert_columns(x: np.ndarray, at: int, block: np.ndarray) -> np.ndarray:
    return np.hstack([x[:, :at], block.astype(x.dtype, copy=False), x[:, at:]])

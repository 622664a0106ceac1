"""Shared half of the text models: a catalogue that includes items known only by their text,
the fitted text featurizer, and its pickle-free persistence."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap, as_id_array
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import DataError
from recsys_embed.features.catalogue import item_docs, text_by_id, word_vectors
from recsys_embed.features.text import POOLINGS, TextFeaturizer, tokenize
from recsys_embed.features.vectors import FORMATS, WordVectors
from recsys_embed.models import persist
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import Param

TEXT_PARAMS = {
    "vectors": Param("word2vec", str, "word-vector file, or 'word2vec' to train on the item text"),
    "vector_format": Param("auto", str, "vector file format", choices=FORMATS),
    "word2vec_dim": Param(64, int, "dimensions when training word2vec", minimum=2),
    "pooling": Param("mean", str, "word-vector pooling", choices=POOLINGS),
    "stop_words": Param(False, bool, "drop English stop-words"),
}


class TextModel(Recommender):
    """A model that needs item text: ``fit(train, item_text=...)``.

    ``item_text`` is a frame with ``item_id`` and ``text`` columns (e.g. ``Dataset.items``) or
    a ``{item_id: text}`` mapping. Items that have text but no interaction in ``train`` join the
    catalogue after the training items, so they can be recommended, scored and compared.
    """

    needs_item_text: ClassVar[bool] = True

    def fit(
        self, train: Interactions, item_text: Any = None, *, show_progress: bool | None = None
    ) -> TextModel:
        if item_text is None:
            raise DataError(
                f"{self.name} needs item text: fit(train, item_text=<frame with item_id, text>)"
            )
        self._texts = text_by_id(item_text)
        super().fit(train, show_progress=show_progress)
        del self._texts
        return self

    def _catalogue(self, train: Interactions) -> IdMap:
        known = set(train.item_ids.tolist())
        extra = [i for i in self._texts if i not in known]
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
        """Fit the featurizer on the catalogue's text; its (n_items, dim) item vectors."""
        p = self.params
        docs = item_docs(catalogue.ids, self._texts, p["stop_words"])
        vectors = word_vectors(
            p["vectors"], docs, p["vector_format"], p["word2vec_dim"], p.get("random_state") or 0
        )
        self.featurizer_ = TextFeaturizer(vectors, p["pooling"]).fit(docs)
        return self.featurizer_.transform(docs)

    def _docs(self, texts: list[str]) -> list[list[str]]:
        return [tokenize(t or "", self.params["stop_words"]) for t in texts]

    # ---- growing the catalogue -----------------------------------------------------------
    @abstractmethod
    def _new_item_factors(self, texts: list[str]) -> np.ndarray:
        """Item vectors for new items, from their text alone."""

    def add_items(self, item_text: Any) -> int:
        """Add items known only by their text to a fitted model, without refitting.

        Returns how many were added; ids already in the catalogue are refused.
        """
        self._require_fitted()
        texts = text_by_id(item_text)
        ids = as_id_array(list(texts))
        clash = self.item_map_.indices(ids, missing="mask") >= 0
        if clash.any():
            raise DataError(
                f"{int(clash.sum())} item id(s) already in the catalogue, e.g. {ids[clash][0]!r}"
            )
        new = self._new_item_factors([texts[i] for i in ids.tolist()])
        self.item_map_ = IdMap(
            np.concatenate([self.item_map_.ids, ids.astype(self.item_map_.ids.dtype)]), "item"
        )
        self.item_factors_ = np.vstack([self.item_factors_, new.astype(np.float32)])
        self.item_popularity_ = np.concatenate(
            [self.item_popularity_, np.zeros(len(ids), np.float32)]
        )
        self.seen_ = sp.csr_matrix(
            (self.seen_.data, self.seen_.indices, self.seen_.indptr),
            shape=(self.seen_.shape[0], len(self.item_map_)),
        )
        return len(ids)

    # ---- persistence ---------------------------------------------------------------------
    def _extra_arrays(self) -> dict[str, np.ndarray]:
        f = self.featurizer_
        return {
            "text_words": persist.ids_to_array(np.asarray(f.vectors.words, dtype=object)),
            "text_matrix": f.vectors.matrix,
            "text_word_weight": f.word_weight_,
            "text_component": f.component_,
            "text_mean": f.mean_,
        }

    def _restore_extra(self, arrays: dict[str, np.ndarray]) -> None:
        words = [str(w) for w in arrays["text_words"].tolist()]
        f = TextFeaturizer(WordVectors(words, arrays["text_matrix"]), self.params["pooling"])
        f.word_weight_ = arrays["text_word_weight"]
        f.component_ = arrays["text_component"]
        f.mean_ = arrays["text_mean"]
        self.featurizer_ = f

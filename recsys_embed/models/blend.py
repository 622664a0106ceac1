"""Blend: a weighted sum of other models' scores, itself a dot product of joined vectors.

Each member's scores are divided by their spread (the standard deviation over every training
user and catalogue item, exact from the factor Gram matrices), times the member's share of
the weights. That scale goes on the user side, so the blend's user vector is the members'
scaled user vectors side by side and its item vector the members' item vectors side by side:
recommending, batch and Spark scoring, saving and loading work as for any model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.features.cache import WordVectorCache
from recsys_embed.models.base import Recommender
from recsys_embed.models.kinds import SINGLE
from recsys_embed.models.params import Param, check_params
from recsys_embed.models.textbase import share_word_vectors
from recsys_embed.models.topk import unit_rows

NAME = "blend"
# ALS beside LightFM on item metadata (identity and token one-hots, LightFM's known-good sizes):
# chosen on validation carves of two logs (evaluation/studies/blend_members.py)
DEFAULT_MEMBERS = [
    {"type": "als"},
    {
        "type": "lightfm-hybrid",
        "no_components": 64,
        "learning_rate": 0.02,
        "max_sampled": 30,
        "epochs": 40,
        "identity": True,
        "text_weight": 0.0,
        "token_weight": 0.5,
        "content_weight": 0.0,
        "length_weight": 0.0,
        "year_weight": 0.0,
    },
]


def _member_params(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in ("type", "weight")}


def _shares(specs: list[dict[str, Any]]) -> np.ndarray:
    """Each member's ``weight`` (default 1) as a share of their sum."""
    weights = np.array([float(s.get("weight", 1.0)) for s in specs])
    with np.errstate(over="ignore"):
        total = weights.sum()
    if not np.isfinite(total):  # finite weights whose sum overflows (1e308 each): rescale first
        weights = weights / weights.max()
        total = weights.sum()
    return weights / total


def _create(spec: dict[str, Any]) -> Recommender:
    return SINGLE[spec["type"]](**_member_params(spec))


def check_members(name: str, value: Any) -> list[dict[str, Any]]:
    """``value`` as a list of member tables ``{type = ..., weight = ..., <its params>}``."""
    if len(value) < 2:
        raise ConfigError(f"{name} must list at least two models to blend, got {len(value)}")
    out = []
    for j, spec in enumerate(value):
        where = f"{name}[{j}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise ConfigError(f"{where} must be a table with a model type, got {spec!r}")
        if spec["type"] == NAME:
            raise ConfigError(f"{where}: a blend cannot hold another blend")
        weight = spec.get("weight", 1.0)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise ConfigError(f"{where}: weight must be a finite number > 0, got {weight!r}")
        cls = SINGLE.get(spec["type"])
        if cls is None:
            raise ConfigError(
                f"{where}: unknown model {spec['type']!r}; available: {sorted(SINGLE)}"
            )
        try:
            check_params(f"model {spec['type']!r}", cls.PARAMS, _member_params(spec))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        out.append(dict(spec))
    return out


def score_spread(users: np.ndarray, items: np.ndarray) -> float:
    """Standard deviation of ``users @ items.T`` over all pairs, without forming it:
    the mean square is the sum of the two Gram matrices' elementwise product. Wide vectors
    (EASE's n_items columns) use float32 Grams: 8 n_items^2 bytes instead of 16."""
    dtype: type[np.floating[Any]] = np.float64 if users.shape[1] <= 1024 else np.float32
    u: np.ndarray = users.astype(dtype, copy=False)
    v: np.ndarray = items.astype(dtype, copy=False)
    mean = float(u.mean(axis=0, dtype=np.float64) @ v.mean(axis=0, dtype=np.float64))
    square = float(np.vdot(u.T @ u, v.T @ v)) / (len(u) * len(v))
    return math.sqrt(max(square - mean * mean, 0.0))


class Blend(Recommender):
    """Several models fitted on the same log, their scores summed with weights.

    ``models`` lists member tables: ``type``, an optional ``weight`` (default 1; weights are
    shares of their sum) and the member's parameters. Each member's scores are divided by
    their spread over all training users and items before weighting, so members on different
    scales count as their weights say. Text members get the item text; items only a text member
    knows (text but no interactions) get zero from the others. Fold-in joins the members'
    fold-ins; ``similar_items`` averages the members' cosines with the same weights.

    The default joins ALS with LightFM on the items' metadata (an identity feature per item and
    one-hots of the genres, tags and title words shared by at least 5 items): on validation
    carves it beat ALS alone on MovieLens 100K per-item and ml-latest-small per-user splits.
    It needs item text. :meth:`of` joins models already fitted. The blend keeps its fitted
    members (for fold-in and saving) beside the joined vectors: about twice their memory.
    """

    name = NAME
    PARAMS: ClassVar[dict[str, Param]] = {
        "models": Param(
            DEFAULT_MEMBERS,
            list,
            "member models: [{type = ..., weight = ..., <params>}, ...]",
            validate=check_members,
        ),
    }
    members_: list[Recommender]
    scales_: np.ndarray  # (n_members,) weight share / score spread of each member
    positions_: list[np.ndarray]  # each member's catalogue as indices into the blend's
    word_vector_cache: WordVectorCache | None = None  # a run's, handed to the text members

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        members = self.params["models"]  # a copy: the defaults are never changed through it
        if isinstance(members, list):
            self.params["models"] = [dict(s) if isinstance(s, dict) else s for s in members]

    @property
    def needs_item_text(self) -> bool:
        """Item text is needed when a member needs it."""
        return any(getattr(_create(s), "needs_item_text", False) for s in self.params["models"])

    def fit(
        self, train: Interactions, item_text: Any = None, *, show_progress: bool | None = None
    ) -> Blend:
        """Fit every member on ``train`` (text members with ``item_text``), then join them."""
        self._item_text = item_text
        try:
            super().fit(train, item_text, show_progress=show_progress)
        finally:
            self._item_text = None
        return self

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        cache = self.word_vector_cache or WordVectorCache()  # the text members share one
        members = [share_word_vectors(_create(s), cache) for s in self.params["models"]]
        for member in members:
            member.fit(train, self._item_text, show_progress=self._show_progress)
        return self._adopt(members, train.item_map)

    @classmethod
    def of(cls, members: Sequence[Recommender], weights: Sequence[float] | None = None) -> Blend:
        """A fitted blend of models already fitted on the same log (none is refitted).

        ``weights`` as the members' ``weight`` (default: equal). The members must share their
        training users (same ids, same order) and training items (the start of each catalogue).
        """
        members = list(members)
        if len(members) < 2:
            raise ConfigError(f"models must list at least two fitted models, got {len(members)}")
        for j, m in enumerate(members):
            if not isinstance(m, Recommender) or isinstance(m, Blend):
                raise ConfigError(
                    f"models[{j}] must be a fitted model (not a blend), got {type(m).__name__}"
                )
        weights = [1.0] * len(members) if weights is None else list(weights)
        if len(weights) != len(members):
            raise ConfigError(f"weights has {len(weights)} values for {len(members)} models")
        for j, m in enumerate(members):
            m.require_fitted()
            if not np.array_equal(m.user_map_.ids, members[0].user_map_.ids):
                raise DataError(f"models[{j}] was fitted on other users than models[0]")
        first = members[0]
        n_train = min(len(m.item_map_) for m in members)  # text members may add items
        trained = IdMap(first.item_map_.ids[:n_train], "item")
        for j, m in enumerate(members):
            if not np.array_equal(m.item_map_.ids[:n_train], trained.ids):
                raise DataError(f"models[{j}] was fitted on other items than models[0]")
            if not _same_seen(m.seen_, first.seen_, n_train):
                raise DataError(
                    f"models[{j}] was fitted on other interactions than models[0] "
                    "(the same users and items, other seen items)"
                )
        specs = [
            {"type": m.name, **m.get_params(), "weight": w}
            for m, w in zip(members, weights, strict=True)
        ]
        blend = cls(models=specs)
        blend.params = check_params(cls.__name__, cls.PARAMS, blend.params)
        users, items = blend._adopt(members, trained)
        blend.fit_seconds_ = sum(m.fit_seconds_ or 0.0 for m in members)
        seen = sp.csr_matrix(first.seen_, shape=(first.seen_.shape[0], len(blend._catalogue_)))
        blend.set_factors(first.user_map_, blend._catalogue_, seen, users, items)
        return blend

    def _adopt(self, members: list[Recommender], trained: IdMap) -> tuple[np.ndarray, np.ndarray]:
        """Keep the fitted ``members``; the joined user and item vectors."""
        self._catalogue_ = _union(trained, [m.item_map_ for m in members])
        self.members_ = members
        self.positions_ = [self._catalogue_.indices(m.item_map_.ids) for m in members]
        spread = np.array([score_spread(m.user_factors_, m.item_factors_) for m in members])
        shares = _shares(self.params["models"])
        self.scales_ = (shares / np.where(spread > 0, spread, 1.0)).astype(np.float32)
        return self._join(len(self._catalogue_))

    def _catalogue(self, train: Interactions) -> IdMap:
        return self._catalogue_

    def _join(self, n_items: int) -> tuple[np.ndarray, np.ndarray]:
        users = [s * m.user_factors_ for s, m in zip(self.scales_, self.members_, strict=True)]
        items = []
        for m, pos in zip(self.members_, self.positions_, strict=True):
            block = np.zeros((n_items, m.item_factors_.shape[1]), dtype=np.float32)
            block[pos] = m.item_factors_
            items.append(block)
        return np.hstack(users), np.hstack(items)

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """The members' fold-ins of the same history, scaled and side by side."""
        self.require_fitted()
        history = sp.csr_matrix(history)
        parts = [
            s * m.fold_in(history[:, pos])
            for s, m, pos in zip(self.scales_, self.members_, self.positions_, strict=True)
        ]
        return np.hstack(parts).astype(np.float32)

    def similarity_vectors(self) -> np.ndarray:
        """Unit member vectors times the root of each weight share: cosines average by weight."""
        shares = _shares(self.params["models"])
        blocks = []
        for share, m, pos in zip(shares, self.members_, self.positions_, strict=True):
            unit = unit_rows(m.similarity_vectors())
            block = np.zeros((len(self.item_map_), unit.shape[1]), dtype=np.float32)
            block[pos] = np.sqrt(share) * unit
            blocks.append(block)
        return np.hstack(blocks)

    # ---- persistence: each member's factors and extra arrays, prefixed m<j>_ ----------------
    def extra_arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"member_scales": self.scales_}
        for j, (m, pos) in enumerate(zip(self.members_, self.positions_, strict=True)):
            out[f"m{j}_items"] = pos.astype(np.int64)
            out[f"m{j}_user_factors"] = m.user_factors_
            out[f"m{j}_item_factors"] = m.item_factors_
            out.update({f"m{j}_{k}": v for k, v in m.extra_arrays().items()})
        return out

    def restore_extra(self, arrays: dict[str, np.ndarray]) -> None:
        specs = self.params["models"]
        self.scales_ = np.asarray(arrays["member_scales"], dtype=np.float32)
        if self.scales_.shape != (len(specs),):
            raise DataError(
                f"member_scales holds {self.scales_.shape} values for {len(specs)} members"
            )
        if not (np.isfinite(self.scales_) & (self.scales_ > 0)).all():
            raise DataError(f"member_scales must be finite and > 0, got {self.scales_.tolist()}")
        self.members_, self.positions_ = [], []
        for j, spec in enumerate(specs):
            prefix = f"m{j}_"
            pos = np.asarray(arrays[f"{prefix}items"], dtype=np.int64)
            if pos.ndim != 1 or (len(pos) and (pos.min() < 0 or pos.max() >= len(self.item_map_))):
                raise DataError(f"{prefix}items holds indices outside the catalogue")
            users, items = arrays[f"{prefix}user_factors"], arrays[f"{prefix}item_factors"]
            if (
                users.ndim != 2
                or items.ndim != 2
                or users.shape[0] != len(self.user_map_)
                or items.shape != (len(pos), users.shape[1])
            ):
                raise DataError(
                    f"member {j}'s factors {users.shape} and {items.shape} do not fit "
                    f"{len(self.user_map_)} users and {len(pos)} items"
                )
            for name, arr in (("user_factors", users), ("item_factors", items)):
                if arr.dtype.kind != "f" or not np.isfinite(arr).all():
                    raise DataError(f"{prefix}{name} must hold finite floats")
            member = _create(spec)
            ids = IdMap(self.item_map_.ids[pos], "item")
            member.set_factors(self.user_map_, ids, self.seen_[:, pos], users, items)
            extras = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            member.restore_extra(extras)
            member.fit_seconds_ = None
            self.members_.append(member)
            self.positions_.append(pos)


def _same_seen(a: sp.csr_matrix, b: sp.csr_matrix, n_train: int) -> bool:
    """Whether two seen matrices mark the same training items (none beyond ``n_train``)."""
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    if a.nnz != b.nnz or a[:, :n_train].nnz != a.nnz or b[:, :n_train].nnz != b.nnz:
        return False
    return (a[:, :n_train] != b[:, :n_train]).nnz == 0


def _union(train_items: IdMap, catalogues: list[IdMap]) -> IdMap:
    """The training items, then every member's extra (text-only) items in first-seen order."""
    known = set(train_items.ids.tolist())
    extra: list[Any] = []
    for cat in catalogues:
        for item in cat.ids[len(train_items) :].tolist():
            if item not in known:
                known.add(item)
                extra.append(item)
    if not extra:
        return train_items
    ids = np.concatenate([train_items.ids, np.asarray(extra, dtype=train_items.ids.dtype)])
    return IdMap(ids, "item")

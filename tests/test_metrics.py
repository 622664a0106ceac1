"""Metric values computed by hand, and cross-checks against a per-user loop and implicit."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_embed import metrics as M
from recsys_embed.models.topk import topk

L2_3 = 1 / math.log2(3)
L2_5 = 1 / math.log2(5)

# 6 items. u0: 2 relevant, hits at ranks 1 and 3. u1: 5 relevant (> k), hits at 2, 3, padded.
# u2: no test items. u3: no hits. u4: all hits, list shorter than k.
TOP = np.array([[1, 2, 3, 4], [5, 0, 1, -1], [0, 1, 2, 3], [0, 1, 2, 3], [4, 2, -1, -1]])
TRUTH_SETS = [{1: 3.0, 3: 5.0}, {0: 1, 1: 1, 2: 1, 3: 1, 4: 1}, {}, {5: 1}, {2: 1, 4: 1}]


def csr(sets, n_items=6):
    rows = [r for r, s in enumerate(sets) for _ in s]
    cols = [c for s in sets for c in s]
    vals = [v for s in sets for v in s.values()]
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(sets), n_items), dtype=np.float64)


TRUTH = csr(TRUTH_SETS)
NAN = np.nan


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, equal_nan=True)


def test_recall():
    close(M.recall_at_k(TOP, TRUTH, 4), [1.0, 2 / 5, NAN, 0.0, 1.0])
    close(M.recall_at_k(TOP, TRUTH, 4, denominator="min_k"), [1.0, 2 / 4, NAN, 0.0, 1.0])
    close(M.recall_at_k(TOP, TRUTH, 2), [0.5, 1 / 5, NAN, 0.0, 1.0])


def test_precision_and_k_larger_than_catalogue():
    close(M.precision_at_k(TOP, TRUTH, 4), [0.5, 0.5, NAN, 0.0, 0.5])
    close(M.precision_at_k(TOP, TRUTH, 10), [0.2, 0.2, NAN, 0.0, 0.2])  # empty slots are misses
    close(M.recall_at_k(TOP, TRUTH, 10), [1.0, 0.4, NAN, 0.0, 1.0])


def test_ndcg_binary_graded_and_ideal_k():
    idcg2 = 1 + L2_3
    idcg4 = 1 + L2_3 + 0.5 + L2_5
    close(M.ndcg_at_k(TOP, TRUTH, 4), [1.5 / idcg2, (L2_3 + 0.5) / idcg4, NAN, 0.0, 1.0])
    close(M.ndcg_at_k(TOP, TRUTH, 2), [1 / idcg2, L2_3 / idcg2, NAN, 0.0, 1.0])
    graded = M.ndcg_at_k(TOP, TRUTH, 4, graded=True)
    assert graded[0] == pytest.approx((3.0 + 5.0 * 0.5) / (5.0 + 3.0 * L2_3), abs=1e-12)
    close(M.ndcg_at_k(TOP, TRUTH, 4, ideal="k")[[0, 4]], [1.5 / idcg4, idcg2 / idcg4])


def test_map_mrr_hit_rate():
    close(M.map_at_k(TOP, TRUTH, 4), [(1 + 2 / 3) / 2, (1 / 2 + 2 / 3) / 4, NAN, 0.0, 1.0])
    close(M.mrr_at_k(TOP, TRUTH, 4), [1.0, 0.5, NAN, 0.0, 1.0])
    close(M.mrr_at_k(TOP, TRUTH, 1), [1.0, 0.0, NAN, 0.0, 1.0])
    close(M.hit_rate_at_k(TOP, TRUTH, 4), [1.0, 1.0, NAN, 0.0, 1.0])


def test_auc_from_scores_with_exclusions_and_ties():
    scores = np.array([[0.9, 0.1, 0.5, 0.3], [0.2, 0.5, 0.5, 0.1], [0.2, 0.5, 0.5, 0.1]])
    truth = csr([{0: 1, 3: 1}, {1: 1}, {}], 4)
    excluded = csr([{2: 1}, {}, {}], 4)
    close(M.auc_from_scores(scores, truth, excluded), [1.0, 2.5 / 3, NAN])
    # worst case: every negative above the positive
    close(M.auc_from_scores(np.array([[0.0, 1.0, 2.0]]), csr([{0: 1}], 3)), [0.0])


def test_limited_auc_matches_hand_count():
    # 6 items; u0 relevant {1,3}; top [1,2,3,4]: hit, miss(1 hit before), hit, miss(2 before)
    n_pos, n_neg = 2, 4
    area = (0 + 1 + 0 + 2) + (2 + n_pos) / 2 * (n_neg - 2)
    assert M.limited_auc_at_k(TOP, TRUTH, 4)[0] == pytest.approx(area / (n_pos * n_neg))


def test_coverage_and_novelty():
    assert M.coverage_at_k(TOP, 2, 6) == pytest.approx(len({1, 2, 5, 0, 4}) / 6)
    counts = np.array([8, 0, 3, 1, 1, 2])
    nov = M.novelty_at_k(np.array([[0, 1], [2, -1]]), 2, counts, 9)
    info = -np.log2((counts + 1) / 10)
    close(nov, [(info[0] + info[1]) / 2, info[2]])


def test_mean_over_users_conventions():
    vals = M.recall_at_k(TOP, TRUTH, 4)
    assert M.mean_over_users(vals) == pytest.approx((1 + 0.4 + 0 + 1) / 4)
    no_recs = TOP.copy()
    no_recs[3] = -1  # user 3 got nothing: counts as 0 by default, dropped on request
    vals = M.recall_at_k(no_recs, TRUTH, 4)
    assert M.mean_over_users(vals) == pytest.approx(2.4 / 4)
    assert M.mean_over_users(vals, no_recs, only_with_recommendations=True) == pytest.approx(
        2.4 / 3
    )


def test_ties_rank_lower_index_first():
    idx, _vals = topk(np.array([[1.0, 2.0, 2.0, 0.0], [3.0, 3.0, 3.0, 3.0]]), 2)
    assert idx.tolist() == [[1, 2], [0, 1]]
    idx, _ = topk(np.array([[5.0, 1.0, 1.0, 1.0, 1.0, 0.0]]), 3)  # tie at the cut-off
    assert idx.tolist() == [[0, 1, 2]]
    idx, _ = topk(np.array([[0.0, 1.0]]), 5)  # k larger than the catalogue
    assert idx.tolist() == [[1, 0]]


def loop_metrics(top, truth_sets, k):
    """Independent per-user implementation, straight from the definitions."""
    out = {m: [] for m in ("recall", "precision", "ndcg", "map")}
    for row, rel in zip(top, truth_sets, strict=True):
        if not rel:
            for m in out:
                out[m].append(np.nan)
            continue
        hits = [1.0 if (r < len(row) and row[r] >= 0 and row[r] in rel) else 0.0 for r in range(k)]
        out["recall"].append(sum(hits) / len(rel))
        out["precision"].append(sum(hits) / k)
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(rel))))
        out["ndcg"].append(dcg / idcg)
        ap, n_hit = 0.0, 0
        for r, h in enumerate(hits):
            if h:
                n_hit += 1
                ap += n_hit / (r + 1)
        out["map"].append(ap / min(k, len(rel)))
    return {m: np.array(v) for m, v in out.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equal_to_independent_loop_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n_users, n_items, k = 300, 50, 10
    truth_sets = [
        {int(i): 1.0 for i in rng.choice(n_items, rng.integers(0, 15), replace=False)}
        for _ in range(n_users)
    ]
    truth = csr(truth_sets, n_items)
    top, _ = topk(rng.random((n_users, n_items)), k)
    top[rng.random((n_users, k)) < 0.05] = -1  # some empty slots
    want = loop_metrics(top, truth_sets, k)
    close(M.recall_at_k(top, truth, k), want["recall"])
    close(M.precision_at_k(top, truth, k), want["precision"])
    close(M.ndcg_at_k(top, truth, k), want["ndcg"])
    close(M.map_at_k(top, truth, k), want["map"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="k must be a positive int, got 0"):
        M.recall_at_k(TOP, TRUTH, 0)
    with pytest.raises(ValueError, match=r"top_idx must have shape \(n_users=5, K\)"):
        M.recall_at_k(TOP[:2], TRUTH, 3)
    with pytest.raises(ValueError, match="denominator must be"):
        M.recall_at_k(TOP, TRUTH, 3, denominator="k")

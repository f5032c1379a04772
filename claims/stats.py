"""Statistics for verdicts over seeds: small pure functions over arrays.

Conventions: ``diffs`` is a 1-D array of per-seed paired differences, shape
[n]; a one-sided ``alternative='greater'`` asks whether their centre is above
``shift``. Every p-value here is exact or a stated approximation.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

EXACT_SIGN_FLIP_MAX_N = 20
MONTE_CARLO_DRAWS = 20_000


def smallest_p_value(n: int) -> float:
    """The smallest one-sided p an exact sign-flip (or signed-rank) test can give with n seeds."""
    return 0.5**n


def smallest_page_p(n: int, k: int) -> float:
    """The smallest one-sided p Page's exact test can give with n blocks of k ordered conditions: (1/k!)^n."""
    return (1.0 / math.factorial(k)) ** n


@functools.lru_cache(maxsize=4)
def sign_patterns(n: int) -> np.ndarray:
    """Every pattern of n signs, [2^n, n] of +-1.0 (read-only, shared: the exact tests of a verdict reuse it)."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    patterns = 1.0 - 2.0 * bits
    patterns.flags.writeable = False
    return patterns


def sign_flip_test(diffs, alternative: str = "greater", shift: float = 0.0) -> float:
    """Exact paired permutation test of mean(diffs - shift), one-sided.

    Under H0 the differences are symmetric about ``shift``, so every sign pattern
    is equally likely; p = share of the 2^n patterns whose mean is at least as
    extreme as the observed one (ties count, so p >= 1/2^n). Above
    ``EXACT_SIGN_FLIP_MAX_N`` differences (pooled cells x seeds), the patterns are
    sampled (``MONTE_CARLO_DRAWS``, fixed seed) and p = (1 + hits) / (1 + draws).
    """
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative must be 'greater' or 'less', not {alternative!r}")
    d = np.asarray(diffs, dtype=float) - shift
    n = len(d)
    if n == 0:
        return float("nan")
    observed = d.mean()
    tolerance = 1e-12 * max(1.0, np.abs(d).max())
    if n <= EXACT_SIGN_FLIP_MAX_N:
        means = sign_patterns(n) @ np.abs(d) / n
        hits = means >= observed - tolerance if alternative == "greater" else means <= observed + tolerance
        return float(np.mean(hits))
    rng = np.random.default_rng(0)
    means = rng.choice((1.0, -1.0), size=(MONTE_CARLO_DRAWS, n)) @ np.abs(d) / n
    hits = means >= observed - tolerance if alternative == "greater" else means <= observed + tolerance
    return float((1 + hits.sum()) / (1 + MONTE_CARLO_DRAWS))


def sign_flip_power(effect: float, sd: float, n: int, threshold: float, repetitions: int = 2000, seed: int = 0) -> float:
    """Share of ``repetitions`` simulated studies of n seeds, each seed's statistic ~ Normal(effect, sd), in which the
    one-sided sign-flip test of mean > 0 gives p < ``threshold``. Exact over all 2^n sign patterns up to n = 12,
    sampled (4,096 patterns) above."""
    rng = np.random.default_rng(seed)
    draws = rng.normal(effect, sd, size=(repetitions, n)) if sd > 0 else np.full((repetitions, n), effect)
    if n <= 12:
        signs = sign_patterns(n)
    else:
        signs = rng.choice((1.0, -1.0), size=(4096, n))
    means = np.abs(draws) @ signs.T / n  # [repetitions, patterns]
    observed = draws.mean(axis=1, keepdims=True)
    tolerance = 1e-12 * np.maximum(1.0, np.abs(draws).max(axis=1, keepdims=True))
    p = (means >= observed - tolerance).mean(axis=1)
    return float(np.mean(p < threshold))


def wilcoxon_signed_rank(diffs, alternative: str = "greater") -> float:
    """Exact one-sided Wilcoxon signed-rank p-value (scipy); 1.0 when every difference is zero."""
    d = np.asarray(diffs, dtype=float)
    if np.all(d == 0):
        return 1.0
    return float(stats.wilcoxon(d, alternative=alternative, method="exact" if len(d) <= 50 else "auto").pvalue)


def page_trend(blocks, increasing: bool = True) -> float:
    """Page's L test for an ordered trend across k conditions, blocks (seeds) as rows.

    blocks: shape [n_blocks, k], columns in the hypothesised order. ``increasing``:
    H1 says values rise from the first column to the last (else they fall).
    """
    data = np.asarray(blocks, dtype=float)
    if data.shape[0] < 1 or data.shape[1] < 3:
        raise ValueError("Page's test needs at least one block and three ordered conditions")
    if not increasing:
        data = -data
    method = "exact" if data.shape[0] * data.shape[1] <= 100 else "asymptotic"
    return float(stats.page_trend_test(data, method=method).pvalue)


def tost_equivalence(diffs, margin: float) -> float:
    """TOST (statsmodels, paired t) p-value that mean(diffs) lies within (-margin, +margin)."""
    d = np.asarray(diffs, dtype=float)
    if len(d) < 2 or np.std(d) == 0:
        return 0.0 if np.all(np.abs(d) < margin) else 1.0
    return float(ttost_paired(d, np.zeros_like(d), -margin, margin)[0])


def t_test(values, alternative: str, shift: float = 0.0) -> float:
    """One-sided one-sample t-test (scipy) that mean(values) is above (``'greater'``) or below (``'less'``) ``shift``;
    with no spread, 0 or 1 by where the values lie."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2 or np.std(v) == 0:
        beyond = np.all(v > shift) if alternative == "greater" else np.all(v < shift)
        return 0.0 if len(v) and beyond else 1.0
    return float(stats.ttest_1samp(v, shift, alternative=alternative).pvalue)


def binomial_p(successes: int, n: int, p0: float, alternative: str) -> float:
    """Exact one-sided binomial test of the success probability against p0."""
    return float(stats.binomtest(successes, n, p0, alternative=alternative).pvalue)


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a share: ``successes`` of ``n`` (0 of 10 gives [0, 0.31], not a bootstrap's [0, 0])."""
    result = stats.binomtest(successes, n).proportion_ci(confidence_level=level, method="exact")
    return float(result.low), float(result.high)


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values, NaNs passed through.

    The same numbers as statsmodels' ``multipletests(method='holm')`` (the tests
    check it), without the full garbage collection that function runs on every
    call, which costs a fifth of a second in a process holding torch and MLflow.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok):
        order = ok[np.argsort(p[ok], kind="stable")]
        scaled = p[order] * np.arange(len(order), 0, -1)
        out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def bootstrap_ci(values, statistic=np.mean, level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``values`` (shape [n]).

    ``statistic`` is a numpy reduction taking ``axis`` (np.mean, np.median, ...).
    """
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return (float("nan"), float("nan"))
    if len(data) == 1:
        value = float(statistic(data))
        return (value, value)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=(n_boot, len(data)))
    replicates = statistic(data[picks], axis=1)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(replicates, tail)), float(np.quantile(replicates, 1.0 - tail))


def seeds_needed(diffs, alpha: float, power: float = 0.8, shift: float = 0.0) -> int:
    """Seeds a one-sided paired test would need to reach ``alpha`` for the observed effect.

    At least log2(1/alpha) (the exact test's floor), and the normal-approximation
    sample size ((z_{1-alpha} + z_power) / d)^2 for the standardized effect
    d = mean / sd of the differences. Returns a large sentinel when there is no effect in the claimed direction.
    """
    d = np.asarray(diffs, dtype=float) - shift
    floor = math.ceil(math.log2(1.0 / alpha))
    if len(d) == 0 or d.mean() <= 0:  # no effect in the claimed direction: no study size would support it
        return 10_000
    if len(d) < 2 or d.std(ddof=1) == 0:
        return floor
    effect = d.mean() / d.std(ddof=1)
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return int(min(10_000, max(floor, math.ceil((z / effect) ** 2))))

"""Confidence intervals, and the audit of every measured cell against its proven bound.

The audit is what makes a plotted point trustworthy: a budgeted algorithm is a valid one-way protocol, so its
true success can never exceed the bound. A cell whose one-sided lower confidence limit (Bonferroni-corrected
over the cells of the sweep) lies above the bound is a bug in the algorithm, the engine or the bound.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import beta

AUDIT_OK = "ok"
AUDIT_VIOLATION = "VIOLATION"
AUDIT_NONE = "no-bound"


def _check(successes, trials):
    k = np.asarray(successes)
    t = np.asarray(trials)
    if np.any(t <= 0):
        raise ValueError(f"trials must be positive, got {trials!r}")
    if np.any((k < 0) | (k > t)):
        raise ValueError(f"successes must lie in [0, trials], got {successes!r} of {trials!r}")
    return k.astype(float), t.astype(float)


def clopper_pearson(successes, trials, confidence: float = 0.95):
    """Two-sided Clopper-Pearson interval (exact binomial) for successes out of trials."""
    k, t = _check(successes, trials)
    alpha = 1.0 - confidence
    low = np.where(k > 0, beta.ppf(alpha / 2, k, t - k + 1), 0.0)
    high = np.where(k < t, beta.ppf(1 - alpha / 2, k + 1, t - k), 1.0)
    if np.ndim(successes) == 0 and np.ndim(trials) == 0:
        return float(low), float(high)
    return low, high


def lower_limit(successes, trials, alpha: float):
    """One-sided lower confidence limit at level 1 - alpha."""
    k, t = _check(successes, trials)
    low = np.where(k > 0, beta.ppf(alpha, k, t - k + 1), 0.0)
    return float(low) if low.ndim == 0 else low


def _hoeffding_eps(groups: int, alpha: float) -> float:
    if groups < 1:
        raise ValueError(f"groups must be at least 1, got {groups}")
    return float(np.sqrt(np.log(1.0 / alpha) / (2.0 * groups)))


def grouped_interval(successes: int, trials: int, groups: int, confidence: float = 0.95):
    """Two-sided interval for the mean accuracy when the `trials` answers come in `groups` independent groups of
    equal size (several queries of one stream are not independent): Hoeffding's inequality on the groups'
    accuracies, which lie in [0, 1], so it holds whatever the dependence inside a group (conservative)."""
    k, t = _check(successes, trials)
    eps = _hoeffding_eps(groups, (1.0 - confidence) / 2)
    p = float(k / t)
    return max(0.0, p - eps), min(1.0, p + eps)


def interval(successes: int, trials: int, groups: int | None = None, confidence: float = 0.95):
    """Clopper-Pearson for independent answers (groups None or equal to trials), else the grouped interval."""
    if groups is None or groups == trials:
        return clopper_pearson(successes, trials, confidence)
    return grouped_interval(successes, trials, groups, confidence)


def audit(successes: int, trials: int, bound: float, cells: int, alpha: float = 0.05,
          groups: int | None = None) -> str:
    """'ok', or 'VIOLATION' when the Bonferroni-corrected one-sided lower limit exceeds the bound (Clopper-Pearson,
    or Hoeffding over `groups` independent groups of answers)."""
    if bound is None or not np.isfinite(bound):
        return AUDIT_NONE
    if cells < 1:
        raise ValueError(f"cells must be at least 1, got {cells}")
    if groups is None or groups == trials:
        low = lower_limit(successes, trials, alpha / cells)
    else:
        k, t = _check(successes, trials)
        low = float(k / t) - _hoeffding_eps(groups, alpha / cells)
    return AUDIT_VIOLATION if low > bound + 1e-12 else AUDIT_OK

"""A small Gaussian-process surrogate (NumPy only) that ranks candidate trials.

`CoarseToFineOracle` draws many candidates in the window around a parent and
runs the one with the highest expected improvement under this model; fitting
it on at most `MAX_POINTS` trials keeps each proposal to about a millisecond.
"""

import math

import numpy as np

# The fit uses at most this many trials (the nearest to the parent): the cost of
# a fit grows with its cube, and a local model is what ranks local candidates.
MAX_POINTS = 60
# Length scales tried per fit, in units of sqrt(dimension) (the side of the unit
# cube scaled to its diagonal), and the noise variances (in units of the output
# variance); the pair with the highest marginal likelihood is kept.
_LENGTH_SCALES = (0.05, 0.1, 0.2, 0.4)
_NOISES = (1e-6, 1e-2)
# The length scale and noise are chosen on this many trials: the nearest to the
# parent's window, or the best ones.
_SELECTION_POINTS = 30


def _matern52(sq_distances, length_scale):
    r = np.sqrt(5.0 * sq_distances) / length_scale
    return (1.0 + r + r * r / 3.0) * np.exp(-r)


def _sq_distances(a, b):
    return np.maximum(
        np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * a @ b.T, 0.0
    )


def _warp(y):
    """Standardized scores, the worse half squashed so outliers do not dominate."""
    median = np.median(y)
    spread = np.median(np.abs(y - median)) or np.std(y) or 1.0
    z = (y - median) / spread
    # Above the median (worse, since scores are minimized), grow logarithmically.
    return np.where(z > 0, np.log1p(np.maximum(z, 0.0)), z)


def expected_improvement(x, y, candidates, dimension=None):
    """Expected improvement of each candidate over the best of `y` (minimized).

    Args:
        x: Float array `(n, d)`, the trials' coordinates in [0, 1].
        y: Float array `(n,)`, their scores (lower is better).
        candidates: Float array `(m, d)`, the points to rank.
        dimension: Optional integer, the number of hyperparameters the `d`
            columns encode (a choice takes one column per value); the length
            scales are in units of its square root. Defaults to `d`.

    Returns:
        Float array `(m,)`, the expected improvement of each candidate under a
        Matérn-5/2 Gaussian process whose length scale and noise maximize the
        marginal likelihood.

    Reference:
        Jones, Schonlau & Welch, "Efficient Global Optimization of Expensive
        Black-Box Functions", J. Global Optimization 1998; Rasmussen &
        Williams, "Gaussian Processes for Machine Learning", 2006, Alg. 2.1.
    """
    z = _warp(np.asarray(y, dtype=float))
    z_mean = z.mean()
    z_scale = z.std() or 1.0
    z = (z - z_mean) / z_scale
    n, dim = x.shape
    scale = math.sqrt(dimension or dim)
    sq = _sq_distances(x, x)
    # Choose the length scale and noise on the first `_SELECTION_POINTS` trials
    # (a fraction of the cost), then fit every trial with them.
    m = min(n, _SELECTION_POINTS)
    best = None
    for length_scale in _LENGTH_SCALES:
        k = _matern52(sq[:m, :m], length_scale * scale)
        for noise in _NOISES:
            fit = _log_likelihood(k + noise * np.eye(m), z[:m])
            if fit is not None and (best is None or fit > best[0]):
                best = (fit, length_scale * scale, noise)
    if best is None:  # No kernel matrix was positive definite: no ranking.
        return np.zeros(len(candidates))
    _, length_scale, noise = best
    k = _matern52(sq, length_scale) + noise * np.eye(n)
    try:
        chol = np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        return np.zeros(len(candidates))
    alpha = np.linalg.solve(k, z)
    k_star = _matern52(_sq_distances(candidates, x), length_scale)
    mean = k_star @ alpha
    v = np.linalg.solve(chol, k_star.T)
    std = np.sqrt(np.maximum(1.0 - np.sum(v * v, 0), 1e-12))
    gap = z.min() - mean
    u = gap / std
    cdf = 0.5 * (1.0 + _erf(u / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
    return gap * cdf + std * pdf


def _log_likelihood(k, z):
    """Log marginal likelihood of `z` under covariance `k` (up to a constant)."""
    try:
        chol = np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        return None
    return -0.5 * z @ np.linalg.solve(k, z) - np.sum(np.log(np.diag(chol)))


def _erf(x):
    """Vectorized error function (Abramowitz & Stegun 7.1.26, error < 1.5e-7)."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592
        + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * np.exp(-x * x))

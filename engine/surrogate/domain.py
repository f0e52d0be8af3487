"""How far a site lies from what a surrogate learnt: its applicability domain.

A surrogate interpolates between its training sites. A site unlike all of them (a Si atom of
crystalline Si given to a model of a-SiO2's Si) still gets a smooth, confident-looking spectrum,
but it is a guess. The measure here is the distance from a site to the nearest training site, in
the standardised features the regressor sees, in units of the model's *domain radius*: the
distance within which 95 % of the training sites have another training site (leave one out).
A new site drawn like the training sites lies beyond that radius about 5 % of the time
(exchangeability), so a value above 1 says "unlike the sites the model learnt from", and far above
1 says "extrapolated". This is the k-nearest-neighbour applicability domain of QSAR practice
(k = 1), which needs no regressor of a particular kind.
"""
from __future__ import annotations

import numpy as np

from amorpha.engine.tasks import check_cancel

#: the share of training sites whose nearest other training site lies within the domain radius
DOMAIN_QUANTILE = 0.95
#: decimals of the standardised features to which two training rows are the same site
DUPLICATE_DECIMALS = 9
#: query rows per block: a block's distance matrix is CHUNK × n_train floats
CHUNK = 2048


def nearest_distances(queries: np.ndarray, references: np.ndarray, skip_self: bool = False,
                      cancel=None) -> np.ndarray:
    """The Euclidean distance from each row of ``queries`` to its nearest row of ``references``;
    ``skip_self``: the queries are the references, and a row's own distance (0) does not count."""
    q = np.asarray(queries, dtype=np.float64)
    r = np.asarray(references, dtype=np.float64)
    r2 = np.einsum("ij,ij->i", r, r)
    out = np.empty(len(q))
    for start in range(0, len(q), CHUNK):
        check_cancel(cancel)
        block = q[start:start + CHUNK]
        d2 = np.einsum("ij,ij->i", block, block)[:, None] + r2[None, :] - 2.0 * (block @ r.T)
        if skip_self:
            d2[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        out[start:start + len(block)] = np.sqrt(np.clip(d2.min(axis=1), 0.0, None))
    return out


def domain_radius(training: np.ndarray) -> float:
    """The distance within which :data:`DOMAIN_QUANTILE` of the ``training`` rows have another
    training row. Duplicates (a crystal's equivalent sites, equal to :data:`DUPLICATE_DECIMALS`
    decimals: their descriptors differ by rounding) count as one row: they would otherwise
    shrink the radius to 0. NaN with fewer than two distinct rows: no spread to measure a
    distance by."""
    distinct = np.unique(np.round(np.asarray(training, dtype=np.float64), DUPLICATE_DECIMALS), axis=0)
    if len(distinct) < 2:
        return float("nan")
    return float(np.quantile(nearest_distances(distinct, distinct, skip_self=True), DOMAIN_QUANTILE))


#: beyond this many domain radii a prediction is mostly the mean of what the model learnt: the
#: shipped models' Gaussian processes have length scales of 1-1.9 radii, so their correlation
#: with the nearest training site has fallen to 0.14-0.45 there. Below it, sites are worth a
#: check, not a warning: in sovapy's a-SiO2 (quenched at 1e11 K/s), 39 % of the Si sites lie
#: beyond 1 radius, and xTB of 8 sites at 1.2-1.75 radii matched the prediction about as well
#: as 8 at 0.3-0.7 (cosine 0.945 against 0.960). Out there the error is real: in sovapy's liquid
#: SiO2 (Si median 2.2 radii, all beyond 1), xTB of 8 random Si sites scored cosine 0.75-0.91
#: (mean 0.84) against the shipped model's predictions.
FAR = 2.0


def outside_note(distance: np.ndarray, what: str) -> str:
    """One sentence on the ``what`` ("Si") sites lying beyond the domain radius: how many, and
    whether their spectra are extrapolated (most lie beyond :data:`FAR`) or only worth checking
    against the reference calculator. "" when no more lie beyond than sites drawn like the
    training sites would (5 %, plus three standard deviations of that count)."""
    d = np.asarray(distance, dtype=np.float64)
    d = d[np.isfinite(d)]
    beyond = d[d > 1.0]
    share = 1.0 - DOMAIN_QUANTILE
    if len(beyond) <= share * len(d) + 3.0 * np.sqrt(share * (1.0 - share) * len(d)):
        return ""
    sites = (f"The one {what} site" if len(d) == 1 else f"All {len(d)} {what} sites" if len(beyond) == len(d)
             else f"{len(beyond)} of {len(d)} {what} sites")
    lie = "lies" if len(beyond) == 1 else "lie"
    median = float(np.median(beyond))
    if median > FAR:
        return (f"{sites} {lie} far from every site the model learnt from (median {median:.1f} times its "
                f"domain radius): {'its spectrum is' if len(beyond) == 1 else 'their spectra are'} extrapolated, not learnt")
    return (f"{sites} {lie} beyond the spread of the model's training sites (up to {beyond.max():.1f} times "
            f"its domain radius): check a few against the reference calculator")

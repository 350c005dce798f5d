"""Group contrasts: the posterior of the difference of two groups' means, per parameter.

For every pair of groups (all pairs, or those the config names) and every parameter the
difference ``a - b`` of the group means is summarised draw by draw on both scales: the
natural one (``{p}_mu_natural``: the link of the group mean, the population median) and
the unconstrained one (``{p}_mu``, where the hierarchical prior lives). Each row gives the
difference's mean, sd, highest-density interval, the probability that it is positive
and, when a region of practical equivalence (ROPE) is configured for the parameter, the
probability that it lies inside it (Kruschke 2018, Adv. Methods Pract. Psychol. Sci.).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from cogfit.errors import ConfigError
from cogfit.io import write_parquet
from cogfit.names import recorded_parameters, site_name

LOG = logging.getLogger("cogfit.contrasts")
#: the scales a contrast is given on, and the role of the variable each reads
SCALES = {"natural": "mu_natural", "unconstrained": "mu"}
COLUMNS = (
    "parameter",
    "scale",
    "group_a",
    "group_b",
    "mean",
    "sd",
    "hdi_low",
    "hdi_high",
    "hdi_prob",
    "p_greater",
    "rope_low",
    "rope_high",
    "p_in_rope",
)


def group_pairs(groups: Sequence[str], pairs: Sequence[Sequence[str]] = ()) -> list[tuple]:
    """The (a, b) pairs to contrast: those named (each group must exist), else every pair
    in the order the groups appear."""
    if not pairs:
        return list(itertools.combinations(groups, 2))
    for pair in pairs:
        for group in pair:
            if group not in groups:
                raise ConfigError(
                    f"contrasts.pairs: group {group!r} of pair {list(pair)} is not a group of "
                    f"the data; groups: {list(groups)}"
                )
    return [tuple(p) for p in pairs]


def contrast_rows(
    posterior: Any,
    hdi_prob: float,
    pairs: Sequence[Sequence[str]] = (),
    rope: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per parameter, scale and pair of groups (see the module docstring).

    ``rope`` maps a parameter to the half-width of its ROPE around 0 on the natural
    scale (parameters the model lacks are ignored); the unconstrained rows have none."""
    rope = dict(rope or {})  # parameters of other models: not this fit's concern
    params = recorded_parameters(posterior.attrs)
    groups = [str(g) for g in posterior.coords["group"].values]
    rows = []
    for param, (scale, role), (a, b) in itertools.product(
        params, SCALES.items(), group_pairs(groups, pairs)
    ):
        values = posterior[site_name(param, role)]
        diff = (values.sel(group=a) - values.sel(group=b)).values.ravel()
        low, high = (float(x) for x in az.hdi(diff, hdi_prob=hdi_prob))
        width = rope.get(param) if scale == "natural" else None
        rows.append(
            {
                "parameter": param,
                "scale": scale,
                "group_a": a,
                "group_b": b,
                "mean": float(diff.mean()),
                "sd": float(diff.std(ddof=1)),
                "hdi_low": low,
                "hdi_high": high,
                "hdi_prob": hdi_prob,
                "p_greater": float((diff > 0).mean()),
                "rope_low": -width if width is not None else np.nan,
                "rope_high": width if width is not None else np.nan,
                "p_in_rope": float((np.abs(diff) <= width).mean()) if width is not None else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def credible(table: pd.DataFrame, scale: str = "natural") -> pd.DataFrame:
    """The rows of ``scale`` whose HDI excludes 0: the group differences the data support."""
    rows = table[table["scale"] == scale]
    return rows[(rows["hdi_low"] > 0) | (rows["hdi_high"] < 0)]


def run_contrasts(
    posterior_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    hdi_prob: float,
    pairs: Sequence[Sequence[str]] = (),
    rope: Mapping[str, float] | None = None,
    log: logging.Logger = LOG,
) -> pd.DataFrame:
    """Read a fit's posterior, contrast its groups and write the table atomically (empty,
    with its columns, when the data have one group)."""
    posterior = az.from_netcdf(str(posterior_path)).posterior
    table = contrast_rows(posterior, hdi_prob, pairs, rope)
    if table.empty:
        log.info("one group only: no contrasts")
    for row in table[table["scale"] == "natural"].itertuples():
        log.info(
            "%s: %s - %s = %.3g [%.3g, %.3g], P(> 0) = %.3f",
            row.parameter,
            row.group_a,
            row.group_b,
            row.mean,
            row.hdi_low,
            row.hdi_high,
            row.p_greater,
        )
    write_parquet(table, out_path)
    return table

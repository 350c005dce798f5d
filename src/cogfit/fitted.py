"""A fit read back from its ``posterior.nc``: the model as fitted, the data it saw, draws.

Every analysis stage (model comparison, posterior predictive checks, regressors) starts
here, so none needs the config's priors or the cleaned table to know what was fitted: the
posterior's attributes record the model and the parameter specs used (priors included),
and its observed and constant data hold the padded arrays.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from cogfit.data import TaskData
from cogfit.errors import DataError
from cogfit.models import BehaviouralModel, ParamSpec, get_model
from cogfit.names import OBSERVED, recorded_parameters, site_name


@dataclass(frozen=True)
class Fit:
    """One fit: ``model`` with the specs it was fitted with, its ``data`` and ``idata``."""

    model: BehaviouralModel
    data: TaskData
    idata: Any

    @property
    def n_draws(self) -> int:
        """Draws over all chains."""
        posterior = self.idata.posterior
        return int(posterior.sizes["chain"] * posterior.sizes["draw"])


def fitted_model(attrs: dict[str, Any]) -> BehaviouralModel:
    """The registry's model named in ``attrs`` with the parameter specs the fit used."""
    model = get_model(str(attrs["model"]))
    specs = tuple(ParamSpec(**spec) for spec in json.loads(str(attrs["priors"])))
    if tuple(s.name for s in specs) != model.param_names:
        raise DataError(
            f"the fit of {model.name!r} recorded parameters {[s.name for s in specs]}, "
            f"but the model has {list(model.param_names)}: refit with this cogfit version"
        )
    return dataclasses.replace(model, params=specs)


def fit_data(idata: Any) -> TaskData:
    """The padded arrays the fit saw, from its observed and constant data."""
    constant = idata.constant_data
    choices = np.asarray(idata.observed_data[OBSERVED].values)
    mask = np.asarray(constant["mask"].values, dtype=bool)
    return TaskData(
        participants=tuple(str(p) for p in idata.posterior.coords["participant"].values),
        groups=tuple(str(g) for g in idata.posterior.coords["group"].values),
        group_index=np.asarray(constant["group_index"].values, dtype=np.int32),
        choices=np.where(mask, choices, 0).astype(np.int32),
        outcomes=np.asarray(constant["outcome"].values, dtype=float),
        mask=mask,
        n_options=int(idata.posterior.attrs["n_options"]),
    )


def load_fit(path: str | os.PathLike[str]) -> Fit:
    """Read ``posterior.nc`` back as a :class:`Fit`."""
    import arviz as az

    idata = az.from_netcdf(str(path))
    if recorded_parameters(idata.posterior.attrs) == []:
        raise DataError(f"{path}: not a cogfit posterior (no recorded parameters)")
    return Fit(fitted_model(dict(idata.posterior.attrs)), fit_data(idata), idata)


def draw_indices(n_chains: int, n_draws: int, keep: int) -> np.ndarray:
    """Evenly spaced draw indices within every chain, ``keep`` draws in all (every draw
    when ``keep`` is 0 or at least all of them); the same positions in each chain."""
    total = n_chains * n_draws
    if keep <= 0 or keep >= total:
        return np.arange(n_draws)
    per_chain = max(1, keep // n_chains)
    return np.unique(np.linspace(0, n_draws - 1, per_chain).round().astype(int))


def thinned(fit: Fit, variables: list[str], keep: int) -> dict[str, np.ndarray]:
    """The named posterior variables at :func:`draw_indices`, shaped [chain, draw, ...]."""
    posterior = fit.idata.posterior
    index = draw_indices(posterior.sizes["chain"], posterior.sizes["draw"], keep)
    return {v: np.asarray(posterior[v].isel(draw=index).values) for v in variables}


def group_draws(fit: Fit, keep: int = 0) -> dict[str, np.ndarray]:
    """Group means and sds on the unconstrained scale, ``{p}_mu``/``{p}_sigma`` [chain,
    draw, group]."""
    names = [site_name(p, r) for p in fit.model.param_names for r in ("mu", "sigma")]
    return thinned(fit, names, keep)


def participant_draws(fit: Fit, keep: int = 0) -> dict[str, np.ndarray]:
    """Each parameter's participant values on the natural scale, [chain, draw, participant]."""
    return thinned(fit, list(fit.model.param_names), keep)

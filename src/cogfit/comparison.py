"""Model comparison: out-of-sample predictive accuracy for new participants, per model.

Every model's marginal file(s) (:mod:`cogfit.marginal`) hold, per draw of the group
parameters, each participant's log-likelihood integrated over their own offsets, so a
participant is scored as a new member of their group. From them, per participant:

* ``psis`` (one file per model): PSIS-LOO over participants (Vehtari, Gelman & Gabry
  2017, Stat. Comput. 27:1413) by ``az.loo``, with each participant's Pareto k;
* ``kfold`` (one file per fold per model, each from a fit without that fold's
  participants): exact cross-validation, ``elpd_i = log mean_s exp(log_lik[s, i])``
  over the draws of the fit that did not see participant i; no Pareto k (maximum and
  per-participant k NaN, band counts 0) and no p_eff (NaN).

The totals carry ``se = sqrt(N var(elpd_i))``. Models are ranked by elpd; each one's
``elpd_diff = elpd_best - elpd_model`` (so >= 0, ArviZ's sign) with ``diff_se`` from the
pointwise differences in the same way; the stacking weights (Yao, Vehtari, Simpson &
Gelman 2018, Bayesian Anal. 13:917) come from ``az.compare(method="stacking")``. The
pointwise elpds are also the log evidences of a random-effects Bayesian model selection
(:mod:`cogfit.bms`): population frequencies, (protected) exceedance probabilities, the
omnibus risk and each participant's posterior model probabilities; a participant's
``best`` model is the one of highest posterior probability.

With one model the table has one row: diff 0, weight 1, frequency, XP and PXP 1, and the
omnibus risk NaN (the null and the alternative are then the same hypothesis).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from arviz.stats.stats_utils import ELPDData
from scipy import special

from cogfit.bms import BMSResult, random_effects_bms
from cogfit.errors import DataError
from cogfit.io import write_parquet
from cogfit.names import OBSERVED

LOG = logging.getLogger("cogfit.comparison")
METHODS = ("psis", "kfold")
#: Pareto k bands (Vehtari et al. 2024, J. Mach. Learn. Res. 25:72): good up to 0.7,
#: bad up to 1, very bad above
K_GOOD = 0.7
K_BAD = 1.0
#: an elpd difference within this many of its SEs is one the data do not resolve
RESOLVED_SE = 2.0
TABLE_COLUMNS = (
    "model",
    "rank",
    "method",
    "n_participants",
    "elpd",
    "se",
    "p_eff",
    "elpd_diff",
    "diff_se",
    "weight",
    "pareto_k_max",
    "k_good",
    "k_bad",
    "k_very_bad",
    "k_warning",
    "is_ess_min",
    "bms_frequency",
    "bms_xp",
    "bms_pxp",
    "bms_bor",
    "n_best",
)
PARTICIPANT_COLUMNS = (
    "participant",
    "group",
    "model",
    "elpd",
    "pareto_k",
    "is_ess",
    "bms_probability",
    "best",
)


@dataclass(frozen=True)
class ModelScores:
    """One model's pointwise out-of-sample scores over the participants."""

    model: str
    method: str
    participants: tuple[str, ...]
    groups: tuple[str | None, ...]
    elpd_i: np.ndarray  #: [N] each participant's elpd
    pareto_k: np.ndarray  #: [N] (NaN for kfold)
    is_ess: np.ndarray  #: [N] importance-sampling ESS of the marginal likelihood
    p_eff: float  #: effective number of parameters (p_loo; NaN for kfold)

    @property
    def elpd(self) -> float:
        """The total elpd."""
        return float(self.elpd_i.sum())

    @property
    def se(self) -> float:
        """Its standard error, ``sqrt(N var(elpd_i))``."""
        return float(np.sqrt(self.elpd_i.size * np.var(self.elpd_i)))


def attribute(idata: Any, key: str, default: Any = None) -> Any:
    """An attribute of a marginal file: on the InferenceData itself or on one of its
    ``log_likelihood`` or ``posterior`` groups."""
    sources = [getattr(idata, "attrs", None)]
    sources += [
        getattr(idata, group).attrs
        for group in ("log_likelihood", "posterior")
        if hasattr(idata, group)
    ]
    for attrs in sources:
        if attrs and key in attrs:
            return attrs[key]
    return default


def participant_labels(idata: Any) -> tuple[str, ...]:
    """The participants of a marginal file, in its order."""
    return tuple(str(p) for p in idata.log_likelihood.coords["participant"].values)


def participant_groups(idata: Any) -> tuple[str | None, ...]:
    """Each participant's group label, from ``constant_data.group_index`` and the
    posterior's group coordinate; without an index, the one group if there is one, else
    None (unknown)."""
    n = len(participant_labels(idata))
    groups = [str(g) for g in idata.posterior.coords["group"].values]
    constant = getattr(idata, "constant_data", None)
    if constant is not None and "group_index" in constant:
        return tuple(groups[int(i)] for i in np.asarray(constant["group_index"].values))
    return (groups[0] if len(groups) == 1 else None,) * n


def _constant(idata: Any, name: str, n: int, fill: Any) -> np.ndarray:
    """A per-participant variable of ``constant_data`` (``fill`` where it is absent)."""
    constant = getattr(idata, "constant_data", None)
    if constant is None or name not in constant:
        return np.full(n, fill)
    return np.asarray(constant[name].values)


def _method(model: str, files: Sequence[Any]) -> str:
    """The method every file of ``model`` was computed for (one, and a known one)."""
    methods = {str(attribute(f, "method", "psis")) for f in files}
    if len(methods) != 1 or not methods <= set(METHODS):
        raise DataError(
            f"marginal files of model {model!r} have method(s) {sorted(methods)}; "
            f"expected one of {list(METHODS)} for all of them"
        )
    return methods.pop()


def _check_model_attr(model: str, idata: Any) -> None:
    recorded = attribute(idata, "model")
    if recorded is not None and str(recorded) != model:
        raise DataError(f"a marginal file given for model {model!r} was computed for {recorded!r}")


def psis_scores(model: str, idata: Any) -> ModelScores:
    """PSIS-LOO over the participants of one marginal file, by ArviZ."""
    participants = participant_labels(idata)
    scored = _constant(idata, "scored", len(participants), True).astype(bool)
    if not scored.all():
        raise DataError(
            f"psis marginal file of model {model!r} leaves {int((~scored).sum())} "
            "participant(s) unscored; expected every participant scored"
        )
    with warnings.catch_warnings():  # high k is reported by the table and run_compare
        warnings.simplefilter("ignore", UserWarning)
        loo = az.loo(idata, pointwise=True, var_name=OBSERVED, scale="log")
    return ModelScores(
        model=model,
        method="psis",
        participants=participants,
        groups=participant_groups(idata),
        elpd_i=np.asarray(loo["loo_i"].values, dtype=float),
        pareto_k=np.asarray(loo["pareto_k"].values, dtype=float),
        is_ess=_constant(idata, "is_ess", len(participants), np.nan).astype(float),
        p_eff=float(loo["p_loo"]),
    )


def log_mean_exp(log_lik: np.ndarray) -> np.ndarray:
    """``log mean_s exp(log_lik[s, i])`` over the draws ``s`` (axis 0), stably."""
    return special.logsumexp(log_lik, axis=0) - np.log(log_lik.shape[0])


def kfold_scores(model: str, folds: Sequence[Any]) -> ModelScores:
    """Exact K-fold cross-validation: each participant scored by the fold that held
    them out (exactly one fold must)."""
    participants = participant_labels(folds[0])
    n = len(participants)
    elpd_i, is_ess = np.full(n, np.nan), np.full(n, np.nan)
    times_scored = np.zeros(n, dtype=int)
    for idata in folds:
        fold = attribute(idata, "fold", "?")
        if participant_labels(idata) != participants:
            raise DataError(
                f"marginal file of model {model!r}, fold {fold}: its participants differ "
                "from those of its first fold file (same participants, same order expected)"
            )
        scored = _constant(idata, "scored", n, False).astype(bool)
        log_lik = np.asarray(idata.log_likelihood[OBSERVED].values, dtype=float)
        elpd_i[scored] = log_mean_exp(log_lik.reshape(-1, n)[:, scored])  # others: NaN
        is_ess[scored] = _constant(idata, "is_ess", n, np.nan).astype(float)[scored]
        times_scored += scored
    if np.any(times_scored != 1):
        wrong = [p for p, t in zip(participants, times_scored, strict=True) if t != 1]
        raise DataError(
            f"kfold marginal files of model {model!r}: participant(s) {wrong[:5]} are held "
            "out by no fold or by several; expected each held out by exactly one"
        )
    return ModelScores(
        model=model,
        method="kfold",
        participants=participants,
        groups=participant_groups(folds[0]),
        elpd_i=elpd_i,
        pareto_k=np.full(n, np.nan),
        is_ess=is_ess,
        p_eff=np.nan,
    )


def model_scores(model: str, files: Sequence[Any]) -> ModelScores:
    """One model's scores from its marginal file(s), by the method they were made for."""
    if not files:
        raise DataError(f"no marginal file given for model {model!r}")
    for idata in files:
        _check_model_attr(model, idata)
    method = _method(model, files)
    if method == "psis":
        if len(files) != 1:
            raise DataError(
                f"method psis takes one marginal file per model; got {len(files)} for {model!r}"
            )
        return psis_scores(model, files[0])
    return kfold_scores(model, files)


def _check_same_participants(scores: Sequence[ModelScores]) -> None:
    first = scores[0]
    for other in scores[1:]:
        if other.participants != first.participants:
            raise DataError(
                f"marginal files of model {other.model!r} score other participants (or "
                f"another order) than those of {first.model!r}: {len(other.participants)} "
                f"vs {len(first.participants)}; expected the same, in the same order"
            )
        if other.method != first.method:
            raise DataError(
                f"model {other.model!r} was scored by {other.method}, {first.model!r} by "
                f"{first.method}; expected one compare.method for all models"
            )


def _elpd_data(pointwise: np.ndarray) -> ELPDData:
    """Pointwise elpds as the ELPDData ``az.compare`` accepts (the fields it reads)."""
    return ELPDData(
        {
            "elpd_loo": float(pointwise.sum()),
            "se": float(np.sqrt(pointwise.size * np.var(pointwise))),
            "p_loo": np.nan,
            "n_data_points": pointwise.size,
            "warning": False,
            "loo_i": xr.DataArray(pointwise, dims=["participant"]),
            "scale": "log",
        }
    )


def stacking_weights(lme: np.ndarray, models: Sequence[str]) -> np.ndarray:
    """Stacking weights of the models (columns of ``lme`` [N, K]) by ``az.compare``.

    Each participant's elpds are shifted by their largest before they go in: the weights
    maximise ``sum_i log sum_k w_k exp(elpd_ik)``, which a shift per participant leaves
    unchanged, while ArviZ exponentiates the elpds as they are (participants with
    hundreds of trials would underflow to 0)."""
    if len(models) == 1:
        return np.ones(1)
    shifted = lme - lme.max(axis=1, keepdims=True)
    with warnings.catch_warnings():  # ArviZ's own use of a keyword pandas deprecates
        warnings.filterwarnings("ignore", message="The inplace keyword")
        compared = az.compare(
            {m: _elpd_data(shifted[:, k]) for k, m in enumerate(models)}, method="stacking"
        )
    return np.asarray([float(compared.loc[m, "weight"]) for m in models])


def _k_counts(k: np.ndarray, method: str) -> dict[str, Any]:
    """Pareto k summary of one model; kfold has no k: maximum NaN, every count 0."""
    if method != "psis":
        return {
            "pareto_k_max": np.nan,
            "k_good": 0,
            "k_bad": 0,
            "k_very_bad": 0,
            "k_warning": False,
        }
    return {
        "pareto_k_max": float(np.max(k)),
        "k_good": int(np.sum(k <= K_GOOD)),
        "k_bad": int(np.sum((k > K_GOOD) & (k <= K_BAD))),
        "k_very_bad": int(np.sum(k > K_BAD)),
        "k_warning": bool(np.any(k > K_GOOD)),
    }


def _table(scores: Sequence[ModelScores], bms: BMSResult, weights: np.ndarray) -> pd.DataFrame:
    """The one-row-per-model table, best first."""
    lme = np.column_stack([s.elpd_i for s in scores])
    order = sorted(range(len(scores)), key=lambda k: -scores[k].elpd)
    best = lme[:, order[0]]
    n_best = np.bincount(np.argmax(bms.g, axis=1), minlength=len(scores))
    rows = []
    for rank, k in enumerate(order):
        s, diff = scores[k], best - lme[:, k]
        rows.append(
            {
                "model": s.model,
                "rank": rank,
                "method": s.method,
                "n_participants": s.elpd_i.size,
                "elpd": s.elpd,
                "se": s.se,
                "p_eff": s.p_eff,
                "elpd_diff": float(diff.sum()),
                "diff_se": float(np.sqrt(diff.size * np.var(diff))),
                "weight": float(weights[k]),
                **_k_counts(s.pareto_k, s.method),
                "is_ess_min": float(np.nanmin(s.is_ess)) if np.isfinite(s.is_ess).any() else np.nan,
                "bms_frequency": float(bms.frequency[k]),
                "bms_xp": float(bms.xp[k]),
                "bms_pxp": float(bms.pxp[k]),
                "bms_bor": bms.bor,
                "n_best": int(n_best[k]),
            }
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _participant_table(
    scores: Sequence[ModelScores], bms: BMSResult, order: Sequence[str]
) -> pd.DataFrame:
    """One row per participant and model: models best first, participants in fit order."""
    best = np.argmax(bms.g, axis=1)
    by_name = {s.model: k for k, s in enumerate(scores)}
    frames = []
    for model in order:
        k, s = by_name[model], scores[by_name[model]]
        frames.append(
            pd.DataFrame(
                {
                    "participant": list(s.participants),
                    "group": list(s.groups),
                    "model": model,
                    "elpd": s.elpd_i,
                    "pareto_k": s.pareto_k,
                    "is_ess": s.is_ess,
                    "bms_probability": bms.g[:, k],
                    "best": best == k,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[list(PARTICIPANT_COLUMNS)]


def compare_models(
    marginals: Mapping[str, Sequence[Any]], log: logging.Logger = LOG
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The model table and the participant table (see the module docstring) from each
    model's marginal InferenceData (one for psis, one per fold for kfold)."""
    if not marginals:
        raise DataError("model comparison: no models given")
    scores = [
        model_scores(model, [files] if isinstance(files, az.InferenceData) else list(files))
        for model, files in marginals.items()
    ]
    _check_same_participants(scores)
    lme = np.column_stack([s.elpd_i for s in scores])
    weights = stacking_weights(lme, [s.model for s in scores])
    bms = random_effects_bms(lme, log=log)
    table = _table(scores, bms, weights)
    return table, _participant_table(scores, bms, list(table["model"]))


def _warn_pareto_k(table: pd.DataFrame, log: logging.Logger) -> None:
    flagged = table[table["k_warning"]]
    if flagged.empty:
        return
    counts = ", ".join(
        f"{row.model} ({int(row.k_bad) + int(row.k_very_bad)})" for row in flagged.itertuples()
    )
    log.warning(
        "PSIS-LOO: Pareto k > %.1f for participants of %s (participants in brackets): their "
        "elpd estimates are unreliable; use compare.method: kfold",
        K_GOOD,
        counts,
    )


def verdict(table: pd.DataFrame) -> str:
    """One sentence on which model the data support, from a comparison table (best
    first): a model behind the best by more than :data:`RESOLVED_SE` SEs of the
    difference is worse; one within them is not told apart from the best."""
    if len(table) < 2:
        return f"One model ({table['model'].iloc[0]}): nothing to compare it with."
    rows = table.sort_values("rank", kind="stable")
    best, rest = rows.iloc[0], rows.iloc[1:]
    close = rest[rest["elpd_diff"] <= RESOLVED_SE * rest["diff_se"]]
    worse = rest.drop(close.index)
    sentence = f"{best['model']} predicts new participants best"
    if len(worse):
        names = ", ".join(
            f"{r.model} (by {r.elpd_diff:.1f} ± {r.diff_se:.1f})" for r in worse.itertuples()
        )
        sentence += f" and is clearly better than {names}"
    if len(close):
        names = ", ".join(
            f"{r.model} ({r.elpd_diff:.1f} ± {r.diff_se:.1f})" for r in close.itertuples()
        )
        verb = "is" if len(close) == 1 else "are"
        sentence += (
            f", but {names} {verb} within {RESOLVED_SE:g} SE of it: the data do not tell "
            "them apart (prefer the simpler model)"
        )
    return sentence + "."


def run_compare(
    marginal_paths: Mapping[str, Sequence[str | os.PathLike[str]]],
    out_table: str | os.PathLike[str],
    out_participants: str | os.PathLike[str],
    log: logging.Logger = LOG,
) -> pd.DataFrame:
    """Read every model's marginal file(s), compare the models, write both tables
    atomically and log the table (and a warning for Pareto k above 0.7)."""
    marginals = {}
    for model, paths in marginal_paths.items():
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        marginals[model] = [az.from_netcdf(str(p)) for p in paths]
    table, participants = compare_models(marginals, log=log)
    shown = [
        "model",
        "rank",
        "elpd",
        "se",
        "elpd_diff",
        "diff_se",
        "weight",
        "pareto_k_max",
        "bms_frequency",
        "bms_pxp",
        "n_best",
    ]
    log.info(
        "model comparison (%s, %d participants):\n%s",
        table["method"].iloc[0],
        int(table["n_participants"].iloc[0]),
        table[shown].to_string(index=False, float_format=lambda x: f"{x:.4g}"),
    )
    _warn_pareto_k(table, log)
    write_parquet(table, out_table)
    write_parquet(participants, out_participants)
    return table

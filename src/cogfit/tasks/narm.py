"""Task environments and simulators of the N-armed gain/loss bandit and the restless
(Kalman-filter) bandit, in plain NumPy.

Written apart from the JAX models (:mod:`cogfit.models.narm`), so a recovery test fits
data the fitted code did not make. The semantics both follow:

* gain/loss bandit (Seymour et al. 2012; Aylward et al. 2019): arm ``j`` gives a gain
  (``gain_size``) with probability ``reward_prob[t, j]`` and, independently, a loss
  (coded ``-loss_size``) with probability ``punish_prob[t, j]``; both probabilities drift
  in a Gaussian random walk reflected into ``[low, high]``. Reward values ``Qr`` and
  punishment values ``Qp`` start at 0; ``p = (1 - xi) softmax(Qr + Qp) + xi / N``; the
  chosen arm learns ``Qr += Arew (R gain - Qr)``, ``Qp += Apun (-P |loss| - Qp)``, the
  others forget ``Qr *= 1 - fr``, ``Qp *= 1 - fp`` (``fr, fp`` = the learning rates, or
  the decay ``d`` in banditNarm_lapse_decay);
* restless bandit (Daw et al. 2006): arm ``j`` pays ``round(N(mean[t, j], 4**2))``
  clipped to 1..100, the means following ``mean' = decay mean + (1 - decay) centre +
  N(0, diffusion**2)``; a Kalman-filter learner (the equations in
  :mod:`cogfit.models.narm`) chooses;
* a missed trial (probability ``missing_prob``) has no choice and no outcome
  (choice -1, outcomes 0) and changes nothing the learner believes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogfit.models.narm_spec import SIGMA_O, SPECS
from cogfit.tasks import common
from cogfit.tasks.common import phi as phi  # the standard normal CDF, importable here too

MISSED = -1  # choice code of a missed trial
KALMAN = "bandit_kalman_filter"
#: each model's parameters, from its spec (plain data)
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
_SPECS = {spec.name: spec for spec in SPECS}

#: group-level truth of the example data (mean and sd on the unconstrained scale):
#: moderate rates, sensitivities near 6 of 30, a 10% lapse; Kalman values near Daw et al.'s
TRUE_GROUP: dict[str, tuple[float, float]] = {
    "Arew": (-0.5, 0.3),
    "Apun": (-0.8, 0.3),
    "A": (-0.6, 0.3),
    "R": (-0.85, 0.25),
    "P": (-0.85, 0.25),
    "xi": (-1.3, 0.25),
    "d": (-0.5, 0.3),
    "lambda": (1.5, 0.3),
    "theta": (0.0, 0.2),
    "beta": (-0.85, 0.25),
    "mu0": (0.25, 0.2),
    "sigma0": (-0.45, 0.25),
    "sigmaD": (-0.85, 0.25),
}


def to_natural(model: str, name: str, x: np.ndarray) -> np.ndarray:
    """Parameter ``name`` of ``model`` from the unconstrained scale (its spec's link)."""
    (spec,) = (p for p in _SPECS[model].params if p.name == name)
    return common.natural_value(spec, x)


def draw_params(
    model: str,
    n_participants: int,
    rng: np.random.Generator,
    group: dict[str, tuple[float, float]] | None = None,
) -> dict[str, np.ndarray]:
    """Participant parameters [P] (natural scale): ``link(mu + sd * z)`` with ``(mu, sd)``
    from ``group`` (default :data:`TRUE_GROUP`), z standard normal."""
    group = {**TRUE_GROUP, **(group or {})}
    common.model_names(model, MODEL_PARAMS)
    return common.draw_natural(_SPECS[model].params, group, n_participants, rng)


def drifting_probabilities(
    n_participants: int,
    n_trials: int,
    n_arms: int,
    rng: np.random.Generator,
    drift_sd: float = 0.05,
    low: float = 0.1,
    high: float = 0.9,
) -> np.ndarray:
    """[P, T, K] outcome probabilities: uniform starts in [low, high], then a Gaussian
    random walk (sd ``drift_sd`` per trial) reflected at the bounds."""
    probs = np.empty((n_participants, n_trials, n_arms))
    p = rng.uniform(low, high, (n_participants, n_arms))
    width = high - low
    for t in range(n_trials):
        probs[:, t] = p
        x = np.mod(p + drift_sd * rng.standard_normal(p.shape) - low, 2 * width)
        p = low + np.where(x > width, 2 * width - x, x)
    return probs


def restless_means(
    n_participants: int,
    n_trials: int,
    n_arms: int,
    rng: np.random.Generator,
    decay: float = 0.9836,
    centre: float = 50.0,
    diffusion_sd: float = 2.8,
) -> np.ndarray:
    """[P, T, K] payoff means of Daw et al.'s (2006) restless bandit (their decay,
    centre and diffusion), starting spread over 20-80."""
    means = np.empty((n_participants, n_trials, n_arms))
    m = rng.uniform(20.0, 80.0, (n_participants, n_arms))
    for t in range(n_trials):
        means[:, t] = m
        m = decay * m + (1 - decay) * centre + diffusion_sd * rng.standard_normal(m.shape)
    return means


def _narm_slots(model: str, p: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """(Arew, Apun, fr, fp, R, P, xi) of a gain/loss model: its rates for the chosen arm,
    the forgetting rates of the others, the sensitivities and the lapse."""
    one, zero = np.ones_like(next(iter(p.values()))), np.zeros_like(next(iter(p.values())))
    a_rew = p.get("Arew", p.get("A"))
    a_pun = p.get("Apun", p.get("A"))
    f_rew, f_pun = (p["d"], p["d"]) if "d" in p else (a_rew, a_pun)
    return a_rew, a_pun, f_rew, f_pun, p.get("R", one), p.get("P", one), p.get("xi", zero)


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int = 200,
    n_arms: int = 4,
    missing_prob: float = 0.02,
    **task: float,
) -> dict[str, np.ndarray]:
    """Simulate ``model`` with participant parameters ``params`` ({name: [P]}).

    Returns [P, T] arrays: ``choice`` (0-based, -1 when missed), ``valid`` and the
    outcome columns (``gain`` >= 0 and ``loss`` <= 0, or ``outcome``; 0 when missed), and
    [P, T, K]: ``probabilities`` (the choice probabilities before each trial) and the
    environment (``reward_prob`` and ``punish_prob``, or ``means``). ``task`` settings:
    ``gain_size``, ``loss_size``, ``drift_sd``, ``low``, ``high`` (gain/loss bandit);
    ``decay``, ``centre``, ``diffusion_sd`` (restless bandit).
    """
    p = common.checked_params(model, params, MODEL_PARAMS, as_array=np.ravel)
    n_p = len(next(iter(p.values())))
    missed = rng.random((n_p, n_trials)) < missing_prob
    if model == KALMAN:
        return _simulate_kalman(p, rng, n_trials, n_arms, missed, **task)
    return _simulate_narm(model, p, rng, n_trials, n_arms, missed, **task)


def _simulate_narm(
    model: str,
    p: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int,
    n_arms: int,
    missed: np.ndarray,
    gain_size: float = 1.0,
    loss_size: float = 1.0,
    **drift: float,
) -> dict[str, np.ndarray]:
    n_p = missed.shape[0]
    a_rew, a_pun, f_rew, f_pun, r_sens, p_sens, xi = (s[:, None] for s in _narm_slots(model, p))
    reward_prob = drifting_probabilities(n_p, n_trials, n_arms, rng, **drift)
    punish_prob = drifting_probabilities(n_p, n_trials, n_arms, rng, **drift)
    qr, qp = np.zeros((n_p, n_arms)), np.zeros((n_p, n_arms))
    out = {k: np.zeros((n_p, n_trials)) for k in ("gain", "loss")}
    choice = np.full((n_p, n_trials), MISSED)
    probabilities = np.zeros((n_p, n_trials, n_arms))
    rows = np.arange(n_p)
    for t in range(n_trials):
        probs = (1 - xi) * common.softmax(qr + qp) + xi / n_arms
        probabilities[:, t] = probs
        c = common.sample_options(probs, rng)
        gain = np.where(rng.random(n_p) < reward_prob[rows, t, c], gain_size, 0.0)
        loss = np.where(rng.random(n_p) < punish_prob[rows, t, c], -loss_size, 0.0)
        ok = ~missed[:, t]
        choice[ok, t] = c[ok]
        out["gain"][ok, t], out["loss"][ok, t] = gain[ok], loss[ok]
        chosen = (np.arange(n_arms) == c[:, None]) & ok[:, None]
        unchosen = ~chosen & ok[:, None]
        qr = np.where(chosen, qr + a_rew * (r_sens * gain[:, None] - qr), qr)
        qp = np.where(chosen, qp + a_pun * (-p_sens * np.abs(loss)[:, None] - qp), qp)
        qr = np.where(unchosen, (1 - f_rew) * qr, qr)
        qp = np.where(unchosen, (1 - f_pun) * qp, qp)
    return {
        "choice": choice,
        "gain": out["gain"],
        "loss": out["loss"],
        "valid": ~missed,
        "probabilities": probabilities,
        "reward_prob": reward_prob,
        "punish_prob": punish_prob,
    }


def _simulate_kalman(
    p: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int,
    n_arms: int,
    missed: np.ndarray,
    **walk: float,
) -> dict[str, np.ndarray]:
    n_p = missed.shape[0]
    lam, theta, beta = p["lambda"][:, None], p["theta"][:, None], p["beta"][:, None]
    means_true = restless_means(n_p, n_trials, n_arms, rng, **walk)
    m = np.repeat(p["mu0"][:, None], n_arms, axis=1)
    v = np.repeat(p["sigma0"][:, None] ** 2, n_arms, axis=1)
    choice = np.full((n_p, n_trials), MISSED)
    outcome = np.zeros((n_p, n_trials))
    probabilities = np.zeros((n_p, n_trials, n_arms))
    rows = np.arange(n_p)
    for t in range(n_trials):
        probs = common.softmax(beta * m)
        probabilities[:, t] = probs
        c = common.sample_options(probs, rng)
        pay = np.clip(np.round(means_true[rows, t, c] + SIGMA_O * rng.standard_normal(n_p)), 1, 100)
        ok = ~missed[:, t]
        choice[ok, t], outcome[ok, t] = c[ok], pay[ok]
        chosen = np.arange(n_arms) == c[:, None]
        gain = v[rows, c] / (v[rows, c] + SIGMA_O**2)
        m_post = np.where(chosen, m + (gain * (pay - m[rows, c]))[:, None], m)
        v_post = np.where(chosen, v * (1 - gain)[:, None], v)
        step = ok[:, None]
        m = np.where(step, lam * m_post + (1 - lam) * theta, m)
        v = np.where(step, lam**2 * v_post + p["sigmaD"][:, None] ** 2, v)
    return {
        "choice": choice,
        "outcome": outcome,
        "valid": ~missed,
        "probabilities": probabilities,
        "means": means_true,
    }


def example(
    seed: int = 0,
    model: str = "banditNarm_lapse",
    n_participants: int = 20,
    n_trials: int = 200,
    n_arms: int = 4,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A raw example data set of ``model`` and its true participant parameters.

    The trials as a user's file has them: ``participant``, ``trial`` (1..T), ``choice``
    (arms numbered 1..N, empty when missed) and ``gain``/``loss`` (loss coded 0 or -1) or,
    for the Kalman filter, ``outcome`` (points, 1-100); outcomes empty when missed. The
    parameters: ``participant`` and one column per parameter, drawn from
    :data:`TRUE_GROUP`.
    """
    rng = np.random.default_rng(seed)
    params = draw_params(model, n_participants, rng)
    sim = simulate(model, params, rng, n_trials=n_trials, n_arms=n_arms)
    ids = common.participant_ids(n_participants, prefix="s")
    valid = sim["valid"]
    outcomes = ("outcome",) if model == KALMAN else ("gain", "loss")
    columns = {c: np.where(valid, sim[c], np.nan).ravel() for c in outcomes}
    trials = common.raw_trials(
        ids, n_trials, {"choice": common.int_cells(sim["choice"] + 1, ~valid), **columns}
    )
    return trials, common.truth_table(ids, params)

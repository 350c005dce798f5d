"""The Iowa gambling task: its decks, and a plain-NumPy simulator of the igt models.

Independent of the JAX kernel (:mod:`cogfit.models.igt`): data simulated and fitted by one
implementation would prove nothing. The contract both follow:

* four decks; the k-th card drawn from a deck pays that deck's k-th gain and loss. Each
  deck's cards come in blocks of ten, shuffled per block (a randomised version of
  Bechara et al.'s 1994 schedule): A pays 100 on every card and loses 150-350 on five of
  ten, B pays 100 and loses 1250 once in ten (both net -250 per ten cards), C pays 50 and
  loses 50 on five of ten, D pays 50 and loses 250 once in ten (both net +250);
* the simulator works in scaled units (the payoffs times ``scale``, 0.01 by default, as
  hBayesDM's payscale of 100); losses are negative; the net outcome is
  ``x = gain - |loss|``;
* traces start at 0; a missed trial draws no card and changes nothing;
* PVL: ``u = x^alpha`` (x >= 0) or ``-lambda |x|^alpha``; ``P = softmax(theta Ev)``
  with ``theta = 3^cons - 1``; delta rule ``Ev[c] += A (u - Ev[c])``; decay rule
  ``Ev = A Ev``, then ``Ev[c] += u``;
* VPP: PVL-Delta's ``Ev``; ``P = K P``, then ``P[c] += epP`` (x >= 0) or ``epN``;
  ``softmax(theta (w Ev + (1 - w) P))``;
* ORL: rate ``Arew`` after x >= 0, else ``Apun``: ``Ev[c] += a (x - Ev[c])``,
  ``Ef[c] += a (sgn x - Ef[c])``, every other deck ``Ef[j] += a' (-sgn(x) / 3 - Ef[j])``
  with the other rate ``a'``; ``Ps[c] = 1``, then ``Ps /= 3^K``;
  ``softmax(Ev + betaF Ef + betaP Ps)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cogfit.models.igt_spec import N_DECKS, SPECS
from cogfit.tasks import common

#: model name -> its parameters (from the specs: plain data, no JAX)
MODEL_PARAMS: dict[str, tuple[str, ...]] = {spec.name: spec.param_names for spec in SPECS}
MISSED = -1  # choice code of a missed trial
DECKS = "ABCD"
CARDS_PER_BLOCK = 10
#: one block of ten cards per deck, in the raw units: (gain per card, the block's losses)
SCHEDULE: dict[str, tuple[float, tuple[float, ...]]] = {
    "A": (100.0, (-150.0, -200.0, -250.0, -300.0, -350.0)),
    "B": (100.0, (-1250.0,)),
    "C": (50.0, (-50.0,) * 5),
    "D": (50.0, (-250.0,)),
}
#: hBayesDM's default payscale of 100, as the dataset's scale factor
SCALE = 0.01


def deck_payoffs(
    n_participants: int, n_cards: int, rng: np.random.Generator, scale: float = SCALE
) -> tuple[np.ndarray, np.ndarray]:
    """Gains and (negative) losses of the first ``n_cards`` cards of each deck, per
    participant, times ``scale``: two [P, decks, n_cards] arrays."""
    n_blocks = -(-n_cards // CARDS_PER_BLOCK)
    gains = np.zeros((n_participants, N_DECKS, n_blocks * CARDS_PER_BLOCK))
    losses = np.zeros_like(gains)
    for d, deck in enumerate(DECKS):
        gain, block_losses = SCHEDULE[deck]
        block = np.zeros(CARDS_PER_BLOCK)
        block[: len(block_losses)] = block_losses
        gains[:, d] = gain
        for p in range(n_participants):
            shuffled = [rng.permutation(block) for _ in range(n_blocks)]
            losses[p, d] = np.concatenate(shuffled)
    return gains[..., :n_cards] * scale, losses[..., :n_cards] * scale


def _checked(model: str, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The parameters as float arrays of one shape [P], checked against the model's."""
    common.check_names(model, params, MODEL_PARAMS)
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in params.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"parameters must all have one shape [P], got {shapes}")
    return arrays


def _utility(x: np.ndarray, alpha: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Prospect utility of net outcomes ``x`` [P]."""
    size = np.abs(x) ** alpha
    return np.where(x >= 0, size, -lam * size)


class _Agent:
    """One model's traces for P participants at once (all [P, decks])."""

    def __init__(self, model: str, params: dict[str, np.ndarray]) -> None:
        self.model = model
        self.p = params
        n = next(iter(params.values())).shape[0]
        self.ev = np.zeros((n, N_DECKS))
        self.ef = np.zeros((n, N_DECKS))
        self.ps = np.zeros((n, N_DECKS))

    def probabilities(self) -> np.ndarray:
        """Choice probabilities [P, decks] given the traces."""
        p = self.p
        if self.model == "igt_orl":
            logits = self.ev + p["betaF"][:, None] * self.ef + p["betaP"][:, None] * self.ps
            return common.softmax(logits)
        theta = (3.0 ** p["cons"] - 1.0)[:, None]
        if self.model == "igt_vpp":
            w = p["w"][:, None]
            return common.softmax(theta * (w * self.ev + (1.0 - w) * self.ps))
        return common.softmax(theta * self.ev)

    def learn(self, choice: np.ndarray, x: np.ndarray, valid: np.ndarray) -> None:
        """One trial's learning for every participant where ``valid``: decks ``choice``
        [P] chosen, net outcomes ``x`` [P]."""
        p, rows = self.p, np.flatnonzero(valid)
        c, x = choice[rows], x[rows]
        if self.model == "igt_orl":
            gained = x >= 0
            rate = np.where(gained, p["Arew"][rows], p["Apun"][rows])
            other = np.where(gained, p["Apun"][rows], p["Arew"][rows])
            sign = np.sign(x)
            fictive = self.ef[rows] + other[:, None] * (-sign[:, None] / 3.0 - self.ef[rows])
            fictive[np.arange(rows.size), c] = self.ef[rows, c] + rate * (sign - self.ef[rows, c])
            self.ef[rows] = fictive
            self.ev[rows, c] += rate * (x - self.ev[rows, c])
            ps = self.ps[rows]
            ps[np.arange(rows.size), c] = 1.0
            self.ps[rows] = ps / 3.0 ** p["K"][rows, None]
            return
        u = _utility(x, p["alpha"][rows], p["lambda"][rows])
        if self.model == "igt_pvl_decay":
            self.ev[rows] *= p["A"][rows, None]
            self.ev[rows, c] += u
        else:
            self.ev[rows, c] += p["A"][rows] * (u - self.ev[rows, c])
        if self.model == "igt_vpp":
            self.ps[rows] *= p["K"][rows, None]
            self.ps[rows, c] += np.where(x >= 0, p["epP"][rows], p["epN"][rows])


def simulate(
    model: str,
    params: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_trials: int = 100,
    missing_prob: float = 0.0,
    scale: float = SCALE,
) -> dict[str, np.ndarray]:
    """Simulate ``model`` for P participants (``params``: name -> [P] natural values).

    Returns [P, T] arrays: ``choice`` (0-based deck, :data:`MISSED` on a missed trial),
    ``gain`` and ``loss`` (scaled units, loss <= 0; 0 on a missed trial), ``valid``, and
    ``probabilities`` [P, T, decks], the model's choice probabilities before each trial.
    """
    params = _checked(model, params)
    n_p = next(iter(params.values())).shape[0]
    gains, losses = deck_payoffs(n_p, n_trials, rng, scale)
    agent = _Agent(model, params)
    drawn = np.zeros((n_p, N_DECKS), dtype=int)  # cards drawn from each deck so far
    out = {
        "choice": np.full((n_p, n_trials), MISSED),
        "gain": np.zeros((n_p, n_trials)),
        "loss": np.zeros((n_p, n_trials)),
        "valid": rng.random((n_p, n_trials)) >= missing_prob,
        "probabilities": np.zeros((n_p, n_trials, N_DECKS)),
    }
    rows = np.arange(n_p)
    for t in range(n_trials):
        probs = agent.probabilities()
        valid = out["valid"][:, t]
        choice = common.sample_options(probs, rng)
        card = drawn[rows, choice]
        gain, loss = gains[rows, choice, card], losses[rows, choice, card]
        agent.learn(choice, gain - np.abs(loss), valid)
        drawn[rows, choice] += valid
        out["probabilities"][:, t] = probs
        out["choice"][:, t] = np.where(valid, choice, MISSED)
        out["gain"][:, t] = np.where(valid, gain, 0.0)
        out["loss"][:, t] = np.where(valid, loss, 0.0)
    return out


#: the example's group distribution of igt_orl parameters on the natural scale
EXAMPLE_MODEL = "igt_orl"
EXAMPLE_PARAMS = {
    "Arew": (0.25, 0.08),
    "Apun": (0.10, 0.04),
    "K": (1.0, 0.4),
    "betaF": (2.0, 0.8),
    "betaP": (1.5, 0.8),
}


def example(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small IGT dataset in the raw format a user's file has, simulated from igt_orl:
    20 participants x 100 trials, decks coded 1-4 (A-D), gains and losses in the task's
    own units (e.g. 100, -250); about 2% of trials missed (empty choice, gain and loss).

    Its dataset config scales the payoffs as hBayesDM's payscale of 100 does:
    ``scale: {gain: 0.01, loss: 0.01}``. Returns the trials (``participant``, ``trial``,
    ``choice``, ``gain``, ``loss``) and the true parameters (``participant`` + one column
    per parameter).
    """
    rng = np.random.default_rng(seed)
    n_p, n_t = 20, 100
    params = {}
    for name, (mean, sd) in EXAMPLE_PARAMS.items():
        values = rng.normal(mean, sd, n_p)
        if name in ("Arew", "Apun"):
            values = np.clip(values, 0.02, 0.95)
        elif name == "K":
            values = np.clip(values, 0.05, 4.5)
        params[name] = np.round(values, 4)  # the table's values are the simulated ones
    sim = simulate(EXAMPLE_MODEL, params, rng, n_trials=n_t, missing_prob=0.02)
    ids = common.participant_ids(n_p, prefix="s")
    missed = ~sim["valid"]
    columns = {
        "choice": common.int_cells(sim["choice"] + 1, missed),
        # whole numbers as the task shows them
        "gain": common.int_cells(np.rint(sim["gain"] / SCALE), missed),
        "loss": common.int_cells(np.rint(sim["loss"] / SCALE), missed),
    }
    return common.raw_trials(ids, n_t, columns), common.truth_table(ids, params)

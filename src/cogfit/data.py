"""Cleaned trial table -> padded [participants, trials] arrays with a mask.

The contract of ``results/{dataset}/clean/trials.parquet`` (written by :mod:`cogfit.clean`):
one row per presented trial of an *included* participant, sorted by participant then trial,
with columns ``participant`` (str), ``group`` (str), ``trial`` (int), ``choice``
(nullable Int64, 0-based option index, <NA> when the response was missed), ``outcome``
(float, NaN when missed) and ``missed`` (bool).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cogfit.errors import DataError

TRIAL_COLUMNS = ("participant", "group", "trial", "choice", "outcome", "missed")


@dataclass(frozen=True)
class TaskData:
    """Padded arrays that every model reads; masked cells add nothing and teach nothing."""

    participants: tuple[str, ...]
    groups: tuple[str, ...]
    group_index: np.ndarray  # int32 [P]: index into ``groups``
    choices: np.ndarray  # int32 [P, T]: 0-based; 0 where masked (never read then)
    outcomes: np.ndarray  # float [P, T]: 0 where masked
    mask: np.ndarray  # bool [P, T]: True for a valid (responded) trial
    n_options: int

    @property
    def n_participants(self) -> int:
        return len(self.participants)

    @property
    def n_trials(self) -> int:
        return int(self.choices.shape[1])

    @property
    def n_groups(self) -> int:
        return len(self.groups)


def task_data_from_trials(trials: pd.DataFrame, n_options: int) -> TaskData:
    """Pad the cleaned trial table to arrays; missed and padding trials are masked out."""
    missing = [c for c in TRIAL_COLUMNS if c not in trials.columns]
    if missing:
        raise DataError(f"cleaned trials lack column(s) {missing}; expected {list(TRIAL_COLUMNS)}")
    if trials.empty:
        raise DataError("cleaned trials are empty: no participant is left to fit")
    df = trials.sort_values(["participant", "trial"], kind="stable")
    participants = tuple(pd.unique(df["participant"].astype(str)))
    group_of = df.groupby("participant", sort=False)["group"].first().astype(str)
    groups = tuple(sorted(pd.unique(group_of)))
    group_lookup = {g: i for i, g in enumerate(groups)}
    pos = {p: i for i, p in enumerate(participants)}

    p_idx = df["participant"].astype(str).map(pos).to_numpy()
    t_idx = df.groupby("participant", sort=False).cumcount().to_numpy()
    n_trials = int(t_idx.max()) + 1
    shape = (len(participants), n_trials)
    choices = np.zeros(shape, dtype=np.int32)
    outcomes = np.zeros(shape, dtype=np.float64)
    mask = np.zeros(shape, dtype=bool)

    valid = ~df["missed"].to_numpy(dtype=bool)
    choices[p_idx[valid], t_idx[valid]] = df["choice"].to_numpy()[valid].astype(np.int32)
    outcomes[p_idx[valid], t_idx[valid]] = df["outcome"].to_numpy(dtype=float)[valid]
    mask[p_idx[valid], t_idx[valid]] = True
    if choices.max(initial=0) >= n_options or choices.min(initial=0) < 0:
        raise DataError(f"cleaned choices fall outside 0..{n_options - 1}")
    group_index = np.array([group_lookup[group_of[p]] for p in participants], dtype=np.int32)
    return TaskData(participants, groups, group_index, choices, outcomes, mask, n_options)


def data_hash(data: TaskData) -> str:
    """A short content hash of what the fit saw, for provenance and cache keys."""
    h = hashlib.sha256()
    for arr in (data.group_index, data.choices, data.outcomes, data.mask):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\x1f".join(data.participants + ("|",) + data.groups).encode())
    h.update(str(data.n_options).encode())
    return h.hexdigest()[:16]

"""Cleaned trial table -> padded [participants, trials] arrays with a mask.

The contract of ``results/{dataset}/clean/trials.parquet`` (written by :mod:`cogfit.clean`):
one row per presented trial of an *included* participant, sorted by participant then trial,
with the key columns ``participant`` (str), ``group`` (str), ``trial`` (int), ``missed``
(bool: a required response is missing) and optionally ``block``, then one column per
trial column the dataset's models declare (:class:`~cogfit.models.spec.ColumnSpec`):
options and codes as nullable Int64 (options 0-based), binary responses as Int64 0/1,
real values as float; <NA>/NaN where the cell was empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from cogfit.errors import DataError
from cogfit.names import RESET, SEQUENCE_ORDER, SEQUENCE_SLOT, VALID, observed_key

#: the cleaned table's key columns; every other column is a trial column
KEY_COLUMNS = ("participant", "group", "trial", "missed")
BLOCK = "block"


@dataclass(frozen=True)
class TaskData:
    """Padded arrays that every model reads; masked cells add nothing and teach nothing.

    ``trials`` maps each trial column to its [P, T] array (int32 for options, codes and
    binary responses, float64 for real values; 0 where empty or masked), ``valid`` (an
    answered trial) and ``has_<column>`` (the cell has a value on an answered trial) to
    bool [P, T]. ``block_start`` is True on the first trial of each block after a
    participant's first (a model that resets at blocks starts afresh there).
    """

    participants: tuple[str, ...]
    groups: tuple[str, ...]
    group_index: np.ndarray  # int32 [P]: index into ``groups``
    trials: Mapping[str, np.ndarray]
    block_start: np.ndarray  # bool [P, T]
    n_options: int

    @property
    def mask(self) -> np.ndarray:
        """bool [P, T]: True for a valid (answered) trial."""
        return self.trials[VALID]

    @property
    def n_participants(self) -> int:
        return len(self.participants)

    @property
    def n_trials(self) -> int:
        return int(self.mask.shape[1])

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def columns(self) -> tuple[str, ...]:
        """The trial columns (not the masks), in the table's order."""
        return tuple(k for k in self.trials if k != VALID and not k.startswith("has_"))

    def scan_inputs(self, model: Any) -> dict[str, np.ndarray]:
        """What the likelihood scans for ``model``: the trials, the block starts as
        :data:`~cogfit.names.RESET` when the model resets at blocks, and the layout of its
        per-level sequences when it keeps a state per level (``state_per``)."""
        inputs = dict(self.trials)
        if model.spec.block_reset:
            inputs[RESET] = self.block_start
        column = model.spec.state_per
        if column is not None:
            levels = model.spec.column(column).levels
            inputs[SEQUENCE_ORDER], inputs[SEQUENCE_SLOT] = level_sequences(
                self.trials[column], self.trials[observed_key(column)], levels
            )
        return inputs

    def select(self, keep: np.ndarray) -> TaskData:
        """The participants where ``keep`` [P] is True (all groups kept, so group draws
        index them as before)."""
        keep = np.asarray(keep, dtype=bool)
        return replace(
            self,
            participants=tuple(p for p, k in zip(self.participants, keep, strict=True) if k),
            group_index=self.group_index[keep],
            trials={k: v[keep] for k, v in self.trials.items()},
            block_start=self.block_start[keep],
        )

    def masked(self, mask: np.ndarray) -> TaskData:
        """Only the trials where ``mask`` [P, T] is True stay valid; the others are
        zeroed, as masked cells are."""
        keep = np.asarray(mask, dtype=bool) & self.mask
        trials = {k: np.where(keep, v, 0).astype(v.dtype) for k, v in self.trials.items()}
        return replace(self, trials=trials)


def level_sequences(
    codes: np.ndarray, present: np.ndarray, levels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each participant's trials as ``levels`` sequences, one per code, in trial order,
    each padded to the longest (S places): ``order`` [P, L * S], the trial at each place
    (T where none), and ``slot`` [P, T], each trial's place (L * S where the trial has no
    code: a missed or padding trial)."""
    n_p, n_t = codes.shape
    hits = [present & (codes == level) for level in range(levels)]
    width = max(1, max(int(hit.sum(axis=1).max(initial=0)) for hit in hits))
    order = np.full((n_p, levels, width), n_t, dtype=np.int32)
    slot = np.full((n_p, n_t), levels * width, dtype=np.int32)
    for level, hit in enumerate(hits):
        place = np.cumsum(hit, axis=1) - 1
        p_idx, t_idx = np.nonzero(hit)
        order[p_idx, level, place[p_idx, t_idx]] = t_idx
        slot[p_idx, t_idx] = level * width + place[p_idx, t_idx]
    return order.reshape(n_p, levels * width), slot


def from_arrays(
    columns: Mapping[str, np.ndarray],
    valid: np.ndarray,
    *,
    observed: Mapping[str, np.ndarray] | None = None,
    group_index: np.ndarray | None = None,
    groups: tuple[str, ...] = ("all",),
    block_start: np.ndarray | None = None,
    n_options: int = 2,
) -> TaskData:
    """Padded arrays from [P, T] columns (simulations, tests): ``valid`` marks answered
    trials, ``observed`` per column where it has a value (default everywhere); masked and
    empty cells are zeroed. Participants are named ``p0``, ``p1``, ..."""
    valid = np.asarray(valid, dtype=bool)
    observed = observed or {}
    trials: dict[str, np.ndarray] = {VALID: valid}
    for name, values in columns.items():
        values = np.asarray(values)
        has = valid & np.asarray(observed.get(name, True), dtype=bool)
        dtype = np.float64 if np.issubdtype(values.dtype, np.floating) else np.int32
        trials[name] = np.where(has, values, 0).astype(dtype)
        trials[observed_key(name)] = has
    n_participants = valid.shape[0]
    if group_index is None:
        group_index = np.zeros(n_participants, dtype=np.int32)
    return TaskData(
        participants=tuple(f"p{i}" for i in range(n_participants)),
        groups=tuple(groups),
        group_index=np.asarray(group_index, dtype=np.int32),
        trials=trials,
        block_start=np.zeros_like(valid) if block_start is None else np.asarray(block_start, bool),
        n_options=n_options,
    )


def task_data_from_trials(trials: pd.DataFrame, n_options: int) -> TaskData:
    """Pad the cleaned trial table to arrays; missed and padding trials are masked out."""
    missing = [c for c in KEY_COLUMNS if c not in trials.columns]
    if missing:
        raise DataError(f"cleaned trials lack column(s) {missing}; expected {list(KEY_COLUMNS)}")
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
    shape = (len(participants), int(t_idx.max()) + 1)
    valid = ~df["missed"].to_numpy(dtype=bool)
    arrays: dict[str, np.ndarray] = {VALID: _padded(valid, valid, p_idx, t_idx, shape)}
    for column in (c for c in df.columns if c not in KEY_COLUMNS and c != BLOCK):
        values, present = _values(df[column], column)
        arrays[column] = _padded(values, valid & present, p_idx, t_idx, shape)
        arrays[observed_key(column)] = _padded(present, valid & present, p_idx, t_idx, shape)
    starts = np.zeros(len(df), dtype=bool)
    if BLOCK in df.columns:
        block = df[BLOCK].astype(str).to_numpy()
        same_person = np.r_[False, p_idx[1:] == p_idx[:-1]]
        starts = same_person & np.r_[False, block[1:] != block[:-1]]
    block_start = _padded(starts, np.ones(len(df), bool), p_idx, t_idx, shape)
    group_index = np.array([group_lookup[group_of[p]] for p in participants], dtype=np.int32)
    return TaskData(participants, groups, group_index, arrays, block_start, n_options)


def _values(series: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A cleaned column as int32 (integer columns) or float64 values, and where it has one."""
    present = series.notna().to_numpy()
    if pd.api.types.is_integer_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype("Int64").to_numpy(dtype=np.int64, na_value=0)
        if np.abs(values).max(initial=0) >= 2**31:
            raise DataError(f"cleaned column {column!r} holds integers beyond int32")
        return values.astype(np.int32), present
    if pd.api.types.is_float_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=0.0), present
    raise DataError(f"cleaned column {column!r} has dtype {series.dtype}; expected numbers")


def _padded(
    values: np.ndarray, keep: np.ndarray, p_idx: np.ndarray, t_idx: np.ndarray, shape: tuple
) -> np.ndarray:
    """``values`` at (participant, trial position) where ``keep``; 0/False elsewhere."""
    out = np.zeros(shape, dtype=values.dtype)
    out[p_idx[keep], t_idx[keep]] = values[keep]
    return out


def data_hash(data: TaskData) -> str:
    """A short content hash of what the fit saw, for provenance and cache keys."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(data.group_index).tobytes())
    for key in sorted(data.trials):
        h.update(key.encode())
        h.update(np.ascontiguousarray(data.trials[key]).tobytes())
    h.update(np.ascontiguousarray(data.block_start).tobytes())
    h.update("\x1f".join(data.participants + ("|",) + data.groups).encode())
    h.update(str(data.n_options).encode())
    return h.hexdigest()[:16]

"""K-fold splits by participant, stratified by group, for cross-validation of new
participants.

Within each group (in the order of the group index), the group's participants are put in
a random order by ``np.random.default_rng(seed).permutation`` (one call per group, the
same generator throughout) and dealt to folds in turn, the deal continuing where the
previous group's ended. So every fold holds a share of every group as near equal as
counts allow, fold sizes differ by at most one, and a fold never holds all of a group
that has two or more participants: every fold's training set keeps every group.

A fold's data keep every participant in place (same shapes, so all folds share one
compiled program); the held-out participants' trials are masked, so their likelihood
drops out of the fit and their offsets stay at the prior.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cogfit.data import TaskData
from cogfit.errors import ConfigError, DataError


def assign_folds(
    participants: Sequence[str], group_index: np.ndarray, n_folds: int, seed: int
) -> np.ndarray:
    """The fold (0..n_folds-1) of every participant, dealt within groups (module docstring)."""
    group_index = np.asarray(group_index)
    n_p = len(participants)
    if group_index.shape != (n_p,):
        raise DataError(f"group_index has shape {group_index.shape}, expected ({n_p},)")
    if n_folds > n_p:
        raise ConfigError(
            f"compare.folds: {n_folds} folds but only {n_p} participants; expected at most {n_p}"
        )
    groups, counts = np.unique(group_index, return_counts=True)
    if counts.min() < 2:
        lonely = int(groups[np.argmin(counts)])
        alone = participants[int(np.flatnonzero(group_index == lonely)[0])]
        raise ConfigError(
            f"compare.folds: participant {alone} is alone in group {lonely}, so the fold holding "
            "it out would fit nobody of that group; kfold needs 2 or more participants per group"
        )
    rng = np.random.default_rng(seed)
    folds = np.empty(n_p, dtype=np.int64)
    dealt = 0
    for group in groups:
        members = np.flatnonzero(group_index == group)
        order = members[rng.permutation(members.size)]
        folds[order] = (dealt + np.arange(members.size)) % n_folds
        dealt += members.size
    return folds


def held_out(folds: np.ndarray, fold: int) -> np.ndarray:
    """Which participants fold ``fold`` holds out (bool [P])."""
    folds = np.asarray(folds)
    n_folds = int(folds.max()) + 1
    if not 0 <= fold < n_folds:
        raise ConfigError(f"fold {fold} does not exist; folds are 0..{n_folds - 1}")
    return folds == fold


def fold_data(data: TaskData, held_out_mask: np.ndarray) -> TaskData:
    """``data`` with the held-out participants' trials masked (and zeroed, as the
    contract of :class:`TaskData` has masked cells); shapes unchanged."""
    held = np.asarray(held_out_mask)
    if held.dtype != bool or held.shape != (data.n_participants,):
        raise DataError(
            f"held-out mask: dtype {held.dtype}, shape {held.shape}; expected bool "
            f"({data.n_participants},)"
        )
    return data.masked(np.broadcast_to(~held[:, None], data.mask.shape))

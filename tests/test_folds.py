"""K-fold splits: a split dealt by hand from the documented algorithm, the stratification
it promises, and the errors when a split cannot keep every group in every training set."""

from __future__ import annotations

import numpy as np
import pytest

from cogfit.errors import ConfigError, DataError
from cogfit.folds import assign_folds, fold_data, held_out
from cogfit.likelihood import trial_log_probs
from cogfit.models import get_model
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit


def test_a_small_split_is_the_documented_deal() -> None:
    group_index = np.array([0, 0, 1, 0, 1, 1, 0])
    # the generator's permutations, one per group in index order (pinned here so the
    # hand deal below shows where it comes from)
    rng = np.random.default_rng(3)
    assert rng.permutation(4).tolist() == [3, 2, 1, 0]  # group 0: members p0 p1 p3 p6
    assert rng.permutation(3).tolist() == [0, 1, 2]  # group 1: members p2 p4 p5
    # group 0 in order p6 p3 p1 p0 -> folds 0 1 2 0; the deal goes on at fold 1 for
    # group 1 in order p2 p4 p5 -> folds 1 2 0
    expected = {"p0": 0, "p1": 2, "p2": 1, "p3": 1, "p4": 2, "p5": 0, "p6": 0}
    participants = [f"p{i}" for i in range(7)]
    folds = assign_folds(participants, group_index, n_folds=3, seed=3)
    assert folds.tolist() == [expected[p] for p in participants]


def test_folds_are_stratified_by_group() -> None:
    rng = np.random.default_rng(0)
    group_index = rng.integers(0, 3, 47)
    counts = np.bincount(group_index)
    participants = [f"s{i}" for i in range(47)]
    n_folds = 5
    folds = assign_folds(participants, group_index, n_folds, seed=11)
    sizes = np.bincount(folds, minlength=n_folds)
    assert sizes.sum() == 47 and sizes.max() - sizes.min() <= 1
    for g, n_g in enumerate(counts):
        per_fold = np.bincount(folds[group_index == g], minlength=n_folds)
        assert set(per_fold) <= {n_g // n_folds, -(-n_g // n_folds)}
    for fold in range(n_folds):
        training = group_index[~held_out(folds, fold)]
        assert set(training) == {0, 1, 2}
    assert np.array_equal(folds, assign_folds(participants, group_index, n_folds, seed=11))
    assert not np.array_equal(folds, assign_folds(participants, group_index, n_folds, seed=12))


def test_two_per_group_with_many_folds_keeps_every_group_in_training() -> None:
    group_index = np.array([0, 0, 1, 1])
    folds = assign_folds(["a", "b", "c", "d"], group_index, n_folds=4, seed=0)
    assert sorted(folds) == [0, 1, 2, 3]
    for fold in range(4):
        assert set(group_index[~held_out(folds, fold)]) == {0, 1}


def test_impossible_splits_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"compare.folds: 5 folds but only 4 participants"):
        assign_folds(["a", "b", "c", "d"], np.array([0, 0, 1, 1]), 5, seed=0)
    with pytest.raises(ConfigError, match=r"compare.folds: participant c is alone in group 1"):
        assign_folds(["a", "b", "c", "d"], np.array([0, 0, 1, 0]), 2, seed=0)
    with pytest.raises(DataError, match="group_index has shape"):
        assign_folds(["a", "b"], np.array([0, 0, 0]), 2, seed=0)
    with pytest.raises(ConfigError, match="fold 3 does not exist"):
        held_out(np.array([0, 1, 2, 0]), 3)


def test_fold_data_masks_exactly_the_held_out_participants() -> None:
    rng = np.random.default_rng(1)
    params = {"alpha": np.full(5, 0.3), "beta": np.full(5, 3.0)}
    choices, outcomes, valid = simulate_bandit(
        "rw", params, reversal_schedule(12, 0.8, 6), rng, missing_prob=0.2
    )
    data = as_task_data(choices, outcomes, valid)
    held = held_out(np.array([0, 1, 0, 2, 1]), 1)
    fold = fold_data(data, held)
    assert set(fold.trials) == set(data.trials) and fold.participants == data.participants
    assert fold.trials["choice"].shape == data.trials["choice"].shape
    assert not fold.mask[held].any()
    assert np.array_equal(fold.mask[~held], data.mask[~held])
    assert np.array_equal(fold.trials["choice"][~held], data.trials["choice"][~held])
    assert (fold.trials["choice"][held] == 0).all() and (fold.trials["outcome"][held] == 0).all()
    for key, values in fold.trials.items():  # every array: zeroed where held out, else kept
        assert values.dtype == data.trials[key].dtype, key
        assert not values[held].any() and np.array_equal(values[~held], data.trials[key][~held])
    model = get_model("rw")
    theta = {k: np.asarray(v, np.float32) for k, v in params.items()}
    logp = np.asarray(trial_log_probs(model, theta, fold.scan_inputs(model), 2))
    assert (logp[held] == 0).all() and (logp[~held] < 0).any()
    with pytest.raises(DataError, match="held-out mask"):
        fold_data(data, np.array([0, 1, 0, 0, 1]))

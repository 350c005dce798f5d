"""Group contrasts against differences computed from the draws directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic import LINKS, make_idata

from cogfit.config import check_config
from cogfit.contrasts import COLUMNS, contrast_rows, group_pairs, run_contrasts
from cogfit.errors import ConfigError

GROUPS = ["control", "patient", "older"]


def narrowest_interval(draws: np.ndarray, prob: float) -> tuple[float, float]:
    """The HDI of draws by its definition: the narrowest window of floor(prob * n) + 1
    sorted draws."""
    ordered = np.sort(draws)
    inside = int(np.floor(prob * ordered.size))
    widths = ordered[inside:] - ordered[: ordered.size - inside]
    low = int(np.argmin(widths))
    return float(ordered[low]), float(ordered[low + inside])


def test_every_row_is_the_difference_of_the_draws() -> None:
    posterior = make_idata(groups=GROUPS, seed=4).posterior
    table = contrast_rows(posterior, hdi_prob=0.9, rope={"alpha": 0.05})
    assert len(table) == len(LINKS) * 2 * 3  # parameters x scales x pairs
    for row in table.itertuples():
        var = f"{row.parameter}_mu_natural" if row.scale == "natural" else f"{row.parameter}_mu"
        a = posterior[var].sel(group=row.group_a).values
        b = posterior[var].sel(group=row.group_b).values
        diff = (a - b).ravel()
        assert row.mean == pytest.approx(np.mean(diff), rel=1e-12)
        assert row.sd == pytest.approx(np.std(diff, ddof=1), rel=1e-12)
        assert row.p_greater == pytest.approx(np.mean(diff > 0))
        low, high = narrowest_interval(diff, 0.9)
        assert (row.hdi_low, row.hdi_high) == pytest.approx((low, high), rel=1e-12)
        if row.parameter == "alpha" and row.scale == "natural":
            assert row.p_in_rope == pytest.approx(np.mean(np.abs(diff) <= 0.05))
            assert (row.rope_low, row.rope_high) == (-0.05, 0.05)
        else:
            assert np.isnan(row.p_in_rope) and np.isnan(row.rope_low)


def test_pairs_are_every_pair_or_those_named() -> None:
    assert group_pairs(GROUPS) == [
        ("control", "patient"),
        ("control", "older"),
        ("patient", "older"),
    ]
    assert group_pairs(GROUPS, [["patient", "control"]]) == [("patient", "control")]
    with pytest.raises(ConfigError, match="group 'elderly' of pair"):
        group_pairs(GROUPS, [["control", "elderly"]])


def test_named_pair_gives_a_minus_b(tmp_path: Path) -> None:
    posterior = make_idata(groups=GROUPS, seed=5).posterior
    ab = contrast_rows(posterior, 0.94, [["control", "patient"]])
    ba = contrast_rows(posterior, 0.94, [["patient", "control"]])
    assert np.allclose(ab["mean"], -ba["mean"])
    assert np.allclose(ab["p_greater"], 1 - ba["p_greater"])


def test_one_group_writes_an_empty_table_with_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "posterior.nc"
    make_idata(groups=["all"]).to_netcdf(str(path))
    out = tmp_path / "contrasts.parquet"
    run_contrasts(path, out, hdi_prob=0.94)
    table = pd.read_parquet(out)
    assert table.empty and list(table.columns) == list(COLUMNS)


@pytest.mark.parametrize(
    ("contrasts", "expected"),
    [
        ({"pairs": {"nosuch": [["a", "b"]]}}, "contrasts.pairs.nosuch: no dataset"),
        ({"rope": {"gamma": 0.1}}, "contrasts.rope.gamma: not a parameter"),
    ],
)
def test_contrasts_of_what_is_not_fitted_fail_before_any_job(contrasts: dict, expected: str):
    columns = {"participant": "s", "choice": "c", "outcome": "o"}
    config = {"datasets": {"d": {"models": ["rw"], "columns": columns}}, "contrasts": contrasts}
    with pytest.raises(ConfigError, match=expected):
        check_config(config)


def test_credible_rows_are_those_whose_hdi_excludes_zero() -> None:
    from cogfit.contrasts import credible

    table = pd.DataFrame(
        {
            "parameter": ["a", "b", "c", "a"],
            "scale": ["natural", "natural", "natural", "unconstrained"],
            "hdi_low": [0.1, -0.2, -0.5, 0.3],
            "hdi_high": [0.4, 0.3, -0.1, 0.9],
        }
    )
    assert list(credible(table)["parameter"]) == ["a", "c"]
    assert list(credible(table, "unconstrained")["parameter"]) == ["a"]

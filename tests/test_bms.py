"""Random-effects BMS against published values, exact enumeration and Monte Carlo."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, special

from cogfit.bms import (
    _exceedance_by_quadrature,
    exceedance_probabilities,
    free_energy,
    random_effects_bms,
)

#: the worked example of the bmsR package's README (github.com/mattelisi/bmsR, an R
#: translation of SPM12's spm_BMS.m): Akaike weights of 12 participants (rows) under 6
#: models, given column by column, each row summing to 1
BMSR_WEIGHTS = [
    2.50809867187394e-22, 0.000146611855314775, 4.58668624689671e-25, 4.10535400464176e-07,
    0.0686634208305935, 0.0367833971579169, 0.000110346493359948, 1.68129802885811e-08,
    0.108275519613786, 3.9578164134093e-11, 0.0367837099909541, 1.08999881504e-07,
    0.0343412062159018, 0.00446326510403562, 0.00172330666747482, 0.000990826155243488,
    0.158393579220946, 0.0295386936257688, 0.00012552265085804, 0.0272190104668559,
    0.0530936016907313, 2.07255371227757e-10, 0.0214823528123676, 4.73437495302293e-05,
    0.677938621542126, 5.20954432898137e-08, 0.000627393517771912, 0.000388486329012404,
    3.17565869877651e-18, 0.191176500286399, 3.83899865682068e-07, 0.0619217494201652,
    0.559188952807853, 5.06676447796227e-09, 0.0418921682773635, 0.702014475355336,
    0.249399681241455, 0.862817395918837, 0.864775715064725, 0.865617369930796,
    0.147322698727657, 0.643610120435765, 0.866608545004982, 0.789544918511435,
    0.207285291019464, 0.866813333179825, 0.779961587662899, 0.258256692887969,
    0.0337525764999333, 0.116769634805204, 0.117034665657295, 0.11714857188609,
    0.497854787795748, 0.0871031579431148, 0.117282712780637, 0.106853285174707,
    0.0635553531488496, 0.117310426702891, 0.105556322380037, 0.0349512426797482,
    0.00456791450058339, 0.0158030402211649, 0.0158389190927326, 0.0158543351634575,
    0.127765513425055, 0.0117881305510349, 0.0158724891702976, 0.0144610196138568,
    0.00860128171931599, 0.0158762348036855, 0.0143238588763795, 0.00473013632753477,
]  # fmt: skip
#: its printed results: alpha (iteration stopped at a change below 1e-3), expected
#: frequencies, exceedance probabilities (Monte Carlo, 1e6 draws), BOR and PXP
BMSR_ALPHA = [1.043623, 1.064976, 1.720754, 11.835847, 1.290641, 1.044160]
BMSR_FREQUENCY = [0.05797903, 0.05916533, 0.09559743, 0.65754706, 0.07170226, 0.05800889]
BMSR_XP = [0.000279, 0.000319, 0.001173, 0.997441, 0.000514, 0.000274]
BMSR_BOR = 0.002890379
BMSR_PXP = [
    0.0007599235, 0.0007998079, 0.0016513395, 0.9950397470, 0.0009942442, 0.0007549379
]  # fmt: skip


def exact_log_evidence(lme: np.ndarray, alpha0: float = 1.0) -> float:
    """log p(y) of the random-effects model by summing over all K^N assignments of models
    to participants: each assignment with counts c has prior probability
    B(alpha0 + c) / B(alpha0) once the Dirichlet frequencies are integrated out."""
    n, k = lme.shape
    prior = np.full(k, alpha0)

    def log_beta(a: np.ndarray) -> float:
        return float(special.gammaln(a).sum() - special.gammaln(a.sum()))

    terms = []
    for assignment in itertools.product(range(k), repeat=n):
        counts = np.bincount(assignment, minlength=k)
        evidence = sum(lme[i, m] for i, m in enumerate(assignment))
        terms.append(evidence + log_beta(prior + counts) - log_beta(prior))
    return float(special.logsumexp(terms))


def test_the_published_worked_example_is_reproduced() -> None:
    lme = np.log(np.asarray(BMSR_WEIGHTS).reshape(6, 12).T)
    result = random_effects_bms(lme)
    assert result.alpha == pytest.approx(BMSR_ALPHA, abs=1e-3)  # their looser stop
    assert result.frequency == pytest.approx(BMSR_FREQUENCY, abs=1e-4)
    assert result.xp == pytest.approx(BMSR_XP, abs=1.2e-4)  # 2.5 MC sd at the largest
    assert result.bor == pytest.approx(BMSR_BOR, rel=1e-4)
    assert result.pxp == pytest.approx(BMSR_PXP, abs=1.2e-4)


@pytest.mark.parametrize(("n", "k"), [(6, 2), (5, 3)])
def test_free_energy_bounds_the_exact_evidence(n: int, k: int) -> None:
    lme = np.random.default_rng(n).normal(0.0, 2.0, (n, k)) - 40.0
    result = random_effects_bms(lme)
    exact = exact_log_evidence(lme)
    assert result.free_energy < exact
    assert result.free_energy > exact - 1.0  # a close bound, not any number below
    # the fixed point is where g and alpha are each optimal given the other
    other = result.alpha * 1.05
    assert free_energy(lme, other, result.g, np.ones(k)) < result.free_energy


def test_decisive_evidence_makes_the_variational_posterior_exact() -> None:
    best = np.array([0, 0, 1, 0, 2])
    lme = np.full((5, 3), -90.0)
    lme[np.arange(5), best] = -30.0
    result = random_effects_bms(lme)
    counts = np.bincount(best, minlength=3)
    assert result.alpha == pytest.approx(1.0 + counts, abs=1e-12)
    assert result.frequency == pytest.approx((1.0 + counts) / (3 + 5), abs=1e-12)
    exact = exact_log_evidence(lme)
    assert result.free_energy == pytest.approx(exact, abs=1e-9)
    f0 = float(np.sum(special.logsumexp(lme, axis=1) - np.log(3)))
    assert result.bor == pytest.approx(1.0 / (1.0 + np.exp(exact - f0)), rel=1e-8)


def test_exceedance_of_two_models_is_the_beta_tail() -> None:
    a, b = 3.5, 7.25

    def density(x: float) -> float:  # the Beta(a, b) density, written out
        return float(np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b)))

    tail = integrate.quad(density, 0.5, 1.0, epsabs=1e-13)[0]  # P(r_1 > 1/2)
    xp = exceedance_probabilities(np.array([a, b]))
    assert xp == pytest.approx([tail, 1 - tail], abs=1e-10)
    assert _exceedance_by_quadrature(np.array([a, b])) == pytest.approx(xp, abs=1e-9)


@pytest.mark.parametrize("alpha", [[3.0, 4.0, 5.0], [1.2, 9.0, 8.5, 2.0], [0.5, 0.7, 0.2]])
def test_exceedance_of_more_models_agrees_with_dirichlet_draws(alpha: list[float]) -> None:
    draws = np.random.default_rng(11).dirichlet(alpha, 2_000_000)
    sampled = np.bincount(draws.argmax(axis=1), minlength=len(alpha)) / len(draws)
    xp = exceedance_probabilities(np.asarray(alpha))
    sd = np.sqrt(sampled * (1 - sampled) / len(draws))
    assert np.all(np.abs(xp - sampled) < 4 * sd + 1e-12)
    assert xp.sum() == pytest.approx(1.0, abs=1e-9)


def test_exceedance_stays_exact_for_large_counts() -> None:
    # near-equal large counts: r_1 - r_4 is close to normal with sd sqrt(2 a) / sum(a)
    alpha = np.array([10_001.0, 2.0, 3.0, 10_000.0])
    xp = exceedance_probabilities(alpha)
    assert xp.sum() == pytest.approx(1.0, abs=1e-9)
    assert xp[0] == pytest.approx(special.ndtr(1.0 / np.sqrt(2 * 10_000.5)), abs=1e-4)


@pytest.mark.parametrize("k", [2, 3])
def test_identical_evidence_leaves_no_model_ahead(k: int) -> None:
    risks = []
    for n in (10, 50, 200):
        result = random_effects_bms(np.full((n, k), -55.0))
        assert result.xp == pytest.approx(np.full(k, 1 / k), abs=1e-9)
        assert result.pxp == pytest.approx(np.full(k, 1 / k), abs=1e-9)
        assert result.g == pytest.approx(np.full((n, k), 1 / k))
        risks.append(result.bor)
    assert risks[0] > 0.5 and risks[0] < risks[1] < risks[2]  # towards 1 with more data


def test_overwhelming_evidence_for_one_model() -> None:
    lme = np.column_stack([np.full(30, -20.0), np.full(30, -45.0), np.full(30, -60.0)])
    result = random_effects_bms(lme)
    assert result.xp[0] == pytest.approx(1.0, abs=1e-9)
    assert result.bor < 1e-9
    assert result.pxp[0] == pytest.approx(1.0, abs=1e-9)
    assert np.all(result.g[:, 0] > 1 - 1e-9)


def test_one_model_has_probability_one_and_no_omnibus_risk() -> None:
    result = random_effects_bms(np.full((4, 1), -10.0))
    assert result.frequency.tolist() == [1.0] and result.xp.tolist() == [1.0]
    assert result.pxp.tolist() == [1.0] and np.isnan(result.bor)
    assert result.g.tolist() == [[1.0]] * 4


@pytest.mark.parametrize("lme", [np.zeros(3), np.zeros((0, 2)), np.array([[0.0, np.nan]])])
def test_bad_evidence_is_refused(lme: np.ndarray) -> None:
    with pytest.raises(ValueError, match="log evidences"):
        random_effects_bms(lme)

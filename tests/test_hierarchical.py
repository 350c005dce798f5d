"""The non-centred helper: shapes, standard-normal offsets, theta = link(mu + offset * sd)."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from numpyro import handlers
from synthetic import random_trials

from cogfit.hierarchical import (
    SD_DISTRIBUTIONS,
    hierarchical_model,
    hierarchical_param,
    prior_median_point,
)
from cogfit.links import LINKS, get_link
from cogfit.models import ParamSpec, all_models
from cogfit.models.spec import SD_PRIORS
from cogfit.names import (
    LEVELS,
    LOG_LIK_SITE,
    OBSERVED,
    parameters_text,
    recorded_parameters,
    site_name,
    site_names,
    variable_roles,
)
from cogfit.schema import subschema

MODELS = all_models()
PHI = np.vectorize(lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))))
CLOSED_FORMS = {
    "probit": PHI,
    "logistic": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "scaled_probit": lambda x: 7.5 * PHI(x),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "exp": np.exp,
    "identity": lambda x: x,
}


@pytest.mark.parametrize("link", sorted(LINKS))
def test_links_match_closed_forms(link: str) -> None:
    x = np.linspace(-4, 4, 41)
    got = np.asarray(get_link(link, 7.5 if link == "scaled_probit" else None)(x))
    np.testing.assert_allclose(got, CLOSED_FORMS[link](x), rtol=1e-5, atol=1e-6)


def test_probit_tails_and_slope() -> None:
    """Phi as one erfc keeps relative accuracy deep in the lower tail (where rates near 0
    live) and its derivative is the normal density; references from ``math``."""
    x = np.concatenate([np.linspace(-12.0, -4.0, 33), np.linspace(-4.0, 8.0, 49)])
    lower = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])
    got = np.asarray(get_link("probit")(x.astype(np.float32)), np.float64)
    np.testing.assert_allclose(got, lower, rtol=5e-5)
    slope = np.asarray(jax.vmap(jax.grad(get_link("probit")))(x.astype(np.float32)))
    density = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(slope, density, rtol=1e-4, atol=1e-12)


def _base(fn):  # noqa: ANN001, ANN202
    """The distribution under a plate's expansion."""
    return getattr(fn, "base_dist", fn)


def _trace(fn, *args, seed: int = 0):  # noqa: ANN001, ANN202
    return handlers.trace(handlers.seed(fn, jax.random.PRNGKey(seed))).get_trace(*args)


@pytest.mark.parametrize(
    "spec",
    [p for m in MODELS.values() for p in m.params],
    ids=lambda p: f"{p.name}-{p.link}",
)
def test_helper_shapes_and_non_centred_form(spec: ParamSpec) -> None:
    n_p, n_g = 9, 3
    group_index = np.array([0, 1, 2, 0, 1, 2, 0, 0, 1])
    tr = _trace(hierarchical_param, spec, n_p, group_index, n_g)
    s = site_names(spec.name)
    assert tr[s["mu"]]["value"].shape == (n_g,)
    assert tr[s["sigma"]]["value"].shape == (n_g,)
    assert tr[s["offset"]]["value"].shape == (n_p,)
    assert tr[s["theta"]]["value"].shape == (n_p,)
    assert tr[s["mu_natural"]]["value"].shape == (n_g,)
    offset_fn = _base(tr[s["offset"]]["fn"])
    assert float(offset_fn.loc) == 0.0 and float(offset_fn.scale) == 1.0  # standard normal
    mu_fn, sd_fn = _base(tr[s["mu"]]["fn"]), _base(tr[s["sigma"]]["fn"])
    assert float(mu_fn.loc) == spec.mean_loc and float(mu_fn.scale) == spec.mean_scale
    sd_family = {"half_normal": "HalfNormal", "half_cauchy": "HalfCauchy"}[spec.sd_prior]
    assert type(sd_fn).__name__ == sd_family and float(sd_fn.scale) == spec.sd_scale
    mu = np.asarray(tr[s["mu"]]["value"], float)
    sd = np.asarray(tr[s["sigma"]]["value"], float)
    z = np.asarray(tr[s["offset"]]["value"], float)
    link = (
        CLOSED_FORMS[spec.link] if spec.link != "scaled_probit" else (lambda x: spec.upper * PHI(x))
    )
    expected = link(mu[group_index] + z * sd[group_index])
    np.testing.assert_allclose(np.asarray(tr[s["theta"]]["value"]), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(tr[s["mu_natural"]]["value"]), link(mu), rtol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_parameter_of_every_model_is_hierarchical(name: str) -> None:
    model = MODELS[name]
    data = random_trials(model.spec, 5, 8)
    tr = _trace(
        hierarchical_model,
        model,
        data.scan_inputs(model),
        np.array([0, 0, 1, 1, 1]),
        2,
        data.n_options,
    )
    samples = {k for k, v in tr.items() if v["type"] == "sample" and not v.get("is_observed")}
    expected = {site_names(p)[k] for p in model.param_names for k in ("mu", "sigma", "offset")}
    assert samples == expected  # nothing sampled outside the non-centred triples
    derived = {k for k, v in tr.items() if v["type"] == "deterministic"}
    assert derived == {
        site_names(p)[k] for p in model.param_names for k in ("theta", "mu_natural")
    } | {LOG_LIK_SITE}
    assert OBSERVED in tr  # the likelihood factor


def test_the_naming_contract() -> None:
    """The variable names of posterior.nc, which users' own code reads: pinned here."""
    assert site_names("alpha") == {
        "mu": "alpha_mu",
        "sigma": "alpha_sigma",
        "offset": "alpha_offset",
        "theta": "alpha",
        "mu_natural": "alpha_mu_natural",
    }
    assert set(LEVELS.values()) == {"group", "participant"}
    assert [r for r, level in LEVELS.items() if level == "participant"] == ["offset", "theta"]
    with pytest.raises(KeyError, match="roles"):
        site_name("alpha", "median")


def test_names_read_back_by_lookup() -> None:
    """Every site maps back to its parameter and role, even where one parameter's name
    starts with another's (alpha, alpha_pos)."""
    params = ["alpha", "alpha_pos", "beta"]
    roles = variable_roles(params)
    assert roles == {site_name(p, r): (p, r) for p in params for r in LEVELS}
    assert roles["alpha_pos_mu"] == ("alpha_pos", "mu")
    assert "alpha_pos_natural" not in roles
    assert recorded_parameters({"parameters": parameters_text(params)}) == params
    assert recorded_parameters({}) == []


def test_standard_normal_offsets_empirically() -> None:
    """Across many prior draws the offsets are N(0, 1) whatever mu and sigma are."""
    spec = ParamSpec("alpha", "probit", mean_loc=2.0, mean_scale=0.1, sd_scale=3.0)
    z = np.concatenate(
        [
            np.asarray(
                _trace(hierarchical_param, spec, 500, np.zeros(500, int), 1, seed=s)[
                    "alpha_offset"
                ]["value"]
            )
            for s in range(8)
        ]
    )
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05


@pytest.mark.parametrize("sd_prior", sorted(SD_PRIORS))
def test_group_sd_prior_density_and_median(sd_prior: str) -> None:
    """The group sd's log density is the half-normal's or half-Cauchy's written out, and
    the start point sits at its median (scale * Phi^-1(0.75), or the scale itself)."""
    scale = 0.7
    spec = ParamSpec("alpha", "probit", sd_scale=scale, sd_prior=sd_prior)
    site = site_names("alpha")["sigma"]
    tr = _trace(hierarchical_param, spec, 4, np.zeros(4, int), 2)
    x = np.array([0.05, 0.7, 3.0, 40.0])
    got = np.asarray(_base(tr[site]["fn"]).log_prob(x), float)
    if sd_prior == "half_normal":
        ref = np.log(2.0) - 0.5 * np.log(2 * np.pi * scale**2) - x**2 / (2 * scale**2)
        median = scale * 0.6744897501960817
    else:
        ref = np.log(2.0 / (np.pi * scale * (1.0 + (x / scale) ** 2)))
        median = scale
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    model = MODELS["rw"].with_priors({"alpha": {"sd_scale": scale, "sd_prior": sd_prior}})
    point = prior_median_point(model, 3, 2)
    np.testing.assert_allclose(np.exp(np.asarray(point[site])), [median, median], rtol=1e-5)


def test_sd_prior_names_are_the_schemas() -> None:
    """One list of sd priors: the config schema's enum, the spec's and the distributions."""
    path = ("datasets", "example", "priors", "alpha", "sd_prior")
    assert subschema(path)["enum"] == list(SD_PRIORS) == list(SD_DISTRIBUTIONS)

"""The NumPyro internals cogfit relies on (:mod:`cogfit.numpyro_adapter`), checked against
the installed NumPyro: a failure here after an upgrade names what changed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer import NUTS
from numpyro.infer.hmc import HMCState
from numpyro.infer.hmc_util import HMCAdaptState, _initialize_mass_matrix, dual_averaging
from packaging.specifiers import SpecifierSet

from cogfit import numpyro_adapter as adapter

MASS_BLOCK = ("a", "b")  # a dense mass block over both sites, in NumPyro's dense_mass form
CHAINS = 2


def model() -> None:
    a = numpyro.sample("a", dist.Normal(jnp.zeros(2), 1.0))
    b = numpyro.sample("b", dist.Normal(0.0, 2.0))
    numpyro.sample("y", dist.Normal(a.sum() + b, 1.0), obs=jnp.array(0.7))


def _dense_inverse() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 3))
    return x @ x.T + 3 * np.eye(3)


def _init(kernel: NUTS) -> HMCState:
    """Two vectorised chains (as cogfit's ``vectorized`` chains start) from fixed points."""
    keys = jax.random.split(jax.random.PRNGKey(3), CHAINS)
    params = {"a": jnp.array([[0.1, -0.2], [0.3, 0.4]]), "b": jnp.array([0.5, -0.6])}
    return kernel.init(keys, 10, params, model_args=(), model_kwargs={})


def test_supported_range_is_pyprojects_and_installed() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert f"numpyro{adapter.SUPPORTED}" in pyproject["project"]["dependencies"]
    assert numpyro.__version__ in SpecifierSet(adapter.SUPPORTED), (
        f"NumPyro {numpyro.__version__} is outside the range cogfit.numpyro_adapter is "
        f"written for ({adapter.SUPPORTED}): check its internals, then widen the range"
    )


def test_state_layouts_are_numpyros() -> None:
    assert set(adapter.STATE_FIELDS) <= set(HMCState._fields), HMCState._fields
    assert HMCAdaptState._fields == adapter.ADAPT_STATE_FIELDS, HMCAdaptState._fields
    ss_init, _ = dual_averaging()
    state = ss_init(1.5)
    assert isinstance(state, tuple) and len(state) == len(adapter.DUAL_AVERAGING_FIELDS)
    assert [float(x) for x in state] == [0.0, 0.0, 0.0, 0.0, 1.5]


def test_kernel_reads_its_start_metric_from_the_private_attribute() -> None:
    kernel = NUTS(model)
    assert hasattr(kernel, "_inverse_mass_matrix") and kernel._inverse_mass_matrix is None
    metric = jnp.array([0.5, 2.0, 3.0])
    with adapter.start_metric(kernel, metric):
        state = _init(kernel)
    assert kernel._inverse_mass_matrix is None  # restored
    # NumPyro keeps a metric per mass block of sites; all sites, in name order, without any
    got = adapter.adapt_state(state).inverse_mass_matrix
    assert list(got) == [MASS_BLOCK]
    np.testing.assert_allclose(got[MASS_BLOCK], np.broadcast_to(metric, (CHAINS, 3)))
    with adapter.start_metric(kernel, None):  # None: the kernel's own (a unit metric)
        state = _init(kernel)
    np.testing.assert_allclose(adapter.adapt_state(state).inverse_mass_matrix[MASS_BLOCK], 1.0)


def test_fields_and_iteration_read_a_real_state() -> None:
    kernel = NUTS(model)
    state = kernel.sample(_init(kernel), (), {})
    step, diverging = adapter.field_getter("adapt_state.step_size", "diverging")(state)
    assert np.shape(step) == (CHAINS,) and np.shape(diverging) == (CHAINS,)
    np.testing.assert_array_equal(adapter.iteration(state), [1, 1])
    replaced = adapter.with_adapt_state(state, adapter.adapt_state(state))
    assert type(replaced) is type(state) and replaced._fields == state._fields


@pytest.mark.parametrize("dim", [1, 3, 7])
def test_metric_factors_are_numpyros(dim: int) -> None:
    """The factors set on the host are those NumPyro's own initialisation computes."""
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(dim, dim))
    inverse = a @ a.T + dim * np.eye(dim)
    sites = ("x",)
    want = _initialize_mass_matrix({"x": jnp.zeros(dim)}, {sites: jnp.asarray(inverse)}, [sites])
    got = adapter.mass_matrix_factors(inverse)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, np.asarray(w[sites]), rtol=2e-4, atol=1e-5)
    # what the factors are for: the momentum covariance sqrt @ sqrt.T is the metric
    np.testing.assert_allclose(got[1] @ got[1].T, np.linalg.inv(inverse), rtol=1e-6, atol=1e-9)


def test_dense_metric_replacement_is_numpyros_own_start() -> None:
    """A dense metric set with :func:`with_dense_metric` gives the adaptation state NumPyro
    builds when it starts with that metric (fixed step size, so the two agree entirely),
    and the kernel then moves the chains as it would from its own start."""
    inverse = _dense_inverse()
    common = {"dense_mass": [MASS_BLOCK], "adapt_mass_matrix": False, "adapt_step_size": False}
    own = NUTS(model, inverse_mass_matrix={MASS_BLOCK: inverse}, step_size=0.3, **common)
    ours = NUTS(model, step_size=0.3, **common)  # starts with the identity
    want, start = _init(own), _init(ours)
    adapt = adapter.adapt_state(start)
    new = adapter.with_dense_metric(adapt, {MASS_BLOCK: inverse}, CHAINS)
    placed = jax.tree.map(lambda old, value: jnp.asarray(value, old.dtype), adapt, new)
    assert jax.tree.structure(placed) == jax.tree.structure(adapter.adapt_state(want))
    for name, w, g in zip(
        adapter.ADAPT_STATE_FIELDS, adapter.adapt_state(want), placed, strict=True
    ):
        for wl, gl in zip(jax.tree.leaves(w), jax.tree.leaves(g), strict=True):
            np.testing.assert_allclose(gl, wl, rtol=1e-5, atol=1e-6, err_msg=name)
    moved = ours.sample(adapter.with_adapt_state(start, placed), (), {})
    reference = own.sample(want, (), {})
    for name in ("z", "potential_energy", "num_steps"):
        for wl, gl in zip(
            jax.tree.leaves(getattr(reference, name)),
            jax.tree.leaves(getattr(moved, name)),
            strict=True,
        ):
            np.testing.assert_allclose(gl, wl, rtol=1e-5, atol=1e-6, err_msg=name)


def test_restarted_dual_averaging_is_numpyros_window_start() -> None:
    """The step-size adaptation restarts as NumPyro's ``dual_averaging`` init at
    ``log(10 * step size)``, per chain."""
    kernel = NUTS(model)
    adapt = adapter.adapt_state(kernel.sample(_init(kernel), (), {}))
    ss_init, _ = dual_averaging()
    want = jax.vmap(ss_init)(jnp.log(10 * adapt.step_size))
    got = adapter.restarted_dual_averaging(adapt)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)
        assert np.shape(g) == np.shape(w)

"""Chains run in segments (several executions of one program) give one run's draws."""

from __future__ import annotations

import json
import subprocess
import sys

from cogfit.segments import segment_lengths


def test_segment_lengths_split_warmup_and_draws_apart() -> None:
    assert segment_lengths(250, 100, 100) == [(100, False), (100, False), (50, False), (100, True)]
    assert segment_lengths(30, 20, 100) == [(30, False), (20, True)]
    assert segment_lengths(0, 7, 3) == [(3, True), (3, True), (1, True)]


# two CPU devices (one chain each), float64 so that two compilations of the same arithmetic
# agree to rounding and NUTS's trajectories do not part ways
CHECK = """
from cogfit.fit import configure_xla
configure_xla(2)
import json, logging, io
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from numpyro.infer import MCMC, NUTS
from cogfit.fit import SamplerSettings, fit
from cogfit.hierarchical import hierarchical_model
from cogfit.models import REGISTRY
from cogfit.segments import run_in_segments
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit

rng = np.random.default_rng(4)
n_p, n_t = 12, 60
alpha, beta = rng.uniform(0.2, 0.6, n_p), rng.uniform(2.0, 6.0, n_p)
c, o, v = simulate_bandit("rw", {"alpha": alpha, "beta": beta}, reversal_schedule(n_t), rng)
data = as_task_data(c, o, v)
args = (REGISTRY["rw"], data.choices, data.outcomes, data.mask, data.group_index,
        data.n_groups, 2, "sequential", 5)  # likelihood in blocks of 5 participants
fields = ("diverging", "num_steps", "adapt_state.step_size")
key = jax.random.PRNGKey(11)
mcmc = MCMC(NUTS(hierarchical_model), num_warmup=24, num_samples=14, num_chains=2,
            chain_method="parallel", progress_bar=False)
mcmc.run(key, *args, extra_fields=fields)
short = run_in_segments(NUTS(hierarchical_model), key, args, 24, 14, 2, 7, extra_fields=fields)
out = {"max_diff": {}}
ref, ref_extra = mcmc.get_samples(group_by_chain=True), mcmc.get_extra_fields(group_by_chain=True)
for name, value in ref.items():
    got = short.get_samples(group_by_chain=True)[name]
    assert got.shape == value.shape, (name, got.shape, value.shape)
    out["max_diff"][name] = float(np.abs(np.asarray(value) - got).max())
for name, value in ref_extra.items():
    got = short.get_extra_fields(group_by_chain=True)[name]
    out["max_diff"][name] = float(np.abs(np.asarray(value, float) - got.astype(float)).max())
out["flat_shape"] = list(short.get_samples()["alpha"].shape)

# warm-up draws on the unconstrained scale, as the dense metric's estimate reads them
warm = MCMC(NUTS(hierarchical_model), num_warmup=16, num_samples=1, num_chains=2,
            chain_method="parallel", progress_bar=False, postprocess_fn=lambda z: z)
warm.warmup(key, *args, collect_warmup=True)
seg = run_in_segments(NUTS(hierarchical_model), key, args, 16, 0, 2, 7,
                      collect_warmup=True, constrain=False)
out["warmup_sites"] = sorted(seg.get_samples())
for name, value in warm.get_samples(group_by_chain=True).items():
    got = seg.get_samples(group_by_chain=True)[name]
    assert got.shape == value.shape, (name, got.shape, value.shape)
    out["max_diff"]["warmup " + name] = float(np.abs(np.asarray(value) - got).max())
for name, value in warm.post_warmup_state.z.items():
    diff = np.abs(np.asarray(value) - seg.last_state.z[name])
    out["max_diff"]["last " + name] = float(diff.max())

# a fit with blocks and parallel chains takes this path and says so
log = io.StringIO()
logger = logging.getLogger("cogfit")
logger.addHandler(logging.StreamHandler(log))
logger.setLevel(logging.INFO)
# a block metric: its diagonal first phase (23 iterations) runs in segments too
settings = SamplerSettings(chains=2, warmup=30, samples=20, cpu_block_trials=60, metric="block")
idata = fit("rw", data, settings, dataset="segments")
out["fit_shape"] = list(idata.posterior["alpha"].shape)
text = log.getvalue()
out["fit_logged"] = ("then a block metric" in text and "2 chains in 1 segment of" in text
                     and "2 chains in 2 segments" in text)
out["fit_finite"] = bool(np.isfinite(idata.log_likelihood["choice"].values).all())
print(json.dumps(out))
"""


def test_segmented_chains_give_numpyros_draws_and_serve_fits() -> None:
    """Against NumPyro's own ``MCMC.run`` (one execution): the same draws, step sizes,
    tree sizes and divergences (float64, to rounding) with segments of 7 iterations
    (warm-up 24 = 7 + 7 + 7 + 3, draws 7 + 7); collected warm-up draws on the
    unconstrained scale and the last state against ``MCMC.warmup``'s (what the dense
    metric's estimate reads); and a fit with participant blocks, parallel chains and a
    block metric runs both phases this way."""
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(out["max_diff"]) >= {"alpha", "alpha_mu", "beta_sigma", "num_steps", "diverging"}
    for name, diff in out["max_diff"].items():
        assert diff < 1e-7, (name, diff)
    assert out["flat_shape"] == [28, 12]
    assert out["warmup_sites"] == [
        "alpha_mu",
        "alpha_offset",
        "alpha_sigma",
        "beta_mu",
        "beta_offset",
        "beta_sigma",
    ]  # no deterministic sites
    assert out["fit_shape"] == [2, 20, 12]
    assert out["fit_logged"]
    assert out["fit_finite"]

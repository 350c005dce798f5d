"""Chains moved on by one compiled program in several executions give one run's draws."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from cogfit.segments import pieces


def test_pieces_cut_a_phase_into_executions() -> None:
    assert pieces(250, 100) == [100, 100, 50]
    assert pieces(30, 100) == [30]
    assert pieces(7, 3) == [3, 3, 1]
    assert pieces(0, 5) == []


# two CPU devices (one chain each), float64 so that two compilations of the same arithmetic
# agree to rounding and NUTS's trajectories do not part ways
CHECK = """
from cogfit.runtime import configure_xla
configure_xla(2)
import json, logging, io
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from numpyro.infer import MCMC, NUTS
from cogfit.fit import SamplerSettings, fit
from cogfit.hierarchical import hierarchical_model
from cogfit.models import get_model
from cogfit.models.catalog import DELTA_RULE_SPECS
from cogfit.names import OBSERVED
import cogfit.segments as segments
from cogfit.segments import Chains
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit

MODELS = {s.name: get_model(s.name) for s in DELTA_RULE_SPECS}
traces = []  # the NUTS program's Python function runs only when JAX traces it
program = segments.Chains._program
def counted(self, batched=False):
    run = program(self, batched)
    def traced(*a):
        traces.append(1)
        return run(*a)
    return traced
segments.Chains._program = counted

rng = np.random.default_rng(4)
n_p, n_t = 12, 60
alpha, beta = rng.uniform(0.2, 0.6, n_p), rng.uniform(2.0, 6.0, n_p)
c, o, v = simulate_bandit("rw", {"alpha": alpha, "beta": beta}, reversal_schedule(n_t), rng)
data = as_task_data(c, o, v)
args = (MODELS["rw"], data.scan_inputs(MODELS["rw"]), data.group_index,
        data.n_groups, 2, "sequential", 5)  # likelihood in chunks of 5 participants
fields = ("diverging", "num_steps", "adapt_state.step_size")
key = jax.random.PRNGKey(11)
out = {"max_diff": {}, "traces": {}}

def compare(tag, ref_samples, ref_extra, got_samples, got_extra):
    for name, value in ref_samples.items():
        got = got_samples[name]
        assert got.shape == value.shape, (tag, name, got.shape, value.shape)
        out["max_diff"][f"{tag} {name}"] = float(np.abs(np.asarray(value) - got).max())
    for name, value in ref_extra.items():
        got = got_extra[name].astype(float)
        out["max_diff"][f"{tag} {name}"] = float(np.abs(np.asarray(value, float) - got).max())

for method in ("parallel", "sequential", "vectorized"):
    mcmc = MCMC(NUTS(hierarchical_model), num_warmup=24, num_samples=14, num_chains=2,
                chain_method=method, progress_bar=False)
    mcmc.run(key, *args, extra_fields=fields)
    before = len(traces)
    chains = Chains(NUTS(hierarchical_model), key, args, 24, 2, method, length=7,
                    extra_fields=fields)
    # warm-up 24 = 7 + 7 + 7 + 3 and draws 14 = 7 + 7: six executions of one program
    run = chains.advance((24, False), (14, True))
    out["traces"][method] = len(traces) - before
    compare(method, mcmc.get_samples(group_by_chain=True),
            mcmc.get_extra_fields(group_by_chain=True),
            run.get_samples(group_by_chain=True), run.get_extra_fields(group_by_chain=True))
    if method == "parallel":
        out["flat_shape"] = list(run.get_samples()["alpha"].shape)

# the values NUTS moves in, as a metric estimate reads them: MCMC with an identity
# postprocess keeps those too
mcmc = MCMC(NUTS(hierarchical_model), num_warmup=10, num_samples=6, num_chains=2,
            progress_bar=False, postprocess_fn=lambda z: z)
mcmc.run(key, *args)
chains = Chains(NUTS(hierarchical_model), key, args, 10, 2, "parallel", length=4,
                unconstrained=True)
run = chains.advance((10, False), (6, True))
out["unconstrained_sites"] = sorted(run.unconstrained)
compare("unconstrained", mcmc.get_samples(group_by_chain=True), {}, run.unconstrained, {})

# start values and start metric known only as shapes when the programs are built (the
# fit's ADVI start comes later): the draws of a kernel given both from the outset
from cogfit.hierarchical import prior_median_point
point = prior_median_point(MODELS["rw"], n_p, 1)
start = {k: np.asarray(v) + rng.normal(0, 0.3, (2, *np.shape(v))) for k, v in point.items()}
dim = sum(np.size(v) for v in point.values())
diag = rng.uniform(0.2, 2.0, dim)
for method in ("parallel", "sequential", "vectorized"):
    mcmc = MCMC(NUTS(hierarchical_model, inverse_mass_matrix=diag), num_warmup=12,
                num_samples=5, num_chains=2, chain_method=method, progress_bar=False)
    mcmc.run(key, *args, init_params=start, extra_fields=fields)
    shapes = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), (start, diag))
    chains = Chains(NUTS(hierarchical_model), key, args, 12, 2, method, *shapes, length=5,
                    extra_fields=fields)
    out[f"moves_before_start {method}"] = False
    try:
        chains.advance((1, False))
    except RuntimeError:
        pass
    else:
        out[f"moves_before_start {method}"] = True
    chains.start(start, diag)
    run = chains.advance((12, False), (5, True))
    compare(f"{method} started later", mcmc.get_samples(group_by_chain=True),
            mcmc.get_extra_fields(group_by_chain=True),
            run.get_samples(group_by_chain=True), run.get_extra_fields(group_by_chain=True))

# a new metric set on the host: the chains go on in the same program, with it
kernel = NUTS(hierarchical_model, dense_mass=[("alpha_mu", "alpha_sigma")],
              adapt_mass_matrix=False)
chains = Chains(kernel, key, args, 20, 2, "parallel", length=10)
chains.advance((5, False))
before = len(traces)
chains.set_metric({("alpha_mu", "alpha_sigma"): np.array([[2.0, 0.5], [0.5, 1.0]])})
chains.advance((5, False), (3, True))
out["set_metric_traces"] = len(traces) - before
adapt = chains.state.adapt_state
out["metric"] = np.asarray(adapt.inverse_mass_matrix[("alpha_mu", "alpha_sigma")]).tolist()

# a fit with participant chunks, parallel chains and mass blocks runs it all this way
log = io.StringIO()
logger = logging.getLogger("cogfit")
logger.addHandler(logging.StreamHandler(log))
logger.setLevel(logging.INFO)
settings = SamplerSettings(chains=2, warmup=30, samples=20, cpu_chunk_trials=60,
                           metric="mass_blocks")
idata = fit("rw", data, settings, dataset="segments")
out["fit_shape"] = list(idata.posterior["alpha"].shape)
text = log.getvalue()
out["fit_logged"] = ("mass_blocks metric set from" in text
                     and "executions of at most 100 iterations" in text)
out["fit_finite"] = bool(np.isfinite(idata.log_likelihood[OBSERVED].values).all())
print(json.dumps(out))
"""


def test_chains_give_numpyros_draws_in_one_program() -> None:
    """Against NumPyro's own ``MCMC.run`` (one execution) for each chain method: the same
    draws, step sizes, tree sizes and divergences (float64, to rounding) from executions
    of at most 7 iterations, with one compilation of the NUTS program; the same when the
    start values and start metric are only shapes while the programs are built (and
    given to a kernel without them), against a kernel given both; the unconstrained
    draws a metric estimate reads; a metric set on the host between executions compiles
    nothing; and a fit with participant chunks, parallel chains and a mass-blocks metric."""
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for method in ("parallel", "sequential", "vectorized"):
        for tag in (method, f"{method} started later"):
            assert {f"{tag} alpha", f"{tag} beta_sigma", f"{tag} num_steps"} <= set(out["max_diff"])
        assert out[f"moves_before_start {method}"] is False
    # float64 rounding differs between separately compiled programs, and NUTS's
    # trajectories amplify it (up to ~1e-6 after 38 iterations here); a wrong key, start
    # or iteration count differs by O(1)
    for name, diff in out["max_diff"].items():
        assert diff < 1e-5, (name, diff)
    assert out["traces"] == {"parallel": 1, "sequential": 1, "vectorized": 1}
    assert out["flat_shape"] == [28, 12]
    assert out["unconstrained_sites"] == [
        "alpha_mu",
        "alpha_offset",
        "alpha_sigma",
        "beta_mu",
        "beta_offset",
        "beta_sigma",
    ]  # no deterministic sites
    assert out["set_metric_traces"] == 0
    assert np.allclose(out["metric"], [[[2.0, 0.5], [0.5, 1.0]]] * 2)
    assert out["fit_shape"] == [2, 20, 12]
    assert out["fit_logged"]
    assert out["fit_finite"]

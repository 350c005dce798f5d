"""Device and precision handling: a clear error for a missing GPU, float32 accurate enough."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest
from numpyro.infer.util import log_density

from cogfit.data import TaskData
from cogfit.errors import ConfigError
from cogfit.fit import SamplerSettings, fit
from cogfit.hierarchical import hierarchical_model
from cogfit.models import get_model
from cogfit.models.catalog import DELTA_RULE_SPECS
from cogfit.names import OBSERVED
from cogfit.runtime import participant_chunk, precision, select_device
from cogfit.simulate import as_task_data, reversal_schedule, simulate_bandit

MODELS = {s.name: get_model(s.name) for s in DELTA_RULE_SPECS}


def _has_gpu() -> bool:
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


@pytest.mark.skipif(_has_gpu(), reason="this machine has a GPU")
def test_gpu_requested_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="sees no GPU"):
        select_device("gpu")
    assert select_device("auto") == "cpu"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("precision", "float16", "one of ['float32', 'float64']"),
        ("device", "tpu", "one of ['auto', 'cpu', 'gpu']"),
        ("scan", "parallel", "one of ['auto', 'sequential', 'associative']"),
        ("cpu_chunk_trials", -1, "an integer >= 0"),
        ("chains", 0, "an integer >= 1"),
    ],
)
def test_bad_settings_are_refused(key: str, value: object, expected: str) -> None:
    """From the config, a bad sampler value is the schema's one-line error naming the key."""
    with pytest.raises(ConfigError) as info:
        SamplerSettings.from_config({key: value})
    message = str(info.value)
    assert message.startswith(f"config key sampler.{key}: {value!r} is ") and "\n" not in message
    assert f"; expected {expected}" in message


def _data(n_p: int = 30, n_t: int = 150, seed: int = 0) -> TaskData:
    rng = np.random.default_rng(seed)
    params = {"alpha": rng.uniform(0.1, 0.6, n_p), "beta": rng.uniform(1, 8, n_p)}
    sim = simulate_bandit("rw", params, reversal_schedule(n_t), rng, 0.05)
    return as_task_data(*sim, group_index=np.arange(n_p) % 2, groups=("a", "b"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_float32_log_density_matches_float64(name: str) -> None:
    model, data = MODELS[name], _data()
    rng = np.random.default_rng(1)
    values = {}
    for spec in model.params:
        values[f"{spec.name}_mu"] = rng.normal(0, 0.5, data.n_groups)
        values[f"{spec.name}_sigma"] = rng.uniform(0.1, 0.8, data.n_groups)
        values[f"{spec.name}_offset"] = rng.normal(0, 1, data.n_participants)

    def density(dtype: str) -> float:
        with precision(dtype):
            trials = {  # the real-valued columns in this precision, as a fit has them
                k: v.astype(dtype) if np.issubdtype(v.dtype, np.floating) else v
                for k, v in data.scan_inputs(model).items()
            }
            args = (
                model,
                trials,
                data.group_index,
                data.n_groups,
                data.n_options,
            )
            params = {k: jax.numpy.asarray(v.astype(dtype)) for k, v in values.items()}
            lp, _ = log_density(hierarchical_model, args, {}, params)
            assert lp.dtype == np.dtype(dtype)
            return float(lp)

    lp32, lp64 = density("float32"), density("float64")
    # a few thousand trials: float32 keeps the total to ~1e-5 relative, far below MC error
    assert abs(lp32 - lp64) <= 1e-5 * abs(lp64) + 1e-3, (lp32, lp64)


def test_float64_fit_keeps_float64_draws() -> None:
    settings = SamplerSettings(chains=1, warmup=20, samples=20, precision="float64")
    idata = fit("rw", _data(8, 40), settings, dataset="x64")
    assert idata.posterior["alpha_mu"].dtype == np.float64
    assert idata.log_likelihood[OBSERVED].dtype == np.float64
    assert idata.posterior.attrs["precision"] == "float64"
    assert idata.posterior.attrs["platform"] == "cpu"


def test_associative_scan_fit_samples_the_same_posterior_family() -> None:
    """A real (tiny) NUTS run through the associative likelihood gives finite draws."""
    settings = SamplerSettings(chains=1, warmup=30, samples=30, scan="associative")
    idata = fit("rw_persev", _data(8, 40), settings, dataset="assoc")
    assert np.isfinite(idata.posterior["kappa_mu"].values).all()
    assert '"scan": "associative"' in idata.posterior.attrs["sampler_settings"]
    assert idata.posterior.attrs["scan"] == "associative"


def test_scan_auto_is_associative_only_on_a_gpu_for_affine_models() -> None:
    from cogfit.config import check_config
    from cogfit.runtime import resolve_scan

    affine, other = MODELS["rw"], MODELS["rw_dual"]
    assert affine.linear is not None and other.linear is None
    assert resolve_scan("auto", "gpu", affine) == "associative"
    assert resolve_scan("auto", "gpu", other) == "sequential"
    assert resolve_scan("auto", "cpu", affine) == "sequential"
    assert resolve_scan("sequential", "gpu", affine) == "sequential"  # the user's choice
    assert resolve_scan("associative", "cpu", affine) == "associative"
    with pytest.raises(ConfigError, match=r"^config key sampler\.scan: 'parallel' is not"):
        SamplerSettings.from_config({"scan": "parallel"})
    # auto never asks for what a model cannot do; an explicit associative scan is refused
    columns = {"participant": "p", "choice": "c", "outcome": "o"}  # what the models read
    dataset = {"models": ["rw", "rw_dual"], "columns": columns}
    config = {"datasets": {"d": dataset}, "sampler": {"scan": "auto"}}
    check_config(config)
    config["sampler"]["scan"] = "associative"
    with pytest.raises(ConfigError, match="'rw_dual'.*no affine state update"):
        check_config(config)
    # a default fit records the scan it ran; on the CPU, sequential (in chunks when large)
    assert participant_chunk(SamplerSettings(), "cpu", 10_000, 200) == 500
    idata = fit("rw", _data(6, 30), SamplerSettings(chains=1, warmup=20, samples=20), dataset="a")
    assert idata.posterior.attrs["scan"] == ("associative" if _has_gpu() else "sequential")


def test_configure_xla_adds_defaults_and_keeps_the_users_choice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cogfit.runtime import configure_xla

    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2 --xla_dump_to=/x")
    configure_xla(4)
    flags = os.environ["XLA_FLAGS"].split()
    assert flags.count("--xla_force_host_platform_device_count=4") == 1
    assert not any(f.endswith("device_count=2") for f in flags)
    assert "--xla_dump_to=/x" in flags
    assert "--xla_cpu_copy_insertion_use_region_analysis=true" in flags
    # an explicit setting wins and is not repeated
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_copy_insertion_use_region_analysis=false")
    configure_xla(1)
    flags = os.environ["XLA_FLAGS"].split()
    assert [f for f in flags if "copy_insertion" in f] == [
        "--xla_cpu_copy_insertion_use_region_analysis=false"
    ]
    ours = (
        "xla_cpu_small_while_loop_byte_threshold=1000000000,"
        "xla_cpu_disable_new_fusion_emitters=true"
    )
    assert f"--xla_backend_extra_options={ours}" in flags

    def extra_options(user: str) -> list[str]:
        monkeypatch.setenv("XLA_FLAGS", f"--xla_backend_extra_options={user}")
        configure_xla(1)
        return [f for f in os.environ["XLA_FLAGS"].split() if "extra_options" in f]

    # the backend's option map: the user's entries kept, ours added unless already there
    assert extra_options("foo,bar=2") == [f"--xla_backend_extra_options=foo,bar=2,{ours}"]
    assert extra_options("xla_cpu_small_while_loop_byte_threshold=0") == [
        "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=0,"
        "xla_cpu_disable_new_fusion_emitters=true"
    ]
    # XLA reads a boolean option by presence, so "false" turns one of ours off by leaving it out
    assert extra_options("xla_cpu_disable_new_fusion_emitters=FALSE,x=1") == [
        "--xla_backend_extra_options=x=1,xla_cpu_small_while_loop_byte_threshold=1000000000"
    ]


def test_jax_runs_with_cogfits_xla_options() -> None:
    """The options are real XLA flags (an unknown one aborts the process at start), and
    XLA:CPU compiles a loop with 4 kB of state (above its default 1 kB) as one kernel."""
    import subprocess
    import sys

    code = """
from cogfit.runtime import configure_xla
configure_xla(2)
import jax, jax.numpy as jnp
f = jax.jit(lambda x: jax.lax.scan(lambda c, y: (c * y + 1, None), jnp.zeros(1000), x)[0])
x = jnp.arange(5.0)
one_kernel = "xla_cpu_small_call" in f.lower(x).compile().as_text()
print(len(jax.devices("cpu")), float(f(x)[0]), one_kernel)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # c -> c * y + 1 from 0 over y = 0..4: 1, 2, 5, 16, 65
    assert out.stdout.split() == ["2", "65.0", "True"]


def test_participant_chunks_only_for_large_data_on_the_cpu() -> None:
    default = SamplerSettings()  # chunks of ~100,000 trials above 400,000 trials
    assert participant_chunk(default, "cpu", 10_000, 200) == 500
    assert participant_chunk(default, "cpu", 2001, 200) == 500
    assert participant_chunk(default, "cpu", 2000, 200) == 0  # 400,000 trials: one program
    assert participant_chunk(default, "cpu", 1000, 1000) == 100
    assert participant_chunk(default, "cpu", 2, 10**6) == 1  # never fewer than one
    assert participant_chunk(default, "gpu", 10_000, 200) == 0
    assert participant_chunk(SamplerSettings(scan="associative"), "cpu", 10_000, 200) == 0
    assert participant_chunk(SamplerSettings(cpu_chunk_trials=0), "cpu", 10_000, 200) == 0
    assert participant_chunk(SamplerSettings(cpu_chunk_trials=200), "cpu", 30, 60) == 3
    # a negative value: the schema's minimum (test_bad_settings_are_refused); the
    # defaults are the schema's (tests/test_settings.py)


def test_fit_in_participant_chunks_runs_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """A fit whose likelihood runs in chunks of 3 participants (30 x 60 trials)."""
    settings = SamplerSettings(chains=1, warmup=30, samples=30, cpu_chunk_trials=200)
    with caplog.at_level("INFO", logger="cogfit.fit"):
        idata = fit("rw", _data(30, 60), settings, dataset="chunks")
    assert "chunks of 3 participants" in caplog.text
    assert idata.posterior["alpha"].shape == (1, 30, 30)
    assert np.isfinite(idata.posterior["alpha"].values).all()


def test_gpu_chain_layout_runs_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What a GPU fit runs (vectorised chains in one program, the associative scan that
    ``scan: auto`` takes there, a mass-blocks metric from the diagonal warm-up), on the CPU:
    progress is logged once per milestone for all chains, and the draws, per-chain
    log-likelihood and statistics have their shapes."""
    import logging

    import cogfit.runtime

    monkeypatch.setattr(cogfit.runtime, "chain_method", lambda platform, chains: "vectorized")
    settings = SamplerSettings(
        chains=2, warmup=30, samples=20, scan="associative", metric="mass_blocks"
    )
    data = _data(8, 40)
    with caplog.at_level(logging.INFO, logger="cogfit"):
        idata = fit("rw", data, settings, dataset="vec")
    assert idata.posterior.attrs["chain_method"] == "vectorized"
    assert idata.posterior.attrs["scan"] == "associative"
    assert idata.posterior["alpha"].shape == (2, 20, 8)
    assert idata.log_likelihood[OBSERVED].shape == (2, 20, 8)
    assert np.isfinite(idata.log_likelihood[OBSERVED].values).all()
    assert idata.sample_stats["step_size"].shape == (2, 20)
    text = caplog.text
    assert "to estimate a mass_blocks metric" in text and "mass_blocks metric set from" in text
    assert text.count("iteration 50/50 (sampling) reached by all chains") == 1
    # the two chains are not one chain twice
    alpha = idata.posterior["alpha"].values
    assert not np.allclose(alpha[0], alpha[1])

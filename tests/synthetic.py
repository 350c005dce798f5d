"""Shared test builders: synthetic posteriors that follow the posterior.nc contract."""

from __future__ import annotations

import json

import arviz as az
import numpy as np

GROUPS = ["control", "patient"]
PARTICIPANTS = ["p01", "p02", "p03", "p04", "p05", "p06"]
LINKS = {"alpha": lambda x: 1 / (1 + np.exp(-x)), "beta": np.exp}
#: Divergent draws planted in the bad fit: chain -> draw indices.
BAD_DIVERGENCES = {1: [3, 50, 51, 60, 70, 71, 99], 3: [10, 20, 30]}  # n_draws >= 100


def make_idata(
    kind: str = "good",
    participants: list[str] | None = None,
    groups: list[str] | None = None,
    n_chains: int = 4,
    n_draws: int = 500,
    seed: int = 0,
    max_tree_depth: int | None = 10,
    model: str = "rw",
    dataset: str = "demo",
) -> az.InferenceData:
    """A posterior.nc-shaped InferenceData: "good" = iid draws, "bad" = chains disagree."""
    rng = np.random.default_rng(seed)
    participants = participants or PARTICIPANTS
    groups = groups or GROUPS
    n_p, n_g, shape = len(participants), len(groups), (n_chains, n_draws)
    group_index = np.arange(n_p) % n_g
    posterior = {}
    for name, link in LINKS.items():
        mu = rng.normal(0.0, 0.3, (*shape, n_g))
        if kind == "bad":
            mu = mu + np.arange(n_chains)[:, None, None]  # every chain in its own place
        sigma = np.abs(rng.normal(0.0, 0.3, (*shape, n_g))) + 0.1
        offset = rng.normal(size=(*shape, n_p))
        posterior |= {
            f"{name}_mu": mu,
            f"{name}_sigma": sigma,
            f"{name}_mu_natural": link(mu),
            f"{name}_offset": offset,
            name: link(mu[..., group_index] + sigma[..., group_index] * offset),
        }
    dims = {
        v: ["participant" if v in LINKS or v.endswith("_offset") else "group"] for v in posterior
    }
    n_trials = 8
    attrs = {
        "parameters": ",".join(LINKS),
        "model": model,
        "dataset": dataset,
        "cogfit_version": "0.1.0",
        "jax_version": "0.10.2",
        "numpyro_version": "0.22.0",
        "device": "cpu",
        "scan": "associative",
        "seed": 1234,
        "sampler_settings": json.dumps({"num_warmup": 500, "num_samples": n_draws}),
        "data_hash": "d" * 16,
        "model_hash": "m" * 16,
        "wall_time_s": 12.5,
    }
    if max_tree_depth is not None:
        attrs["max_tree_depth"] = max_tree_depth
    idata = az.from_dict(
        posterior=posterior,
        sample_stats=_sample_stats(rng, kind, shape),
        log_likelihood={"choice": rng.normal(-0.7, 0.1, (*shape, n_p))},
        observed_data={"choice": rng.integers(0, 2, (n_p, n_trials))},
        constant_data={
            "outcome": rng.integers(0, 2, (n_p, n_trials)).astype(float),
            "mask": np.ones((n_p, n_trials), dtype=bool),
            "group_index": group_index,
        },
        coords={"group": groups, "participant": participants},
        dims={
            **dims,
            "choice": ["participant", "trial"],
            "outcome": ["participant", "trial"],
            "mask": ["participant", "trial"],
            "group_index": ["participant"],
        },
    )
    idata.posterior.attrs.update(attrs)
    return idata


def _sample_stats(rng: np.random.Generator, kind: str, shape: tuple[int, int]) -> dict:
    diverging = np.zeros(shape, dtype=bool)
    energy = rng.normal(size=shape)
    depth = rng.integers(1, 6, shape)
    if kind == "bad":
        for chain, draws in BAD_DIVERGENCES.items():
            diverging[chain, draws] = True
        energy[0] = np.cumsum(energy[0])  # a random walk: E-BFMI far below 0.3
        depth = rng.integers(1, 11, shape)
    return {
        "diverging": diverging,
        "tree_depth": depth,
        "n_steps": 2**depth - 1,
        "energy": energy,
        "lp": rng.normal(size=shape),
        "acceptance_rate": rng.uniform(0.7, 1.0, shape),
        "step_size": np.full(shape, 0.3),
    }

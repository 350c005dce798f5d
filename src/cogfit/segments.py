"""Parallel NUTS chains run in segments: one compiled program executed several times,
each execution continuing the chains' state where the last one stopped.

Why: when several CPU devices execute at once (one chain each), XLA's runtime keeps
about 1-2 KB of host memory for every loop run inside a program until that program's
execution ends. A fit is one execution, and with participant blocks every gradient runs
two loops per block, so at 10,000 x 200 (20 blocks) a 4 x (1000 + 1000) fit would hold
on the order of 10 GB by its end (measured: 2.4 KB per block per gradient per chain). In
segments the memory goes back after each one. The draws are those of one run: the state,
random key included, carries over, and the adaptation schedule follows the iteration
counter in the state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LOG = logging.getLogger("cogfit.segments")


@dataclass
class SegmentedRun:
    """What a segmented run collected, read like NumPyro's ``MCMC``: ``get_samples`` and
    ``get_extra_fields`` (the draws, with the warm-up's before them only when it was
    collected) and the chains' ``last_state``."""

    samples: dict[str, np.ndarray]  # leaves [chains, draws, ...]
    extra: dict[str, np.ndarray]
    last_state: Any

    @staticmethod
    def _flat(tree: dict[str, np.ndarray], group_by_chain: bool) -> dict[str, np.ndarray]:
        if group_by_chain:
            return tree
        return {k: v.reshape((-1,) + v.shape[2:]) for k, v in tree.items()}

    def get_samples(self, group_by_chain: bool = False) -> dict[str, np.ndarray]:
        return self._flat(self.samples, group_by_chain)

    def get_extra_fields(self, group_by_chain: bool = False) -> dict[str, np.ndarray]:
        return self._flat(self.extra, group_by_chain)


def segment_lengths(warmup: int, samples: int, segment: int) -> list[tuple[int, bool]]:
    """(iterations, collected) per segment: warm-up and draws each cut into pieces of at
    most ``segment`` iterations, so no segment mixes the two."""
    out = []
    for total, collected in ((warmup, False), (samples, True)):
        full, rest = divmod(total, segment)
        out += [(segment, collected)] * full + ([(rest, collected)] if rest else [])
    return out


def run_in_segments(
    kernel: Any,
    rng_key: Any,
    model_args: tuple,
    warmup: int,
    samples: int,
    chains: int,
    segment: int,
    init_params: Mapping[str, np.ndarray] | None = None,
    *,
    extra_fields: Sequence[str] = (),
    collect_warmup: bool = False,
    constrain: bool = True,
    log: logging.Logger = LOG,
) -> SegmentedRun:
    """Run ``chains`` chains of ``kernel`` (one per local device, as NumPyro's
    ``chain_method="parallel"``) for ``warmup`` + ``samples`` iterations, in executions
    of at most ``segment`` iterations; the random keys and initialisation are NumPyro's
    ``MCMC.run``'s, so its draws are the same. ``collect_warmup``: keep warm-up draws too
    (before the others); ``constrain=False``: keep the unconstrained values NUTS moves
    in (no deterministic sites), as a metric estimate needs."""
    import jax
    import jax.numpy as jnp
    from numpyro.util import fori_collect, nested_attrgetter

    if chains > jax.local_device_count():
        raise ValueError(f"{chains} chains need {chains} devices; {jax.local_device_count()} here")
    # MCMC.run's fields: the sample field, the kernel's default fields, then the extra ones
    fields = tuple(dict.fromkeys((kernel.sample_field, *kernel.default_fields, *extra_fields)))
    get_fields = nested_attrgetter(*fields)

    def collect(val: tuple) -> tuple:
        values = list(get_fields(val[0]))
        if constrain:  # constrained values and deterministic sites (known after init)
            values[0] = kernel.postprocess_fn(model_args, {})(values[0])
        return tuple(values)

    def init(key: Any, params: Any) -> Any:
        return kernel.init(key, warmup, params, model_args=model_args, model_kwargs={})

    def run(state: Any, n: int, keep: bool) -> tuple[Any, Any]:
        if not keep:  # warm-up: nothing collected
            return None, jax.lax.fori_loop(
                0, n, lambda _, s: kernel.sample(s, model_args, {}), state
            )
        collected, last = fori_collect(
            0,
            n,
            lambda val: (kernel.sample(val[0], model_args, {}),),
            (state,),
            transform=collect,
            progbar=False,
            return_last_val=True,
        )
        return collected, last[0]

    keys = jax.random.split(rng_key, chains)
    if init_params is not None:
        init_params = jax.tree.map(
            lambda x: jax.lax.convert_element_type(x, jnp.result_type(x)), init_params
        )
    state = jax.pmap(init)(keys, init_params)
    runner = jax.pmap(run, static_broadcasted_argnums=(1, 2))
    pieces: list[tuple] = []
    plan = [(n, keep or collect_warmup) for n, keep in segment_lengths(warmup, samples, segment)]
    log.info(
        "%d chains in %d segment%s of at most %d iterations (host memory XLA holds per "
        "execution goes back after each)",
        chains,
        len(plan),
        "" if len(plan) == 1 else "s",
        segment,
    )
    for n, keep in plan:
        collected, state = runner(state, n, keep)
        if keep:
            pieces.append(jax.tree.map(np.asarray, collected))
    # leaves [chains, draws, ...]: segments join along the draws
    stacked = jax.tree.map(lambda *parts: np.concatenate(parts, axis=1), *pieces)
    extra = dict(zip(fields[1:], stacked[1:], strict=True))
    return SegmentedRun(samples=stacked[0], extra=extra, last_state=state)

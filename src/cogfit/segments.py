"""NUTS chains moved on by one compiled program, executed as often as the fit needs.

Why one program: NumPyro's ``MCMC`` compiles a new program for every run, and compiling
a NUTS program is most of a small fit's time. A warm-up that changes the metric between
phases (:func:`cogfit.metric.plan_metric`) would need a second program; here the program
takes the chains' state and a number of iterations (both traced), so each phase is one
more execution of the same program, and the metric is replaced in the state on the host
between executions (:meth:`Chains.set_metric`).

Why executions of bounded length: when several CPU devices execute at once (one chain
each), XLA's runtime keeps a little host memory for every loop run inside a program until
that program's execution ends; with participant chunks every gradient runs two loops per
chunk, so a long fit in one execution would hold memory that grows with every iteration.
Executions of at most ``length`` iterations give it back each time (docs/performance.md).

The draws are those of one ``MCMC.run``: chains start as it starts them (same key split,
``kernel.init`` per chain), the state (random key, iteration counter, adaptation
included) carries over between executions, and NumPyro's adaptation schedule follows the
counter in the state. NumPyro internals are reached through :mod:`cogfit.numpyro_adapter`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from cogfit import numpyro_adapter, stop

LOG = logging.getLogger("cogfit.segments")
CHAIN_METHODS = ("parallel", "vectorized", "sequential")


@dataclass
class SegmentedRun:
    """Collected draws, read like NumPyro's ``MCMC``: ``get_samples`` (constrained values
    and deterministic sites), ``get_extra_fields``, and ``unconstrained`` (the values NUTS
    moves in, when the chains keep them), leaves [chains, draws, ...]."""

    samples: dict[str, np.ndarray]
    extra: dict[str, np.ndarray]
    unconstrained: dict[str, np.ndarray] | None = None

    @staticmethod
    def _flat(tree: dict[str, np.ndarray], group_by_chain: bool) -> dict[str, np.ndarray]:
        if group_by_chain:
            return tree
        return {k: v.reshape((-1,) + v.shape[2:]) for k, v in tree.items()}

    def get_samples(self, group_by_chain: bool = False) -> dict[str, np.ndarray]:
        return self._flat(self.samples, group_by_chain)

    def get_extra_fields(self, group_by_chain: bool = False) -> dict[str, np.ndarray]:
        return self._flat(self.extra, group_by_chain)


def pieces(n: int, length: int) -> list[int]:
    """``n`` iterations as executions of at most ``length``."""
    full, rest = divmod(n, length)
    return [length] * full + ([rest] if rest else [])


class Chains:
    """``chains`` NUTS chains of ``kernel`` on the model arguments ``model_args``.

    ``method``: ``parallel`` (one chain per local device, ``pmap``), ``vectorized`` (all
    chains in one program on one device) or ``sequential`` (one after another; also for a
    single chain), as NumPyro's ``chain_method``. ``warmup``: the warm-up length NumPyro's
    adaptation schedule is built for. ``init_params``: unconstrained start values with a
    leading chain axis, or None for the kernel's own initialisation. ``inverse_mass_matrix``:
    the metric the chains start with (NumPyro's form: a vector, or one matrix per mass block
    of ``dense_mass``), or None for the kernel's own. ``length``: the most iterations one
    execution runs (and collects). ``unconstrained``: also collect the values NUTS moves
    in (what a metric estimate reads).

    Both may be given as shapes only (``jax.ShapeDtypeStruct`` leaves): the two programs
    (the chains' start and NUTS) are then built at once and compiled in the background
    (:func:`compile_in_background`) while the caller computes the values (a fit's ADVI
    start), and :meth:`start` starts the chains. The start metric is an argument of the
    start program, so it need not be known when the program is built.
    """

    def __init__(
        self,
        kernel: Any,
        rng_key: Any,
        model_args: tuple,
        warmup: int,
        chains: int,
        method: str,
        init_params: Mapping[str, Any] | None = None,
        inverse_mass_matrix: Any = None,
        *,
        length: int,
        extra_fields: Sequence[str] = (),
        unconstrained: bool = False,
        log: logging.Logger = LOG,
    ) -> None:
        import jax

        if method not in CHAIN_METHODS:
            raise ValueError(f"chain method {method!r}: expected one of {CHAIN_METHODS}")
        if chains == 1:
            method = "sequential"
        if method == "parallel" and chains > jax.local_device_count():
            devices = jax.local_device_count()
            raise ValueError(f"{chains} parallel chains need {chains} devices; {devices} here")
        self.kernel, self.model_args, self.method = kernel, model_args, method
        self.chains, self.length = chains, max(int(length), 1)
        # MCMC.run's fields: the sample field, the kernel's default fields, then the extra ones
        self.fields = tuple(
            dict.fromkeys((kernel.sample_field, *kernel.default_fields, *extra_fields))
        )
        self.unconstrained = unconstrained
        # MCMC.run's keys: one split per chain (a single chain takes the key itself)
        keys = jax.random.split(rng_key, chains) if chains > 1 else rng_key[None]
        self.keys = np.asarray(keys)  # on the host: placed as each program needs them
        self.state: Any = None

        def init(key: Any, params: Any, metric: Any) -> Any:
            with numpyro_adapter.start_metric(kernel, metric):  # traced: any start metric
                return kernel.init(key, warmup, params, model_args=model_args, model_kwargs={})

        # vectorized: NumPyro's kernels batch themselves over the keys
        parallel = method == "parallel"
        init_fn = jax.pmap(init, in_axes=(0, 0, None)) if parallel else jax.jit(init)
        # built (traced) here, in this thread: NumPyro's effect handlers are global state;
        # compiled in the background, the start program first
        keys, params = _per_chain(_abstract((self.keys, init_params)), method)
        lowered = init_fn.lower(keys, params, _abstract(inverse_mass_matrix))
        self._init = compile_in_background(lowered)
        # the NUTS program after the start's trace (which sets up the kernel), for the
        # state as the start returns it (one chain's, when sequential: states are
        # stacked on the host)
        if parallel:
            run_fn = jax.pmap(self._program(), in_axes=(0, None, None))
        else:
            run_fn = jax.jit(self._program(batched=method == "vectorized"))
        state = lowered.out_info
        self._run = compile_in_background(run_fn.lower(state, np.int32(0), np.bool_(False)))
        log.info(
            "%d chain%s (%s), one compiled program in executions of at most %d iterations",
            chains,
            "" if chains == 1 else "s",
            method,
            self.length,
        )
        if not (_is_abstract(init_params) or _is_abstract(inverse_mass_matrix)):
            self.start(init_params, inverse_mass_matrix)

    def start(self, init_params: Mapping[str, Any] | None, inverse_mass_matrix: Any) -> None:
        """Start the chains from ``init_params`` with ``inverse_mass_matrix`` (values of the
        shapes given to the constructor; None where the constructor had None)."""
        import jax

        init = self._init.result()
        params, metric = _host(init_params), _host(inverse_mass_matrix)
        if self.method != "sequential":
            self.state = init(self.keys, params, metric)
            return
        states = [
            init(self.keys[c], jax.tree.map(lambda x, c=c: x[c], params), metric)
            for c in range(self.chains)
        ]
        self.state = jax.tree.map(lambda *s: np.stack([np.asarray(x) for x in s]), *states)

    def _program(self, batched: bool = False) -> Callable:
        """The program: ``(state, n, keep) -> (state, collected)``, n <= ``length``
        iterations; ``collected`` has ``length`` rows, the first n filled when ``keep``."""
        import jax
        import jax.numpy as jnp

        kernel, model_args, length = self.kernel, self.model_args, self.length
        get_fields = numpyro_adapter.field_getter(*self.fields)
        constrain = kernel.postprocess_fn(model_args, {})
        if batched:
            constrain = jax.vmap(constrain)

        def collect(state: Any) -> dict:
            values = get_fields(state)
            out = {"samples": constrain(values[0]), "extra": values[1:]}
            if self.unconstrained:
                out["unconstrained"] = values[0]
            return out

        def run(state: Any, n: Any, keep: Any) -> tuple[Any, dict]:
            shapes = jax.eval_shape(collect, state)
            rows = jax.tree.map(lambda s: jnp.zeros((length, *s.shape), s.dtype), shapes)

            def body(i: Any, carry: tuple) -> tuple:
                state, rows = kernel.sample(carry[0], model_args, {}), carry[1]
                rows = jax.lax.cond(
                    keep,
                    lambda r: jax.tree.map(lambda a, v: a.at[i].set(v), r, collect(state)),
                    lambda r: r,
                    rows,
                )
                return state, rows

            return jax.lax.fori_loop(0, n, body, (state, rows))

        return run

    def _execute(self, chain: int | None, n: int, keep: bool) -> dict | None:
        """One execution of ``n`` iterations for all chains (or one, when sequential);
        its collected rows as host arrays [chains, n, ...]."""
        import jax

        if self.state is None:
            raise RuntimeError("Chains.start must run before the chains can move")
        stop.check()
        run, n_arg, keep_arg = self._run.result(), np.int32(n), np.bool_(keep)
        if chain is None:
            self.state, rows = run(self.state, n_arg, keep_arg)
            if not keep:
                return None
            axis = 1 if self.method == "vectorized" else 0  # rows come [length, chains, ...]
            return jax.tree.map(lambda x: np.moveaxis(np.asarray(x), axis, 0)[:, :n], rows)
        one, rows = run(jax.tree.map(lambda x: x[chain], self.state), n_arg, keep_arg)

        def put(stacked: np.ndarray, row: Any) -> np.ndarray:
            stacked = np.array(stacked)  # a copy: the old state may still be read
            stacked[chain] = np.asarray(row)
            return stacked

        self.state = jax.tree.map(put, self.state, one)
        return jax.tree.map(lambda x: np.asarray(x)[None, :n], rows) if keep else None

    def advance(self, *stages: tuple[int, bool]) -> SegmentedRun | None:
        """Run ``stages`` of (iterations, keep) in order; the draws of the kept ones.

        Sequential chains run all stages for one chain before the next (so each chain's
        warm-up end and last draw frame its own sampling time, as NumPyro's do)."""
        plan = [(n, keep) for total, keep in stages for n in pieces(total, self.length)]
        runs = [None] if self.method != "sequential" else list(range(self.chains))
        kept: dict[int | None, list[dict]] = {c: [] for c in runs}
        for chain in runs:
            for n, keep in plan:
                rows = self._execute(chain, n, keep)
                if rows is not None:
                    kept[chain].append(rows)
        if not any(kept.values()):
            return None
        import jax

        # join pieces along the draws, then sequential chains along the chains
        joined = [jax.tree.map(lambda *p: np.concatenate(p, axis=1), *kept[c]) for c in runs]
        rows = jax.tree.map(lambda *c: np.concatenate(c, axis=0), *joined)
        extra = dict(zip(self.fields[1:], rows["extra"], strict=True))
        return SegmentedRun(rows["samples"], extra, rows.get("unconstrained"))

    def set_metric(self, mass_blocks: Mapping[tuple[str, ...], np.ndarray]) -> None:
        """Give every chain the dense inverse metric ``mass_blocks`` (one matrix per mass
        block of sites named in NumPyro's ``dense_mass``; other mass blocks keep theirs)
        and restart step-size adaptation from the current step size, as NumPyro does when
        its own windows change the metric."""
        import jax

        adapt = numpyro_adapter.adapt_state(self.state)
        new = numpyro_adapter.with_dense_metric(adapt, mass_blocks, self.chains)
        # placed as the values they replace: host arrays would be a new signature for
        # the program (a second compilation), though of the same shapes and types
        placed = jax.tree.map(_placed_as, adapt, new)
        self.state = numpyro_adapter.with_adapt_state(self.state, placed)


def _placed_as(old: Any, new: Any) -> Any:
    """``new`` on the devices and in the layout of ``old`` (host arrays stay on the host)."""
    import jax

    if isinstance(old, jax.Array):
        return jax.device_put(np.asarray(new, old.dtype), old.sharding)
    return np.asarray(new, np.asarray(old).dtype)


_COMPILER: list[ThreadPoolExecutor] = []


def compile_in_background(lowered: Any) -> Future:
    """XLA's compilation of ``lowered`` (a ``jax.stages.Lowered``) in a background thread;
    the future's result is the compiled program.

    Why: a fit's programs would wait for each other although only the chains need the
    ADVI start's values. Compiled here, the chains' programs overlap with the ADVI start
    being traced, compiled and run in the caller's thread. Only compilation moves:
    programs are built (traced) in the caller's thread, because NumPyro's effect
    handlers are process-wide state.
    """
    if not _COMPILER:
        _COMPILER.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="cogfit-xla"))
    return _COMPILER[0].submit(lowered.compile)


def _is_abstract(tree: Any) -> bool:
    """Whether ``tree`` holds shapes (``jax.ShapeDtypeStruct``) rather than values."""
    import jax

    shape = jax.ShapeDtypeStruct
    return any(
        isinstance(x, shape) for x in jax.tree.leaves(tree, is_leaf=lambda x: isinstance(x, shape))
    )


def _canonical(x: Any) -> Any:
    """The dtype JAX runs ``x`` (an array or shape) at: float32 unless float64 is on."""
    import jax

    return jax.dtypes.canonicalize_dtype(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype)


def _abstract(tree: Any) -> Any:
    """Shapes and types of ``tree`` (values or shapes), in the precision JAX runs at."""
    import jax

    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(np.shape(x), _canonical(x)),
        tree,
        is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct),
    )


def _host(tree: Any) -> Any:
    """``tree``'s values as host arrays in the precision JAX runs at."""
    import jax

    return jax.tree.map(lambda x: np.asarray(x, _canonical(x)), tree)


def _per_chain(tree: Any, method: str) -> Any:
    """One chain's part of ``tree`` (leading chain axis) for sequential chains."""
    import jax

    if method != "sequential":
        return tree
    return jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape[1:], s.dtype),
        tree,
        is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct),
    )

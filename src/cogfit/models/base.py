"""What a behavioural model is: its metadata (:mod:`cogfit.models.spec`) plus pure
per-trial functions."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from cogfit.errors import ConfigError
from cogfit.models.spec import ModelSpec, ParamSpec
from cogfit.names import VALID, observed_key

Array = jnp.ndarray
Params = Mapping[str, Array]
#: one trial of one participant: every trial column of the data by name (0 where empty),
#: ``valid`` (:data:`~cogfit.names.VALID`: an answered trial) and ``has_<column>``
#: (:func:`~cogfit.names.observed_key`: the column has a value)
Trial = Mapping[str, Array]
State = Any


@dataclass(frozen=True)
class LinearForm:
    """A model whose state update is affine in the state given the observed data.

    ``update(state, p, trial) == A * state + B`` elementwise, where ``(A, B) =
    coefficients(p, trial, n_options)`` are pytrees shaped like the state and do not
    depend on it. Then all states follow from an associative (parallel-prefix) scan of the
    maps ``S -> A * S + B``, with logarithmic depth in the number of trials.
    """

    coefficients: Callable[[Params, Trial, int], tuple[State, State]]


@dataclass(frozen=True)
class BehaviouralModel:
    """A model = its spec (:class:`ModelSpec`) + ``init``, ``update``, ``logits`` and
    ``latents`` for ONE participant.

    ``init(params, n_options) -> state`` is the state before the first trial (and after a
    block reset); ``update(state, params, trial) -> state`` learns from one trial;
    ``logits(state, params, trial)`` are the choice rule's log-probabilities up to a
    constant of every value of each response, given the state before the trial: ``[K]``
    for a model with one response, else ``{response: [K_r]}``; ``latents(state, params,
    trial) -> {name: scalar or [K]}`` are the trial-wise quantities a model-based analysis
    regresses on (values, prediction error), named in ``latent_names``. All are pure JAX
    functions on scalars. ``update`` must leave the state unchanged when ``trial["valid"]``
    is False (a missed or padding trial).

    The sequential scan calls :meth:`step` per trial; the associative scan finds every
    state from ``update``'s affine form and then scores all trials at once with
    :meth:`emit`. The probabilities (:meth:`policies`) feed posterior predictive checks
    and regressors.
    """

    spec: ModelSpec
    init: Callable[[Params, int], State]
    update: Callable[[State, Params, Trial], State]
    logits: Callable[[State, Params, Trial], Array | Mapping[str, Array]]
    latents: Callable[[State, Params, Trial], Mapping[str, Array]]
    linear: LinearForm | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def params(self) -> tuple[ParamSpec, ...]:
        return self.spec.params

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.spec.param_names

    @property
    def latent_names(self) -> tuple[str, ...]:
        return self.spec.latent_names

    @property
    def responses(self) -> tuple[str, ...]:
        return self.spec.responses

    def response_logits(self, state: State, params: Params, trial: Trial) -> dict[str, Array]:
        """:attr:`logits` as ``{response: [K_r]}`` whatever the model returns."""
        out = self.logits(state, params, trial)
        if isinstance(out, Mapping):
            return dict(out)
        (response,) = self.responses  # a bare array is the only response's
        return {response: out}

    def emit(self, state: State, params: Params, trial: Trial) -> Array:
        """log p(the trial's responses) given the state before it; a response without a
        value, and a masked trial, add 0."""
        total = jnp.zeros(())
        for response, logits in self.response_logits(state, params, trial).items():
            seen = trial[VALID] & trial[observed_key(response)]
            total = total + jnp.where(seen, softmax_logp(logits, trial[response]), 0.0)
        return total

    def policies(self, state: State, params: Params, trial: Trial) -> dict[str, Array]:
        """Normalised log-probabilities of every value of each response given the state
        before the trial."""
        return {
            response: jax.nn.log_softmax(logits)
            for response, logits in self.response_logits(state, params, trial).items()
        }

    def step(self, state: State, params: Params, trial: Trial) -> tuple[State, Array]:
        """One trial: score the responses, then learn from the trial."""
        return self.update(state, params, trial), self.emit(state, params, trial)

    def with_priors(self, overrides: Mapping[str, Mapping[str, Any]] | None) -> BehaviouralModel:
        """Apply per-parameter prior/link overrides; overrides for absent params are ignored."""
        return dataclasses.replace(self, spec=self.spec.with_priors(overrides))

    def with_block_reset(self, setting: str) -> BehaviouralModel:
        """Restarting at blocks as a dataset's ``block_reset`` says
        (:meth:`ModelSpec.with_block_reset`)."""
        return dataclasses.replace(self, spec=self.spec.with_block_reset(setting))

    def with_params(self, params: tuple[ParamSpec, ...]) -> BehaviouralModel:
        """The model with these parameter specs (the same names, e.g. as a fit recorded them)."""
        if tuple(p.name for p in params) != self.param_names:
            raise ConfigError(
                f"model {self.name!r}: parameters {[p.name for p in params]} given, but the "
                f"model has {list(self.param_names)}"
            )
        return dataclasses.replace(self, spec=dataclasses.replace(self.spec, params=params))

    def spec_hash(self) -> str:
        """Hash of the spec and the step functions' code, and that of the kernel functions
        they call (``kernels``, see :func:`implement_kernel`): changes with the model."""
        spec = dataclasses.replace(self.spec, description="", reference="", implementation="")
        h = hashlib.sha256(repr(spec).encode())
        steps = (self.init, self.update, self.logits, self.latents)
        carriers = (*steps, self.linear.coefficients) if self.linear else steps
        kernels = tuple(k for fn in carriers for k in getattr(fn, "kernels", ()))
        for fn in (*steps, *kernels):
            try:
                h.update(inspect.getsource(getattr(fn, "func", fn)).encode())
            except (OSError, TypeError):
                h.update(repr(fn).encode())
        return h.hexdigest()[:16]


def implement(
    spec: ModelSpec,
    init: Callable[[Params, int], State],
    update: Callable[[State, Params, Trial], State],
    logits: Callable[[State, Params, Trial], Array | Mapping[str, Array]],
    latents: Callable[[State, Params, Trial], Mapping[str, Array]],
    linear: LinearForm | None = None,
) -> BehaviouralModel:
    """The model of ``spec`` with its step functions; ``linear`` exactly when the spec
    says its update is affine."""
    if (linear is not None) != spec.affine:
        raise ConfigError(
            f"model {spec.name!r}: its spec says affine={spec.affine}, but its "
            f"implementation {'has' if linear is not None else 'has no'} affine form"
        )
    return BehaviouralModel(spec, init, update, logits, latents, linear)


def implement_kernel(
    spec: ModelSpec,
    to_kernel: Callable[[Params], Any],
    init: Callable[[Any, int], State] | None,
    update: Callable[[State, Any, Trial], State] | None,
    logits: Callable[..., Array | Mapping[str, Array]],
    latents: Callable[..., Mapping[str, Array]],
    coefficients: Callable[[Any, Trial, int], tuple[State, State]] | None = None,
    *,
    n_options: int | None = None,
    named_latents: bool = False,
) -> BehaviouralModel:
    """The model of ``spec`` from a family's kernel: functions of the kernel parameters
    ``kp = to_kernel(params)`` (a variant's mapping of its parameters to the kernel's
    slots) in place of the parameters.

    ``init(kp, n_options)``, ``update(state, kp, trial)``, ``logits(state, kp, trial)``,
    ``latents(state, kp, trial)`` and ``coefficients(kp, trial, n_options)`` are then the
    model's step functions and its :class:`LinearForm`; the model has the affine form
    exactly when its spec is ``affine`` (``coefficients`` may serve only some variants).
    A stateless kernel (one-shot choices) has no ``init`` and ``update`` (both None): its
    state is ``()`` and never changes, and it reads ``logits(kp, trial)`` and
    ``latents(kp, trial)``. ``n_options``: the number of options the task fixes, which
    ``init`` and ``coefficients`` get instead of the dataset's; ``named_latents``: report
    only the spec's ``latent_names`` of what ``latents`` returns.

    Each step function carries the kernel functions it calls (``kernels``), so that
    :meth:`BehaviouralModel.spec_hash` changes when a kernel does.
    """
    if (init is None) != (update is None) or (init is None) != spec.stateless:
        raise ConfigError(
            f"model {spec.name!r}: a stateless spec's kernel has neither init nor update, "
            f"any other both (stateless={spec.stateless})"
        )
    fixed = n_options

    def carrying(fn: Callable, kernel: Callable) -> Callable:
        """``fn``, marked as calling ``kernel`` on ``to_kernel``'s parameters."""
        fn.kernels = (kernel, to_kernel)
        return fn

    if init is None:
        step_init, step_update, step_logits, all_latents = _stateless_steps(
            to_kernel, logits, latents
        )
    else:
        step_init, step_update, step_logits, all_latents = _stateful_steps(
            to_kernel, init, update, logits, latents, fixed
        )
        step_init, step_update = carrying(step_init, init), carrying(step_update, update)

    def step_latents(state: State, p: Params, trial: Trial) -> Mapping[str, Array]:
        out = all_latents(state, p, trial)
        return {name: out[name] for name in spec.latent_names} if named_latents else out

    def step_coefficients(p: Params, trial: Trial, n_options: int) -> tuple[State, State]:
        return coefficients(to_kernel(p), trial, n_options if fixed is None else fixed)

    linear = None
    if coefficients is not None and spec.affine:
        linear = LinearForm(carrying(step_coefficients, coefficients))
    return implement(
        spec,
        step_init,
        step_update,
        carrying(step_logits, logits),
        carrying(step_latents, latents),
        linear,
    )


def softmax_logp(logits: Array, choice: Array) -> Array:
    """Log probability of ``choice`` under a softmax over ``logits``."""
    if logits.shape[-1] == 2:  # static: two options reduce to a logistic, far fewer ops
        diff = logits[1] - logits[0]
        return jax.nn.log_sigmoid(jnp.where(choice == 1, diff, -diff))
    chosen = jnp.arange(logits.shape[-1]) == choice
    return jnp.sum(jnp.where(chosen, logits, 0.0)) - jax.nn.logsumexp(logits)


def _stateless_steps(to_kernel: Callable, logits: Callable, latents: Callable) -> tuple:
    """(init, update, logits, latents) of a stateless kernel: the state is () throughout."""

    def step_init(p: Params, n_options: int) -> State:
        return ()

    def step_update(state: State, p: Params, trial: Trial) -> State:
        return state

    def step_logits(state: State, p: Params, trial: Trial) -> Array | Mapping[str, Array]:
        return logits(to_kernel(p), trial)

    def all_latents(state: State, p: Params, trial: Trial) -> Mapping[str, Array]:
        return latents(to_kernel(p), trial)

    return step_init, step_update, step_logits, all_latents


def _stateful_steps(
    to_kernel: Callable,
    init: Callable,
    update: Callable,
    logits: Callable,
    latents: Callable,
    fixed: int | None,
) -> tuple:
    """(init, update, logits, latents) calling the kernel on ``to_kernel``'s parameters;
    ``fixed``: the number of options the task fixes (None: the dataset's)."""

    def step_init(p: Params, n_options: int) -> State:
        return init(to_kernel(p), n_options if fixed is None else fixed)

    def step_update(state: State, p: Params, trial: Trial) -> State:
        return update(state, to_kernel(p), trial)

    def step_logits(state: State, p: Params, trial: Trial) -> Array | Mapping[str, Array]:
        return logits(state, to_kernel(p), trial)

    def all_latents(state: State, p: Params, trial: Trial) -> Mapping[str, Array]:
        return latents(state, to_kernel(p), trial)

    return step_init, step_update, step_logits, all_latents

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
from cogfit.models.spec import ModelSpec, ParamSpec, with_priors

Array = jnp.ndarray
Params = Mapping[str, Array]
# (choice, outcome, valid) of one trial for one participant
Trial = tuple[Array, Array, Array]
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
    """A model = parameter specs + ``init``, ``update``, ``logits`` and ``latents`` for ONE
    participant.

    ``init(params, n_options) -> state`` is the state before the first trial;
    ``update(state, params, trial) -> state`` learns from one trial; ``logits(state,
    params, trial) -> [K]`` are the choice rule's log-probabilities of every option up to
    a constant, given the state before the trial (a softmax's logits, or any model's log
    probabilities); ``latents(state, params, trial) -> {name: scalar or [K]}`` are the
    trial-wise quantities a model-based analysis regresses on (values, prediction error),
    named in ``latent_names``. All are pure JAX functions on scalars. ``update`` must leave
    the state unchanged when ``valid`` is False (a missed or padding trial).

    The sequential scan calls :meth:`step` per trial; the associative scan finds every
    state from ``update``'s affine form and then scores all trials at once with
    :meth:`emit`. The choice probabilities (:meth:`policy`) feed posterior predictive
    checks and regressors.
    """

    name: str
    description: str
    params: tuple[ParamSpec, ...]
    init: Callable[[Params, int], State]
    update: Callable[[State, Params, Trial], State]
    logits: Callable[[State, Params, Trial], Array]
    latents: Callable[[State, Params, Trial], Mapping[str, Array]]
    latent_names: tuple[str, ...]
    linear: LinearForm | None = None

    def emit(self, state: State, params: Params, trial: Trial) -> Array:
        """log p(the trial's choice) given the state before it; 0 on a masked trial."""
        choice, _, valid = trial
        return jnp.where(valid, softmax_logp(self.logits(state, params, trial), choice), 0.0)

    def policy(self, state: State, params: Params, trial: Trial) -> Array:
        """Normalised log-probabilities of every option [K] given the state before the trial."""
        return jax.nn.log_softmax(self.logits(state, params, trial))

    def step(self, state: State, params: Params, trial: Trial) -> tuple[State, Array]:
        """One trial: score the choice, then learn from its outcome."""
        return self.update(state, params, trial), self.emit(state, params, trial)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def with_priors(self, overrides: Mapping[str, Mapping[str, Any]] | None) -> BehaviouralModel:
        """Apply per-parameter prior/link overrides; overrides for absent params are ignored."""
        return dataclasses.replace(self, params=with_priors(self.params, overrides))

    def spec_hash(self) -> str:
        """Hash of the parameter specs and the step functions' code: changes with the model."""
        h = hashlib.sha256(repr(self.params).encode())
        for fn in (self.init, self.update, self.logits, self.latents):
            try:
                h.update(inspect.getsource(getattr(fn, "func", fn)).encode())
            except (OSError, TypeError):
                h.update(repr(fn).encode())
        return h.hexdigest()[:16]


def implement(
    spec: ModelSpec,
    init: Callable[[Params, int], State],
    update: Callable[[State, Params, Trial], State],
    logits: Callable[[State, Params, Trial], Array],
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
    return BehaviouralModel(
        spec.name,
        spec.description,
        spec.params,
        init,
        update,
        logits,
        latents,
        spec.latent_names,
        linear,
    )


def softmax_logp(logits: Array, choice: Array) -> Array:
    """Log probability of ``choice`` under a softmax over ``logits``."""
    if logits.shape[-1] == 2:  # static: two options reduce to a logistic, far fewer ops
        diff = logits[1] - logits[0]
        return jax.nn.log_sigmoid(jnp.where(choice == 1, diff, -diff))
    chosen = jnp.arange(logits.shape[-1]) == choice
    return jnp.sum(jnp.where(chosen, logits, 0.0)) - jax.nn.logsumexp(logits)

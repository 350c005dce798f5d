"""Progress of NUTS chains, reported from inside the compiled program.

The chains run as executions of one compiled program (:mod:`cogfit.segments`), which
would say nothing while a long fit runs. Here the kernel calls back to the host every
``every`` iterations and at the end of warm-up; the iteration counter lives in the
chains' state, so milestones count across executions. The host logs a milestone once
every chain has passed it and keeps the times, which split the wall time into warm-up
and sampling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from numpyro.infer import NUTS

from cogfit import numpyro_adapter, stop

LOG = logging.getLogger("cogfit.progress")


class Progress:
    """Host side: counts callbacks per iteration, logs milestones, times the phases.

    With parallel or vectorised chains all chains run at once, so warm-up ends when the
    last chain finishes it. Chains run one after another (NumPyro's ``sequential``
    ``chain_method``) are timed per chain and summed. The clock starts at construction.
    """

    def __init__(
        self,
        warmup: int,
        samples: int,
        chains: int,
        chain_method: str = "parallel",
        every: int | None = None,
        log: logging.Logger = LOG,
    ) -> None:
        self.warmup, self.total, self.chains = warmup, warmup + samples, chains
        self.sequential = chain_method == "sequential" and chains > 1
        # calls per milestone: one per chain, but vectorised chains share one program
        # iteration and call once for all of them (ReportingNUTS reports their minimum)
        self.callers = 1 if chain_method == "vectorized" else chains
        self.every = every or max(self.total // 10, 1)
        self.log = log
        self.start = time.perf_counter()
        self.counts: Counter[int] = Counter()
        self.warmup_ends: list[float] = []
        self.ends: list[float] = []
        self._lock = threading.Lock()

    def milestone(self, i: Any) -> Any:
        """Whether iteration ``i`` (1-based) calls back; evaluated inside the program too."""
        return (i % self.every == 0) | (i == self.warmup) | (i == self.total)

    def __call__(self, i: Any) -> None:
        stop.check()  # raised here, it ends the compiled program's execution
        i = int(i)
        now = time.perf_counter()
        with self._lock:
            self.counts[i] += 1
            if i == self.warmup:
                self.warmup_ends.append(now)
            if i == self.total:
                self.ends.append(now)
            if not self.sequential and self.counts[i] != self.callers:
                return  # logged once, when the last chain passes
        phase = "warm-up" if i <= self.warmup else "sampling"
        who = f"chain {self.counts[i]}/{self.chains}" if self.sequential else "all chains"
        self.log.info(
            "iteration %d/%d (%s) reached by %s after %.1f s",
            i,
            self.total,
            phase,
            who,
            now - self.start,
        )

    def split(self, end: float) -> tuple[float, float]:
        """(warm-up s, sampling s) of a run that started at ``self.start`` and ended at ``end``."""
        if not self.warmup_ends or self.warmup == 0:
            return 0.0, end - self.start
        if self.sequential and len(self.ends) == len(self.warmup_ends):
            sampling = sum(e - w for w, e in zip(self.warmup_ends, self.ends, strict=True))
        else:
            sampling = end - max(self.warmup_ends)
        return end - self.start - sampling, sampling


class ReportingNUTS(NUTS):
    """NUTS that reports its iteration count to a :class:`Progress` at milestones.

    The draws are NUTS's own: the callback reads the iteration counter and returns
    nothing into the computation.
    """

    def __init__(self, model: Any, progress: Progress, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.progress = progress

    def sample(self, state: Any, model_args: Any, model_kwargs: Any) -> Any:
        import jax
        import jax.numpy as jnp

        new = super().sample(state, model_args, model_kwargs)
        # vectorised chains carry one counter each, all equal
        i = jnp.min(numpyro_adapter.iteration(new))
        jax.lax.cond(
            self.progress.milestone(i),
            lambda: jax.debug.callback(self.progress, i),
            lambda: None,
        )
        return new

"""A pipeline step run through cogfit's job plumbing (``runner.run_step``), for the stop tests.

    python stop_driver.py fit TRIALS OUTPUT LOG SAMPLES   the fit job's code on cleaned trials
    python stop_driver.py busy OUTPUT LOG                 an artifact write around a long
                                                          compiled loop with no callbacks

Snakemake runs a job's script with a ``snakemake`` object of which ``run_step`` reads the
log and output paths; this driver passes the same two.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

from cogfit.fit import SamplerSettings
from cogfit.runtime import configure_xla

CHAINS = 2


def main(argv: list[str]) -> None:
    mode, *args = argv
    configure_xla(CHAINS)  # as scripts/fit.py: one CPU device per chain, before JAX starts
    from cogfit.runner import run_step

    if mode == "fit":
        trials, output, log_path, samples = args
        job = SimpleNamespace(log=[log_path], output=[output])
        settings = SamplerSettings(
            chains=CHAINS, warmup=20, samples=int(samples), seed=3, device="cpu"
        )
        run_step(job, lambda log: _fit(trials, output, settings, log))
    elif mode == "busy":
        output, log_path = args
        run_step(SimpleNamespace(log=[log_path], output=[output]), lambda log: _busy(output, log))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


def _fit(trials: str, output: str, settings: SamplerSettings, log) -> None:  # noqa: ANN001
    from cogfit.fit import run_fit

    run_fit(trials, output, "example", "rw", 2, settings, log=log)


def _busy(output: str, log) -> None:  # noqa: ANN001
    import jax
    import jax.numpy as jnp

    from cogfit.io import atomic_path

    body = jax.jit(lambda x: jax.lax.fori_loop(0, 2_000_000_000, lambda i, y: jnp.sin(y), x))
    loop = body.lower(jnp.float32(1.0)).compile()
    with atomic_path(output) as tmp:
        tmp.write_text("half an artifact")
        log.info("computing")
        loop(jnp.float32(1.0)).block_until_ready()
        log.info("computed")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Regenerate the example datasets of every task family and the configs that fit them:
``.venv/bin/python data/examples/make_examples.py``.

Each family's simulator (``cogfit.tasks.<family>.example``) writes a small study the way a
lab's raw file looks (options numbered from 1, empty cells for missed responses), with a
fixed seed, here as ``data/examples/<family>.csv``; its true participant parameters go to
``<family>_truth.csv``, and ``config/examples/<family>.yaml`` fits every model of the
family to it. Deterministic: the same seed gives identical bytes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parents[1] / "config" / "examples"
SEED = 0


@dataclass(frozen=True)
class Example:
    """One family's example: its task, the models its config fits and dataset settings."""

    task: str
    models: tuple[str, ...]
    settings: dict[str, object] = field(default_factory=dict)


EXAMPLES = {
    "narm": Example(
        "four-armed bandit with gains and losses",
        (
            "banditNarm_4par",
            "banditNarm_lapse",
            "banditNarm_lapse_decay",
            "banditNarm_singleA_lapse",
            "banditNarm_2par_lapse",
        ),
        {"n_options": 4},
    ),
    "prl": Example(
        "probabilistic reversal learning, three blocks",
        (
            "prl_fictitious",
            "prl_fictitious_woa",
            "prl_fictitious_rp",
            "prl_fictitious_rp_woa",
            "prl_rp",
            "prl_ewa",
        ),
    ),
    "gng": Example("orthogonalised go/no-go", ("gng_m1", "gng_m2", "gng_m3", "gng_m4")),
    "pst": Example("probabilistic selection, training and test phase", ("pst_Q", "pst_gainloss_Q")),
    "igt": Example(
        "Iowa gambling task",
        ("igt_pvl_delta", "igt_pvl_decay", "igt_vpp", "igt_orl"),
        {"scale": {"gain": 0.01, "loss": 0.01}},
    ),
    "ts": Example("two-step task", ("ts_par4", "ts_par6", "ts_par7")),
    "dd": Example("delay discounting", ("dd_exp", "dd_hyperbolic", "dd_cs")),
    "ra": Example("risk aversion", ("ra_prospect", "ra_noLA", "ra_noRA")),
    "ug": Example("ultimatum game", ("ug_delta", "ug_bayes")),
}


def config_text(family: str, example: Example, columns: list[str]) -> str:
    """The YAML config fitting ``family``'s example (columns: the file's, in order)."""
    mapping = "\n".join(f"      {c}: {c}" for c in columns)
    lines = [
        f"# cogfit example: {example.task}, simulated by cogfit.tasks.{family}.",
        "# Written by data/examples/make_examples.py; run it with",
        f"#   snakemake --cores 4 --configfile config/examples/{family}.yaml",
        f"results: results/examples/{family}",
        "",
        "datasets:",
        f"  {family}:",
        f"    path: data/examples/{family}.csv",
        "    columns:             # cogfit name: raw column name",
        mapping,
        "    choice_base: 1       # options and codes are numbered from 1",
    ]
    for key, value in example.settings.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k}: {v}" for k, v in value.items())
            lines.append(f"    {key}: {{{inner}}}")
        else:
            lines.append(f"    {key}: {value}")
    lines += [
        f"    models: [{', '.join(example.models)}]",
        "",
        "report:",
        f'  title: "cogfit example: {example.task}"',
        "",
    ]
    return "\n".join(lines)


def write(family: str, example: Example, data_dir: Path, config_dir: Path) -> None:
    """The family's data, truth and config files."""
    trials, truth = importlib.import_module(f"cogfit.tasks.{family}").example(SEED)
    trials.to_csv(data_dir / f"{family}.csv", index=False, lineterminator="\n")
    truth.to_csv(data_dir / f"{family}_truth.csv", index=False, lineterminator="\n")
    text = config_text(family, example, list(trials.columns))
    (config_dir / f"{family}.yaml").write_text(text, encoding="utf-8")


def main(data_dir: Path = HERE, config_dir: Path = CONFIGS) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    for family, example in EXAMPLES.items():
        write(family, example, data_dir, config_dir)


if __name__ == "__main__":
    main()

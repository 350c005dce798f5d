"""Paper figures: files in every format at the configured size, drawn from the tables.

References: the schema file read as plain YAML (defaults), the PNG header and the PDF/SVG
page size written from width and dpi, the input tables themselves (what each panel must
show) and Pearson's r written out as sums."""

from __future__ import annotations

import io
import math
import re
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml
from synthetic import make_comparison, make_ppc, write_fit_artifacts
from workflow_helpers import REPO, jobs_planned, make_workdir, snakemake

from cogfit import figure_files, figures
from cogfit.errors import ConfigError, DataError
from cogfit.figures import (
    FigureStyle,
    FitArtifacts,
    correlation_figure,
    estimates_figure,
    natural_sorted,
    ppc_figure,
    run_figures,
    short_labels,
)
from cogfit.io import write_parquet

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
IDS = ["s10", "s2", "s1", "s9", "s3", "s20"]
GROUPS = ["patient", "control"]
STYLE = FigureStyle(formats=("pdf", "png", "svg"), width=3.3, dpi=100, font_size=7)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def fit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fit")
    return write_fit_artifacts(
        folder, IDS, GROUPS, blocks=["1", "2"], flagged=("s9",), rope={"alpha": 0.05}
    )


@pytest.fixture(scope="module")
def written(fit: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("figures")
    table, _ = make_comparison(["rw", "rw_dual"], IDS, GROUPS, warn=("rw",))
    write_parquet(table, out / "comparison_input.parquet")
    artifacts = FitArtifacts("rw", fit["posterior"], fit["summary"], fit["contrasts"], fit["ppc"])
    return run_figures("demo", out / "figs", STYLE, [artifacts], out / "comparison_input.parquet")


# --------------------------------------------------------------------------- style


def test_style_defaults_are_the_schemas() -> None:
    section = SCHEMA["properties"]["figures"]["properties"]
    style = FigureStyle()
    assert set(section) == {"formats", "width", "dpi", "font_size"}
    assert list(style.formats) == section["formats"]["default"]
    assert (style.width, style.dpi, style.font_size) == tuple(
        section[k]["default"] for k in ("width", "dpi", "font_size")
    )
    assert FigureStyle.from_config({}) == style == FigureStyle.from_config(None)
    assert FigureStyle.from_config({"formats": ["svg"], "dpi": 72}).formats == ("svg",)
    with pytest.raises(ConfigError, match=r"figures\.formats"):
        FigureStyle.from_config({"formats": ["gif"]})
    with pytest.raises(ConfigError, match=r"figures\.colour"):
        FigureStyle.from_config({"colour": "red"})


def test_png_is_always_written_because_the_report_embeds_it() -> None:
    assert FigureStyle(formats=("pdf",)).file_formats == ("pdf", "png")
    assert FigureStyle(formats=("png", "svg")).file_formats == ("png", "svg")


def test_drawing_leaves_no_global_style_behind(fit: dict[str, Path]) -> None:
    before = dict(matplotlib.rcParams)
    summary = pd.read_parquet(fit["summary"])
    correlation_figure(summary, {}, FigureStyle(font_size=23))
    assert dict(matplotlib.rcParams) == before


# --------------------------------------------------------------------------- files


def test_every_figure_in_every_format_at_the_configured_size(written: list[Path]) -> None:
    folder = written[0].parent
    stems = ["rw_estimates", "rw_ppc", "rw_correlations", "comparison"]
    expected = {folder / f"{s}.{fmt}" for s in stems for fmt in ("pdf", "png", "svg")}
    assert set(written) == expected
    assert set(folder.iterdir()) == expected  # no temporaries left behind
    width_pt = STYLE.width * 72
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".png":
            width, height = png_size(data)
            assert width == round(STYLE.width * STYLE.dpi), path.name
            assert height > 0
        elif path.suffix == ".pdf":
            assert data.startswith(b"%PDF")
            assert b"/Subtype /Image" not in data  # vector: no raster image inside
            box = re.search(rb"/MediaBox \[ ?0 0 ([0-9.]+) ([0-9.]+) ?\]", data)
            assert box and float(box.group(1)) == pytest.approx(width_pt), path.name
        else:
            text = data.decode("utf-8")
            assert "<svg" in text and "<image" not in text
            assert re.search(rf'width="{width_pt:g}pt"', text), path.name


def test_compact_png_keeps_the_picture() -> None:
    """A palette re-encoding: same pixel size, every pixel within a few of 256 levels of
    the original (both read back by Pillow), and a palette PNG passes unchanged."""
    from PIL import Image

    fig = ppc_figure(make_ppc(["a", "b"], ["1", "2"]), FigureStyle(dpi=60))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    raw = buf.getvalue()
    small = figures.compact_png(raw)
    assert len(small) < len(raw)
    before = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=int)
    after = np.asarray(Image.open(io.BytesIO(small)).convert("RGB"), dtype=int)
    assert before.shape == after.shape
    assert np.abs(before - after).max() <= 16 and np.abs(before - after).mean() < 0.5
    assert (after[0, 0] == 255).all()  # the white background stays white
    assert Image.open(io.BytesIO(small)).mode == "P"
    assert figures.compact_png(small) == small


def test_heights_follow_the_content(tmp_path: Path) -> None:
    """More groups, more rows: a taller estimates figure at the same width."""
    few = write_fit_artifacts(tmp_path / "few", IDS, ["a", "b"])
    many = write_fit_artifacts(tmp_path / "many", IDS, ["a", "b", "c"])
    sizes = []
    for paths in (few, many):
        summary = pd.read_parquet(paths["summary"])
        contrasts = pd.read_parquet(paths["contrasts"])
        fig = estimates_figure(summary, figures.participant_groups(paths["posterior"]), contrasts)
        sizes.append(tuple(fig.get_size_inches()))
    assert sizes[0][0] == sizes[1][0] == FigureStyle().width
    assert sizes[1][1] > sizes[0][1]


def test_figure_names_are_defined_once() -> None:
    assert figure_files.fit_stem("rw_dual", "ppc") == "rw_dual_ppc"
    with pytest.raises(KeyError):
        figure_files.fit_stem("rw", "trace")
    files = figure_files.dataset_figure_files("res", "d1", ["rw"], ["pdf", "png"])
    assert files == [
        f"res/figures/d1/{stem}.{fmt}"
        for stem in ("comparison", "rw_estimates", "rw_ppc", "rw_correlations")
        for fmt in ("pdf", "png")
    ]
    assert figure_files.figure_file("res", "d1", "comparison", "png") in files


def test_missing_table_columns_are_one_clear_error(tmp_path: Path) -> None:
    write_parquet(pd.DataFrame({"model": ["rw"]}), tmp_path / "cmp.parquet")
    with pytest.raises(DataError, match=r"cmp\.parquet: model comparison table lacks"):
        run_figures("d", tmp_path, STYLE, comparison=tmp_path / "cmp.parquet")


# --------------------------------------------------------------------------- content


def _natural(values: list[str]) -> list[str]:
    """Natural order written out for the test ids: prefix, then the number."""
    return sorted(values, key=lambda v: (re.sub(r"\d+", "", v), int(re.sub(r"\D", "", v) or 0)))


def test_numeric_ids_sort_as_numbers() -> None:
    assert natural_sorted(["10", "2", "1", "s10", "s9", "s1b", "S2"]) == [
        "1",
        "2",
        "10",
        "s1b",
        "S2",
        "s9",
        "s10",
    ]
    assert natural_sorted(IDS) == _natural(IDS)


def test_estimates_show_the_summary_and_contrast_numbers(fit: dict[str, Path]) -> None:
    summary = pd.read_parquet(fit["summary"])
    contrasts = pd.read_parquet(fit["contrasts"])
    groups = figures.participant_groups(fit["posterior"])
    fig = estimates_figure(summary, groups, contrasts, STYLE)
    assert [ax.get_title() for ax in fig.axes] == ["alpha", "beta", "Δ alpha", "Δ beta"]
    order = ["control", "patient"]  # natural order, drawn top to bottom
    for ax, param in zip(fig.axes[:2], ["alpha", "beta"], strict=True):
        rows = summary[summary["variable"] == f"{param}_mu_natural"].set_index("group")
        assert [t.get_text() for t in ax.get_yticklabels()] == order  # ticks top first
        means = ax.collections[-1].get_offsets()  # the group means, drawn last
        drawn = {order[len(order) - 1 - round(y)]: x for x, y in means}
        assert drawn == pytest.approx(rows.loc[order, "mean"].to_dict())
        # behind: one scatter of participant means per group, then the HDI lines and means
        backdrop = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections[:-2]])
        people = summary[(summary["variable"] == param) & (summary["level"] == "participant")]
        assert sorted(backdrop) == pytest.approx(sorted(people["mean"]))
    for ax, param in zip(fig.axes[2:], ["alpha", "beta"], strict=True):
        row = contrasts[(contrasts["parameter"] == param) & (contrasts["scale"] == "natural")]
        assert [t.get_text() for t in ax.texts] == [f"P(>0) = {row['p_greater'].item():.2f}"]
        x = ax.collections[-1].get_offsets()[0, 0]
        assert x == pytest.approx(row["mean"].item())
        (line,) = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
        assert line.get_segments()[0][:, 0] == pytest.approx(
            [row["hdi_low"].item(), row["hdi_high"].item()]
        )
    shaded = [[c for c in ax.collections if "Poly" in type(c).__name__] for ax in fig.axes[2:]]
    assert [len(s) for s in shaded] == [1, 0]  # the ROPE: set for alpha only


def test_one_group_draws_no_contrast_panels(tmp_path: Path) -> None:
    paths = write_fit_artifacts(tmp_path, IDS, ["all"])
    contrasts = pd.read_parquet(paths["contrasts"])
    assert contrasts.empty
    fig = estimates_figure(pd.read_parquet(paths["summary"]), {}, contrasts, STYLE)
    assert [ax.get_title() for ax in fig.axes] == ["alpha", "beta"]


def test_correlations_are_pearson_r_of_the_participant_means() -> None:
    rng = np.random.default_rng(3)
    ids = ["p1", "p2", "p3", "p10", "p11"]
    means = {"a": rng.normal(size=5), "b": rng.normal(size=5), "c": rng.normal(size=5)}
    means["c"] = means["a"] * 2 + rng.normal(0, 0.1, 5)  # a strong correlation
    rows = [
        {"variable": p, "parameter": p, "group": None, "participant": who, "level": "participant"}
        | {"mean": float(v[i]), "hdi_low": 0.0, "hdi_high": 1.0, "hdi_prob": 0.9}
        for p, v in means.items()
        for i, who in enumerate(ids)
    ]
    rows += [
        {"variable": f"{p}_mu_natural", "parameter": p, "group": "g", "participant": None}
        | {"level": "group", "mean": 0.0, "hdi_low": 0.0, "hdi_high": 1.0, "hdi_prob": 0.9}
        for p in means
    ]
    summary = pd.DataFrame(rows)
    fig = correlation_figure(summary, {i: "g" for i in ids}, STYLE)
    panels = [ax for ax in fig.axes if ax.texts]
    assert len(panels) == 3  # the lower triangle of 3 parameters
    for ax in panels:
        x_name, y_name = ax.get_xlabel(), ax.get_ylabel()
        x_off = ax.collections[0].get_offsets()[:, 0]
        y_off = ax.collections[0].get_offsets()[:, 1]
        # which pair this panel is: the one whose means it drew
        pair = [
            (i, j)
            for i in means
            for j in means
            if np.allclose(x_off, means[i]) and np.allclose(y_off, means[j])
        ]
        assert len(pair) == 1 and x_name in ("", pair[0][0]) and y_name in ("", pair[0][1])
        x, y = means[pair[0][0]], means[pair[0][1]]
        mx, my = sum(x) / len(x), sum(y) / len(y)
        sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
        sxx = sum((a - mx) ** 2 for a in x)
        syy = sum((b - my) ** 2 for b in y)
        assert ax.texts[0].get_text() == f"r = {sxy / math.sqrt(sxx * syy):.2f}"


def test_ppc_panels_show_the_table(fit: dict[str, Path]) -> None:
    ppc = pd.read_parquet(fit["ppc"])
    curve = ppc.index[ppc["statistic"] == "learning_curve"]
    ppc.loc[curve, "flagged"] = [i % 3 == 0 for i in range(len(curve))]  # some ringed
    fig = ppc_figure(ppc, STYLE)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "control, block 1",
        "patient, block 1",
        "control, block 2",
        "patient, block 2",
        "control, all blocks",
        "patient, all blocks",
        "control: stay",
        "patient: stay",
    ]
    curves = ppc[ppc["statistic"] == "learning_curve"]
    n_ringed = 0
    for ax, title in zip(fig.axes[:6], titles, strict=False):
        group, where = title.split(", ")
        block = where.removeprefix("block ").replace("all blocks", "all")
        rows = curves[(curves["group"] == group) & (curves["block"] == block)].sort_values("bin")
        predicted, observed = ax.lines
        assert np.allclose(observed.get_ydata(), rows["observed"])
        assert np.allclose(predicted.get_ydata(), rows["predicted_mean"])
        mid = (rows["trial_low"] + rows["trial_high"]) / 2
        assert np.allclose(observed.get_xdata(), mid)
        rings = [c.get_offsets() for c in ax.collections if "Path" in type(c).__name__]
        ringed = np.concatenate([*rings, np.empty((0, 2))])[:, 1]
        assert sorted(ringed) == pytest.approx(sorted(rows.loc[rows["flagged"], "observed"]))
        n_ringed += len(ringed)
    assert n_ringed == int(curves.index.isin(curve[::3]).sum()) > 0
    stays = ppc[ppc["statistic"] == "stay"]
    for ax, group in zip(fig.axes[6:], ["control", "patient"], strict=True):
        rows = stays[stays["group"] == group].set_index("condition")
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels == ["after better", "after worse"]
        points = [c for c in ax.collections if type(c).__name__ == "PathCollection"]
        dots = np.concatenate([c.get_offsets() for c in points if c.get_sizes()[0] < 60])
        assert list(dots[:, 1]) == pytest.approx(list(rows.loc[["better", "worse"], "observed"]))
        means = [line.get_ydata()[0] for line in ax.lines if len(line.get_ydata()) == 1]
        assert means == pytest.approx(rows.loc[["better", "worse"], "predicted_mean"].to_numpy())


def test_comparison_rows_are_the_table_best_first(tmp_path: Path) -> None:
    table, _ = make_comparison(["rw", "rw_dual", "rw_persev"], IDS, GROUPS)
    fig = figures.comparison_figure(table, STYLE)
    left, right = fig.axes
    assert [t.get_text() for t in left.get_yticklabels()] == list(table["model"])
    points = left.lines[0].get_xdata()
    assert (table["elpd_diff"] >= 0).all()  # ArviZ's sign: how much worse than the best
    assert np.allclose(points, -table["elpd_diff"])
    assert np.allclose([p.get_width() for p in right.patches], table["bms_pxp"])


def test_short_labels_stay_distinct() -> None:
    same_ends = ["a" * 30 + "x" + "b" * 10, "a" * 30 + "y" + "b" * 10, "a" * 20 + "…"]
    labels = short_labels([*same_ends, "short"])
    assert labels[2:] == ["a" * 20 + "…", "short"]  # an id that reads like a cut one stays
    assert len(set(labels)) == 4 and all(len(x) <= 27 for x in labels)


# --------------------------------------------------------------------------- real fits


def test_real_fit_figures_and_groups(analysis_fits: dict[str, Path], tmp_path: Path) -> None:
    """On a real NUTS fit: the groups read from the posterior are the trials table's, and
    every figure is drawn from its artifacts."""
    from cogfit.contrasts import run_contrasts
    from cogfit.diagnostics import summarise
    from cogfit.fitted import load_fit
    from cogfit.models import get_model

    trials = pd.read_parquet(analysis_fits["trials"])
    truth = dict(trials.groupby("participant")["group"].first())
    posterior = analysis_fits["rw_dual"]
    assert figures.participant_groups(posterior) == truth
    write_parquet(summarise(load_fit(posterior).idata), tmp_path / "summary.parquet")
    run_contrasts(posterior, tmp_path / "contrasts.parquet", hdi_prob=0.9)
    fit = FitArtifacts(
        "rw_dual", posterior, tmp_path / "summary.parquet", tmp_path / "contrasts.parquet"
    )
    style = FigureStyle(formats=("png",), dpi=60)
    drawn = figures.fit_figures(fit, style)
    # panels in the model's parameter order, not the order the summary file stores them
    params = list(get_model("rw_dual").param_names)
    assert [ax.get_title() for ax in drawn["estimates"].axes] == [
        *params,
        *(f"Δ {p}" for p in params),
    ]
    paths = run_figures("sim", tmp_path / "figs", style, [fit])
    assert sorted(p.name for p in paths) == ["rw_dual_correlations.png", "rw_dual_estimates.png"]


# --------------------------------------------------------------------------- workflow


def test_snakemake_figures_plans_only_figure_jobs(tmp_path: Path) -> None:
    """With every artifact in place and the figures gone, `snakemake figures` plans the
    figure jobs alone: no fit, no analysis."""
    work = make_workdir(tmp_path)
    dry = snakemake(work, "-n", "all").stdout
    outputs = [
        path.strip()
        for line in dry.splitlines()
        if line.strip().startswith("output:")
        for path in line.split(":", 1)[1].split(",")
    ]
    for path in outputs:
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).touch()
    snakemake(work, "--touch", "all")  # mtimes in the order of the DAG
    shutil.rmtree(work / "results/figures")
    planned = jobs_planned(snakemake(work, "-n", "figures").stdout)
    models = yaml.safe_load((work / "config/config.yaml").read_text())["datasets"]
    n_fits = sum(len(d["models"]) for d in models.values())
    assert planned == {"figures_fit": n_fits, "figures_comparison": len(models), "figures": 1}


def test_group_misses_count_per_block_curves_and_stay_rows() -> None:
    from cogfit.figures import group_misses

    rows = [
        ("learning_curve", "1", 10, True),
        ("learning_curve", "2", 10, False),
        ("learning_curve", "all", 20, True),  # pooled: the per-block rows count instead
        ("learning_curve", "2", 0, True),  # an empty bin checks nothing
        ("stay", "all", 5, True),
        ("participant", "all", 8, True),
    ]
    ppc = pd.DataFrame(rows, columns=["statistic", "block", "n", "flagged"])
    assert group_misses(ppc) == (2, 3)
    no_blocks = ppc[ppc["block"] == "all"]
    assert group_misses(no_blocks) == (2, 2)

"""The HTML report, built from synthetic artifacts written exactly as the pipeline writes them.

The numbers the report must show are read back from the input tables and formatted here
(three significant digits, probabilities to two decimals), not taken from the report's own
helpers; the page is parsed with the standard library's HTML parser."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure
from synthetic import PRIORS, make_comparison, make_idata, make_ppc, write_fit_artifacts

from cogfit import figure_files, figures
from cogfit.contrasts import run_contrasts
from cogfit.diagnostics import Thresholds, check, summarise
from cogfit.errors import CogfitError, ConfigError
from cogfit.io import save_figure, write_netcdf, write_parquet
from cogfit.report import (
    MODEL_ARTIFACTS,
    DatasetResults,
    ModelResults,
    ReportOptions,
    build_report,
    collect_results,
    run_report,
)

PARTICIPANTS = ["p10", "<b>x</b>", "p2", "p1"]
LONG_ID = "sub-" + "x" * 4996  # 5,000 characters without a space
REASON = "missed 35% of trials (> 20%)"
OPTIONS = ReportOptions(generated_at="2025-01-01T00:00:00+00:00")
SAMPLER_SETTINGS = {"chains": 4, "num_warmup": 500, "metric": "auto"}
SCHEMA = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml").read_text()
)
MODELS = ("rw", "rw_dual")
FLAGGED = ("p10", "p2")
FIGURE_STYLE = figure_files.FigureStyle(formats=("png",), dpi=50)


def _participants_table(participants: Sequence[str] = PARTICIPANTS) -> pd.DataFrame:
    ids = [*participants, "p99"]
    return pd.DataFrame(
        {
            "participant": ids,
            "group": ["control", "patient", "control", "patient", "patient"],
            "n_trials": [100] * 5,
            "n_missed": [2, 0, 5, 1, 35],
            "missed_fraction": [0.02, 0.0, 0.05, 0.01, 0.35],
            "p_best": [0.8, 0.7, 0.75, 0.9, 0.5],
            "excluded": [False] * 4 + [True],
            "reason": [""] * 4 + [REASON],
        }
    )


def _write_model(
    root: Path,
    dataset: str,
    model: str,
    kind: str,
    participants: Sequence[str] = PARTICIPANTS,
) -> ModelResults:
    """The diagnose stage's artifacts of one synthetic fit (no analysis artifacts)."""
    folder = root / dataset / model
    fit = ModelResults(
        model,
        folder / "posterior.nc",
        folder / "summary.parquet",
        folder / "diagnostics.parquet",
        folder / "trace.png",
        folder / "rank.png",
    )
    idata = make_idata(
        kind, list(participants), n_draws=150, model=model, dataset=dataset, priors=PRIORS
    )
    # two config keys of the sampler section and one that is none (from an older fit)
    idata.posterior.attrs["sampler_settings"] = json.dumps(SAMPLER_SETTINGS)
    write_netcdf(idata, fit.posterior)
    summary = summarise(idata, hdi_prob=0.9)
    write_parquet(summary, fit.summary)
    thresholds = Thresholds(ess_bulk_min=100, ess_tail_min=100, rhat_max=1.05)
    write_parquet(check(idata, thresholds, summary), fit.diagnostics)
    for png in (fit.trace_png, fit.rank_png):  # stand-ins: the real plots are slow to draw
        save_figure(Figure(figsize=(1, 1)), png)
    return fit


def _write_analysed_model(root: Path, model: str, kind: str) -> ModelResults:
    """A fit with every artifact the report rule passes: analysis tables (contrasts by
    the real stage) and the figure PNGs of :func:`cogfit.figures.run_figures`."""
    base = _write_model(root, "demo", model, kind)
    folder = root / "demo" / model
    contrasts, ppc = folder / "contrasts.parquet", folder / "ppc.parquet"
    run_contrasts(base.posterior, contrasts, hdi_prob=0.9, rope={"alpha": 0.05})
    groups = ["control", "patient"]
    write_parquet(make_ppc(groups, ["1", "2"], list(PARTICIPANTS), FLAGGED), ppc)
    regressors = folder / "regressors.parquet"
    write_parquet(pd.DataFrame({"participant": ["p1"]}), regressors)
    artifacts = figures.FitArtifacts(model, base.posterior, base.summary, contrasts, ppc)
    figs_dir = root / "figures" / "demo"
    figures.run_figures("demo", figs_dir, FIGURE_STYLE, [artifacts])
    stems = {k: figure_files.fit_stem(model, k) for k in figure_files.FIT_FIGURES}
    pngs = {f"{k}_png": figs_dir / f"{stem}.png" for k, stem in stems.items()}
    return dataclasses.replace(base, contrasts=contrasts, ppc=ppc, regressors=regressors, **pngs)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> DatasetResults:
    root = tmp_path_factory.mktemp("results")
    write_parquet(_participants_table(), root / "demo" / "participants.parquet")
    fits = tuple(
        _write_analysed_model(root, m, k) for m, k in zip(MODELS, ["good", "bad"], strict=True)
    )
    table, per = make_comparison(list(MODELS), PARTICIPANTS, warn=("rw_dual",))
    write_parquet(table, root / "demo" / "model_comparison.parquet")
    write_parquet(per, root / "demo" / "model_comparison_participants.parquet")
    figures.run_figures(
        "demo",
        root / "figures" / "demo",
        FIGURE_STYLE,
        comparison=root / "demo/model_comparison.parquet",
    )
    return DatasetResults(
        "demo",
        root / "demo" / "participants.parquet",
        fits,
        comparison=root / "demo" / "model_comparison.parquet",
        comparison_participants=root / "demo" / "model_comparison_participants.parquet",
        comparison_png=root / "figures" / "demo" / "comparison.png",
    )


@pytest.fixture(scope="module")
def report(results: DatasetResults) -> str:
    return build_report("Test <report>", [results], OPTIONS)


class _Collector(HTMLParser):
    """Gathers the attributes that could reach outside the file, the text of headings and
    the text of every section (by id)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "h3":
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)


def _parse(text: str) -> _Collector:
    parser = _Collector()
    parser.feed(text)
    parser.close()
    return parser


def _section(report: str, start: str, end: str) -> str:
    """The report's text from heading ``start`` to the next ``end`` marker, unescaped."""
    i = report.index(start)
    j = report.index(end, i + len(start))
    return html.unescape(report[i:j])


def _model_section(report: str, anchor: str) -> str:
    i = report.index(f'<section id="{anchor}">')
    return report[i : report.index("</section>", i)]


def _g3(value: float) -> str:
    return f"{value:.3g}"


def _in_order(text: str, items: Sequence[str]) -> bool:
    positions = [text.index(f"<td>{i}</td>") for i in items]
    return positions == sorted(positions)


# --------------------------------------------------------------------------- the page


def test_report_is_self_contained(report: str) -> None:
    parsed = _parse(report)
    assert not [u for u in parsed.links if u.lower().startswith(("http:", "https:", "//"))]
    # per model: trace, rank, estimates, ppc, participants, correlations; plus comparison
    assert len(parsed.images) == 6 * len(MODELS) + 1
    assert all(src.startswith("data:image/png;base64,") for src in parsed.images)
    assert "<link" not in report and "<script" not in report
    assert "&lt;span" not in report  # badges are markup, not escaped text


def test_report_embeds_the_figure_files(report: str, results: DatasetResults) -> None:
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in _parse(report).images}
    for fit in results.models:
        for path in (fit.estimates_png, fit.ppc_png, fit.correlations_png):
            assert Path(path).read_bytes() in embedded, path
    assert Path(results.comparison_png).read_bytes() in embedded


def test_report_names_and_badges_match_diagnostics(report: str, results: DatasetResults) -> None:
    headings = _parse(report).headings
    assert "Test &lt;report&gt;" in report and "demo" in report
    for fit in results.models:
        checks = pd.read_parquet(fit.diagnostics).set_index("check")
        badge = "PASS" if checks.loc["overall", "passed"] else "FAIL"
        assert f"Model {fit.model} {badge}" in headings
    assert [h for h in headings if h.startswith("Model r")] == [
        "Model rw PASS",
        "Model rw_dual FAIL",
    ]
    assert 'class="fail"' in report  # the failed checks are highlighted


def test_report_shows_cleaning_provenance_and_comparison(report: str) -> None:
    assert html.escape(REASON) in report
    assert "4 included" in report and "1 excluded" in report
    assert "Group means across models" in report
    assert "0.10.2" in report and "d" * 16 in report and "num_warmup=500" in report
    assert "likelihood scan" in report and "associative" in report
    assert "2025-01-01T00:00:00+00:00" in report
    assert "90% HDI" in report
    assert "How to read this report" in report


def test_sampler_settings_are_explained_in_the_schemas_words(report: str) -> None:
    legend = re.search(r"<details><summary>What the sampler(.*?)</details>", report, re.S)
    assert legend, "no legend of the sampler settings"
    described = SCHEMA["properties"]["sampler"]["properties"]
    for key in ("chains", "metric"):
        assert f"<td>{key}</td>" in legend.group(1)
        assert described[key]["description"] in html.unescape(legend.group(1)), key
    assert "num_warmup" not in legend.group(1)  # no config key: nothing to explain


def test_report_escapes_user_strings(report: str) -> None:
    assert "<b>x</b>" not in report
    assert html.escape("<b>x</b>") in report
    assert "<per trial>" not in report and "learning rate &lt;per trial&gt;" in report


# --------------------------------------------------------------------------- new sections


def test_model_comparison_table_warning_and_bms(report: str, results: DatasetResults) -> None:
    table = pd.read_parquet(results.comparison)
    section = _section(report, "<h3>Model comparison</h3>", "</section>")
    for row in table.itertuples():
        assert f"<td>{row.model}</td><td>{_g3(row.elpd)} ({_g3(row.se)})</td>" in section
        assert f"<td>{row.bms_pxp:.2f}</td><td>{row.n_best}</td></tr>" in section
    order = [section.index(f"<td>{m}</td>") for m in table.sort_values("rank")["model"]]
    assert order == sorted(order)  # best first
    assert 'class="alert"' in section and "compare.method: kfold" in section
    warned = table[table["k_warning"]].iloc[0]
    assert f"rw_dual ({warned.k_bad + warned.k_very_bad} participant(s)" in section
    best = table.loc[table["bms_pxp"].idxmax()]
    assert f"highest for <b>{best.model}</b>\n(pxp = {best.bms_pxp:.2f})" in section
    assert f"BOR = {table['bms_bor'].iloc[0]:.2f}" in section
    for row in table.itertuples():
        assert f"<b>{row.model}</b> for {row.n_best}" in section
    per = pd.read_parquet(results.comparison_participants)
    assert per["best"].sum() == len(PARTICIPANTS) == table["n_best"].sum()


def test_no_warning_box_when_pareto_k_is_fine(results: DatasetResults, tmp_path: Path) -> None:
    table, per = make_comparison(list(MODELS), PARTICIPANTS)
    write_parquet(table, tmp_path / "c.parquet")
    write_parquet(per.assign(group=None), tmp_path / "p.parquet")  # groups not recorded
    quiet = DatasetResults(
        "demo", results.participants, results.models, tmp_path / "c.parquet", tmp_path / "p.parquet"
    )
    text = build_report("t", [quiet], OPTIONS)
    assert "<h3>Model comparison</h3>" in text and 'class="alert"' not in text
    assert "compare.method: kfold" not in text
    details = text[text.index("Posterior model probability of every participant") :]
    cleaning = _participants_table().set_index("participant")["group"]
    for who in ("p1", "p2", "p10"):  # the cleaning table's group instead
        assert f"<tr><td>{who}</td><td>{cleaning[who]}</td>" in details


def test_kfold_comparison_has_no_pareto_k_columns(results: DatasetResults, tmp_path: Path) -> None:
    table, per = make_comparison(list(MODELS), PARTICIPANTS, method="kfold")
    write_parquet(table, tmp_path / "c.parquet")
    write_parquet(per, tmp_path / "p.parquet")
    kfold = DatasetResults(
        "demo", results.participants, results.models, tmp_path / "c.parquet", tmp_path / "p.parquet"
    )
    section = _section(build_report("t", [kfold], OPTIONS), "<h3>Model comparison", "</section>")
    assert "exact K-fold cross-validation by participant" in section
    assert "Pareto k" not in section and "elpd diff from best (SE)" in section
    for row in table.itertuples():
        assert f"<td>{_g3(row.elpd_diff)} ({_g3(row.diff_se)})</td>" in section


def test_contrasts_show_natural_scale_mean_hdi_p_and_rope(
    report: str, results: DatasetResults
) -> None:
    for j, fit in enumerate(results.models):
        section = html.unescape(_model_section(report, f"d0m{j}"))
        rows = pd.read_parquet(fit.contrasts)
        natural = rows[rows["scale"] == "natural"]
        assert len(natural) == 2 and "<h4>Group contrasts (natural scale)</h4>" in section
        for row in natural.itertuples():
            cells = (
                f"<td>{row.parameter}</td><td>{row.group_a} − {row.group_b}</td>"
                f"<td>{_g3(row.mean)} [{_g3(row.hdi_low)}, {_g3(row.hdi_high)}]</td>"
                f"<td>{row.p_greater:.2f}</td>"
            )
            assert cells in section
        alpha = natural[natural["parameter"] == "alpha"].iloc[0]
        assert f"<td>[-0.05, 0.05]</td><td>{alpha.p_in_rope:.2f}</td>" in section
        for row in rows[rows["scale"] == "unconstrained"].itertuples():
            assert f"{_g3(row.mean)} [{_g3(row.hdi_low)}" not in section


def test_ppc_lists_flagged_participants_as_numbers_sort(
    report: str, results: DatasetResults
) -> None:
    section = _model_section(report, "d0m0")
    ppc = pd.read_parquet(results.models[0].ppc)
    people = ppc[ppc["statistic"] == "participant"].set_index("participant")
    assert f"{len(FLAGGED)} of {len(PARTICIPANTS)} participants flagged" in section
    assert _in_order(section[section.index("participants flagged") :], ["p2", "p10"])
    for who in FLAGGED:
        assert f"<td>{people.loc[who, 'p_value']:.3f}</td>" in section
    not_flagged = set(people.index) - set(FLAGGED)
    flagged_table = section[section.index("participants flagged") : section.index("Priors")]
    assert not any(f"<td>{html.escape(w)}</td>" in flagged_table for w in not_flagged)


def test_priors_are_the_recorded_specs(report: str) -> None:
    section = _section(report, "<h4>Priors used</h4>", "</table>")
    for spec in PRIORS:
        assert f"<td>{spec['name']}</td><td>{spec['description']}</td>" in section
        assert f"Normal({spec['mean_loc']:g}, {spec['mean_scale']:g})" in section
    # alpha as a fit from before sd_prior records it (none: half-normal)
    assert "<td>HalfNormal(0.5)</td>" in section and "<td>HalfCauchy(0.25)</td>" in section
    assert "<td>softplus (upper 20)</td>" in section


def test_regressors_line_names_the_file(report: str, results: DatasetResults) -> None:
    for j, fit in enumerate(results.models):
        section = _model_section(report, f"d0m{j}")
        assert f"<code>{html.escape(str(fit.regressors))}</code>" in section


def test_numeric_ids_sort_as_numbers_everywhere(report: str) -> None:
    ordered = ["p1", "p2", "p10"]  # natural order (as text, "p10" < "p2")
    participants = _section(report, "<h4>Participant estimates</h4>", "</table>")
    assert _in_order(participants, ordered)
    comparison = report[report.index("Posterior model probability of every participant") :]
    assert _in_order(comparison[: comparison.index("</details>")], ordered)


def test_one_group_and_empty_tables_still_render(tmp_path: Path) -> None:
    ids = ["s1", "s2", "s3"]
    table = _participants_table([*ids, "s4"]).assign(group="all")
    write_parquet(table, tmp_path / "participants.parquet")
    base = _write_model(tmp_path, "one", "rw", "good", participants=[*ids, "s4"])
    paths = write_fit_artifacts(tmp_path / "a", [*ids, "s4"], ["all"])
    empty_ppc = make_ppc(["all"], participants=[*ids, "s4"]).iloc[:0]
    write_parquet(empty_ppc, tmp_path / "ppc.parquet")
    fit = ModelResults(
        "rw", paths["posterior"], base.summary, base.diagnostics, base.trace_png,
        base.rank_png, contrasts=paths["contrasts"], ppc=tmp_path / "ppc.parquet",
    )  # fmt: skip
    comparison, per = make_comparison(["rw"], [*ids, "s4"], ["all"])
    write_parquet(comparison, tmp_path / "c.parquet")
    write_parquet(per.iloc[:0], tmp_path / "p.parquet")
    one = DatasetResults(
        "one", tmp_path / "participants.parquet", (fit,), tmp_path / "c.parquet",
        tmp_path / "p.parquet",
    )  # fmt: skip
    text = build_report("t", [one], OPTIONS)
    assert "One group only: nothing to contrast." in text
    assert "No participant flagged (0 checked)." in text
    assert "<h3>Model comparison</h3>" in text and "Group means across models" not in text
    assert "One model only" in text and "Bayesian model selection</h4>" not in text
    assert all(s.startswith("data:image/png;base64,") for s in _parse(text).images)


# --------------------------------------------------------------------------- figures drawn here


def _uri(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def _png_size(src: str) -> tuple[int, int]:
    """Width and height of a PNG data URI (from its IHDR chunk)."""
    png = base64.b64decode(src.removeprefix("data:image/png;base64,"))
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_long_ids_get_short_unique_figure_labels(tmp_path: Path) -> None:
    # two long ids that differ only in their last character, and two short ones
    ids = [LONG_ID, LONG_ID[:-1] + "y", "p03", "p04"]
    table = _participants_table(ids)
    write_parquet(table, tmp_path / "long" / "participants.parquet")
    fit = _write_model(tmp_path, "long", "rw", "good", participants=ids)
    results = DatasetResults("long", tmp_path / "long" / "participants.parquet", (fit,))
    text = build_report("t", [results], OPTIONS)
    # tables keep the whole id, in a cell that may wrap
    assert f'<td class="long">{LONG_ID}</td>' in text
    # figures drawn here have the style's width at the report's dpi, whatever the ids
    width = round(figure_files.FigureStyle().width * OPTIONS.dpi)
    stand_ins = {_png_size(_uri(fit.trace_png)), _png_size(_uri(fit.rank_png))}
    own = [s for s in _parse(text).images if _png_size(s) not in stand_ins]
    assert own and all(_png_size(s)[0] == width for s in own)

    summary = pd.read_parquet(fit.summary)
    groups = dict(zip(table["participant"], table["group"], strict=True))
    rows = figures.participant_estimates(summary, groups)
    fig = figures.participant_figure(rows, figures.parameters(summary))
    assert len(fig.axes) == 2  # alpha, beta
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert sorted(labels) == sorted(
            [f"{LONG_ID[:20]}…{LONG_ID[-6:]}", f"{LONG_ID[:20]}…{LONG_ID[-6:-1]}y", "p03", "p04"]
        )
        assert max(map(len, labels)) <= 30 and len(set(labels)) == len(ids)


def test_estimates_are_the_sites_the_names_module_names() -> None:
    """Group estimates are each parameter's natural-scale group mean, participant estimates
    its participant values: the figures ask :mod:`cogfit.names`, they build no names."""
    from cogfit.names import site_name

    summary = summarise(make_idata(n_draws=20, n_chains=2))
    groups = figures.group_estimates(summary)
    groups_of = {str(p): "control" for p in summary["participant"].dropna()}
    people = figures.participant_estimates(summary, groups_of)
    params = figures.parameters(summary)
    assert params == ["alpha", "beta"]
    assert set(groups["variable"]) == {site_name(p, "mu_natural") for p in params}
    assert set(people["variable"]) == {site_name(p, "theta") for p in params}
    assert len(groups) == 2 * 2 and len(people) == 2 * 6  # groups, participants per parameter


# --------------------------------------------------------------------------- options and inputs


def test_options_change_the_participant_section(results: DatasetResults) -> None:
    one_model = DatasetResults(results.dataset, results.participants, results.models[:1])
    options = ReportOptions(max_participants=2, generated_at="now")
    text = build_report("t", [one_model], options)
    assert "90% HDI" in text  # the summary's own probability labels the intervals
    assert "Showing 2 of 4 participants" in text
    shown = _section(text, "<h4>Participant estimates</h4>", "</table>")
    # the first two in natural order: "<" sorts before letters, "1" before "2" and "10"
    assert "<td><b>x</b></td>" in shown and "<td>p1</td>" in shown  # (unescaped here)
    assert "<td>p2</td>" not in shown and "<td>p10</td>" not in shown
    assert "Group means across models" not in text and "Model comparison" not in text
    hidden = build_report("t", [one_model], ReportOptions(participant_table=False))
    assert "Participant estimates" not in hidden


def test_run_report_writes_file_and_names_missing_inputs(
    results: DatasetResults, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    run_report("t", [results], out, OPTIONS)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    broken = DatasetResults("demo", tmp_path / "nope.parquet", results.models)
    with pytest.raises(CogfitError, match="nope.parquet"):
        build_report("t", [broken], OPTIONS)
    gone = DatasetResults("demo", results.participants, results.models, tmp_path / "c.parquet")
    with pytest.raises(CogfitError, match=r"c\.parquet"):
        build_report("t", [gone], OPTIONS)


def test_model_results_paths_are_every_given_artifact(results: DatasetResults) -> None:
    fit = results.models[0]
    assert len(fit.paths()) == len(MODEL_ARTIFACTS)  # every artifact given
    bare = ModelResults("rw", "a", "b", "c", "d", "e")
    assert bare.paths() == ("a", "b", "c", "d", "e")


def test_collect_results_groups_flat_inputs_by_dataset(results: DatasetResults) -> None:
    fits = [("a", "rw"), ("b", "rw"), ("b", "rw_dual")]
    models = [results.models[0], results.models[0], results.models[1]]
    artifacts = {k: [getattr(m, k) for m in models] for k in MODEL_ARTIFACTS}
    dataset_lists = {"comparison": ["ca.parquet", "cb.parquet"]}
    grouped = collect_results(
        ["a", "b"], fits, ["pa.parquet", "pb.parquet"], artifacts, dataset_lists
    )
    assert [d.dataset for d in grouped] == ["a", "b"]
    assert [m.model for m in grouped[1].models] == ["rw", "rw_dual"]
    assert grouped[1].participants == "pb.parquet" and grouped[1].models[1] == models[2]
    assert grouped[1].comparison == "cb.parquet" and grouped[0].comparison_png is None
    short = {k: v[:2] for k, v in artifacts.items()}
    with pytest.raises(ConfigError, match="line up"):
        collect_results(["a"], fits, ["pa.parquet"], short)
    with pytest.raises(ConfigError, match="unknown artifact"):
        collect_results(["a"], fits[:1], ["pa.parquet"], {"posteriors": ["x"]})


def test_report_options_from_config() -> None:
    options = ReportOptions.from_config({"title": "t", "dpi": 80, "participant_table": False})
    assert (options.dpi, options.participant_table, options.max_participants) == (80, False, 500)
    with pytest.raises(ConfigError, match="participant_table"):
        ReportOptions.from_config({"participant_table": "yes"})
    with pytest.raises(ConfigError, match="colour"):
        ReportOptions.from_config({"colour": "red"})


def test_the_columns_read_are_those_the_stages_write() -> None:
    """The report's column list against the writer's own."""
    from cogfit import comparison
    from cogfit import report as report_module

    assert set(report_module.COMPARISON_PARTICIPANT_COLUMNS) <= set(comparison.PARTICIPANT_COLUMNS)

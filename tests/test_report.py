"""The HTML report, built from synthetic artifacts written exactly as the pipeline writes them."""

from __future__ import annotations

import base64
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
from synthetic import make_idata  # the synthetic posterior.nc builder

from cogfit import report as report_module
from cogfit.diagnostics import Thresholds, check, summarise
from cogfit.errors import CogfitError, ConfigError
from cogfit.io import save_figure, write_netcdf, write_parquet
from cogfit.report import (
    DatasetResults,
    ModelResults,
    ReportOptions,
    build_report,
    collect_results,
    run_report,
)

PARTICIPANTS = ["p01", "<b>x</b>", "p03", "p04"]
LONG_ID = "sub-" + "x" * 4996  # 5,000 characters without a space
REASON = "missed 35% of trials (> 20%)"
OPTIONS = ReportOptions(generated_at="2025-01-01T00:00:00+00:00")
SAMPLER_SETTINGS = {"chains": 4, "num_warmup": 500, "metric": "auto"}
SCHEMA = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml").read_text()
)


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
    root: Path, dataset: str, model: str, kind: str, participants: Sequence[str] = PARTICIPANTS
) -> ModelResults:
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
        kind, participants=list(participants), n_draws=150, model=model, dataset=dataset
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


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> DatasetResults:
    root = tmp_path_factory.mktemp("results")
    write_parquet(_participants_table(), root / "demo" / "participants.parquet")
    fits = (_write_model(root, "demo", "rw", "good"), _write_model(root, "demo", "rw_dual", "bad"))
    return DatasetResults("demo", root / "demo" / "participants.parquet", fits)


@pytest.fixture(scope="module")
def report(results: DatasetResults) -> str:
    return build_report("Test <report>", [results], OPTIONS)


class _Collector(HTMLParser):
    """Gathers the attributes that could reach outside the file and the text of headings."""

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


def test_report_is_self_contained(report: str) -> None:
    parsed = _parse(report)
    assert not [u for u in parsed.links if u.lower().startswith(("http:", "https:", "//"))]
    assert len(parsed.images) >= 2 * 2 + 2  # trace + rank per model, plus own figures
    assert all(src.startswith("data:image/png;base64,") for src in parsed.images)
    assert "<link" not in report and "<script" not in report
    assert "&lt;span" not in report  # badges are markup, not escaped text


def test_report_names_and_badges_match_diagnostics(report: str, results: DatasetResults) -> None:
    headings = _parse(report).headings
    assert "Test &lt;report&gt;" in report and "demo" in report
    for fit in results.models:
        checks = pd.read_parquet(fit.diagnostics).set_index("check")
        badge = "PASS" if checks.loc["overall", "passed"] else "FAIL"
        assert f"Model {fit.model} {badge}" in headings
    assert [h for h in headings if h.startswith("Model")] == ["Model rw PASS", "Model rw_dual FAIL"]
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
    legend = re.search(r"<details>(.*?)</details>", report, re.S)
    assert legend, "no legend of the sampler settings"
    described = SCHEMA["properties"]["sampler"]["properties"]
    for key in ("chains", "metric"):
        assert f"<td>{key}</td>" in legend.group(1)
        assert html.escape(described[key]["description"]) in legend.group(1), key
    assert "num_warmup" not in legend.group(1)  # no config key: nothing to explain


def test_report_escapes_user_strings(report: str) -> None:
    assert "<b>x</b>" not in report
    assert html.escape("<b>x</b>") in report


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
    # no figure is stretched by the id: each is a few hundred pixels wide, as with short ids
    assert max(_png_size(src)[0] for src in _parse(text).images) < 1200

    summary = pd.read_parquet(fit.summary)
    who = report_module._Participants.from_table(table)
    rows = report_module._participant_estimates(summary, who.groups)
    fig = report_module._participant_figure(rows, report_module._parameters(summary), who.colours)
    assert len(fig.axes) == 2  # alpha, beta
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert sorted(labels) == sorted(
            [f"{LONG_ID[:20]}…{LONG_ID[-6:]}", f"{LONG_ID[:20]}…{LONG_ID[-6:-1]}y", "p03", "p04"]
        )
        assert max(map(len, labels)) <= 30 and len(set(labels)) == len(ids)


def test_estimates_are_the_sites_the_names_module_names() -> None:
    """Group estimates are each parameter's natural-scale group mean, participant estimates
    its participant values: the report asks :mod:`cogfit.names`, it builds no names."""
    from cogfit.names import site_name

    summary = summarise(make_idata(n_draws=20, n_chains=2))
    groups = report_module._group_estimates(summary)
    groups_of = {str(p): "control" for p in summary["participant"].dropna()}
    people = report_module._participant_estimates(summary, groups_of)
    params = report_module._parameters(summary)
    assert params == ["alpha", "beta"]
    assert set(groups["variable"]) == {site_name(p, "mu_natural") for p in params}
    assert set(people["variable"]) == {site_name(p, "theta") for p in params}
    assert len(groups) == 2 * 2 and len(people) == 2 * 6  # groups, participants per parameter


def test_short_labels_stay_distinct() -> None:
    same_ends = ["a" * 30 + "x" + "b" * 10, "a" * 30 + "y" + "b" * 10, "a" * 20 + "…"]
    labels = report_module._short_labels([*same_ends, "short"])
    assert labels[2:] == ["a" * 20 + "…", "short"]  # an id that reads like a cut one stays
    assert len(set(labels)) == 4 and all(len(x) <= 27 for x in labels)


def test_options_change_the_participant_section(results: DatasetResults) -> None:
    one_model = DatasetResults(results.dataset, results.participants, results.models[:1])
    options = ReportOptions(max_participants=2, generated_at="now")
    text = build_report("t", [one_model], options)
    assert "90% HDI" in text  # the summary's own probability labels the intervals
    assert "Showing 2 of 4 participants" in text
    assert "Group means across models" not in text
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


def test_dataset_results_from_paths(results: DatasetResults) -> None:
    fit = results.models[0]
    built = DatasetResults.from_paths(
        "demo", results.participants, ["rw"], *([p] for p in fit.paths())
    )
    assert built.models == (fit,)
    with pytest.raises(ConfigError, match="1 model"):
        DatasetResults.from_paths("demo", results.participants, ["rw"], [], [], [], [], [])


def test_collect_results_groups_flat_inputs_by_dataset(results: DatasetResults) -> None:
    fits = [("a", "rw"), ("b", "rw"), ("b", "rw_dual")]
    models = [results.models[0], results.models[0], results.models[1]]
    columns = [[m.paths()[k] for m in models] for k in range(5)]
    grouped = collect_results(["a", "b"], fits, ["pa.parquet", "pb.parquet"], *columns)
    assert [d.dataset for d in grouped] == ["a", "b"]
    assert [m.model for m in grouped[1].models] == ["rw", "rw_dual"]
    assert grouped[1].participants == "pb.parquet" and grouped[1].models[1] == models[2]
    with pytest.raises(ConfigError, match="line up"):
        collect_results(["a"], fits, ["pa.parquet"], *(c[:2] for c in columns))


def test_report_options_from_config() -> None:
    options = ReportOptions.from_config({"title": "t", "dpi": 80, "participant_table": False})
    assert (options.dpi, options.participant_table, options.max_participants) == (80, False, 500)
    with pytest.raises(ConfigError, match="participant_table"):
        ReportOptions.from_config({"participant_table": "yes"})
    with pytest.raises(ConfigError, match="colour"):
        ReportOptions.from_config({"colour": "red"})

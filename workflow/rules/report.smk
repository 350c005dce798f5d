from cogfit.figure_files import (
    COMPARISON,
    FigureStyle,
    dataset_figure_files,
    figure_file,
    figure_files,
    figures_folder,
    fit_stem,
)

# parse time: a bad figures section fails before any job, like every other section; the
# PNG is always among the formats, because the report embeds it
FIGURE_FORMATS = list(FigureStyle.from_config(config["figures"]).file_formats)
FIGURE_DIR = figures_folder(RESULTS, "{dataset}")
FIT_FIGURE = dict(category="Figures", subcategory="{dataset} / {model}")


rule figures_fit:
    """The paper figures of one fit, from its artifacts only (no fit job is ever planned)."""
    input:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
        summary=f"{RESULTS}/{{dataset}}/{{model}}/summary.parquet",
        contrasts=f"{RESULTS}/{{dataset}}/{{model}}/contrasts.parquet",
        ppc=f"{RESULTS}/{{dataset}}/{{model}}/ppc.parquet",
    output:
        estimates=[
            f if not f.endswith(".png") else report(
                f, caption="../report/figure_estimates.rst", **FIT_FIGURE
            )
            for f in figure_files(FIGURE_DIR, fit_stem("{model}", "estimates"), FIGURE_FORMATS)
        ],
        ppc=[
            f if not f.endswith(".png") else report(
                f, caption="../report/figure_ppc.rst", **FIT_FIGURE
            )
            for f in figure_files(FIGURE_DIR, fit_stem("{model}", "ppc"), FIGURE_FORMATS)
        ],
        correlations=[
            f if not f.endswith(".png") else report(
                f, caption="../report/figure_correlations.rst", **FIT_FIGURE
            )
            for f in figure_files(FIGURE_DIR, fit_stem("{model}", "correlations"), FIGURE_FORMATS)
        ],
    params:
        figures=config["figures"],
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/figures.log",
    localrule: True
    conda:
        "../../envs/cogfit.yaml"
    script:
        "../../scripts/figures.py"


rule figures_comparison:
    """The model comparison figure of one dataset, from its comparison table."""
    input:
        comparison=f"{RESULTS}/{{dataset}}/model_comparison.parquet",
    output:
        comparison=[
            f if not f.endswith(".png") else report(
                f, caption="../report/figure_comparison.rst", category="Figures", subcategory="{dataset}"
            )
            for f in figure_files(FIGURE_DIR, COMPARISON, FIGURE_FORMATS)
        ],
    params:
        figures=config["figures"],
    log:
        f"{RESULTS}/logs/{{dataset}}/figures.log",
    localrule: True
    conda:
        "../../envs/cogfit.yaml"
    script:
        "../../scripts/figures.py"


rule figures:
    """`snakemake figures`: every figure file, redrawn from the cached artifacts."""
    input:
        [f for d in DATASETS for f in dataset_figure_files(RESULTS, d, dataset_models(d), FIGURE_FORMATS)],
    localrule: True


rule report:
    input:
        participants=expand(f"{RESULTS}/{{dataset}}/clean/participants.parquet", dataset=DATASETS),
        posterior=per_fit("posterior.nc"),
        summary=per_fit("summary.parquet"),
        diagnostics=per_fit("diagnostics.parquet"),
        trace_png=per_fit("plots/trace.png"),
        rank_png=per_fit("plots/rank.png"),
        contrasts=per_fit("contrasts.parquet"),
        ppc=per_fit("ppc.parquet"),
        regressors=per_fit("regressors.parquet"),
        # the figures rules' PNG files, embedded as they are
        estimates_png=[figure_file(RESULTS, d, fit_stem(m, "estimates"), "png") for d, m in fits()],
        ppc_png=[figure_file(RESULTS, d, fit_stem(m, "ppc"), "png") for d, m in fits()],
        correlations_png=[
            figure_file(RESULTS, d, fit_stem(m, "correlations"), "png") for d, m in fits()
        ],
        comparison=[f"{RESULTS}/{d}/model_comparison.parquet" for d in DATASETS],
        comparison_participants=[
            f"{RESULTS}/{d}/model_comparison_participants.parquet" for d in DATASETS
        ],
        comparison_png=[figure_file(RESULTS, d, COMPARISON, "png") for d in DATASETS],
    output:
        html=report(
            f"{RESULTS}/report/index.html",
            caption="../report/report_html.rst",
            category="Report",
        ),
    params:
        fits=fits(),
        datasets=DATASETS,
        report=config["report"],
    log:
        f"{RESULTS}/logs/report.log",
    localrule: True
    conda:
        "../../envs/cogfit.yaml"
    script:
        "../../scripts/report.py"

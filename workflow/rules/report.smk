rule report:
    input:
        participants=expand(f"{RESULTS}/{{dataset}}/clean/participants.parquet", dataset=DATASETS),
        posteriors=[f"{RESULTS}/{d}/{m}/posterior.nc" for d, m in fits()],
        summaries=[f"{RESULTS}/{d}/{m}/summary.parquet" for d, m in fits()],
        diagnostics=[f"{RESULTS}/{d}/{m}/diagnostics.parquet" for d, m in fits()],
        traces=[f"{RESULTS}/{d}/{m}/plots/trace.png" for d, m in fits()],
        ranks=[f"{RESULTS}/{d}/{m}/plots/rank.png" for d, m in fits()],
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

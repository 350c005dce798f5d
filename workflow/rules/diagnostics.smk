rule diagnose:
    input:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
    output:
        summary=report(
            f"{RESULTS}/{{dataset}}/{{model}}/summary.parquet",
            caption="../report/summary.rst",
            category="Posterior",
            subcategory="{dataset} / {model}",
        ),
        diagnostics=report(
            f"{RESULTS}/{{dataset}}/{{model}}/diagnostics.parquet",
            caption="../report/diagnostics.rst",
            category="Convergence",
            subcategory="{dataset} / {model}",
        ),
        trace=report(
            f"{RESULTS}/{{dataset}}/{{model}}/plots/trace.png",
            caption="../report/trace.rst",
            category="Convergence",
            subcategory="{dataset} / {model}",
        ),
        rank=report(
            f"{RESULTS}/{{dataset}}/{{model}}/plots/rank.png",
            caption="../report/rank.rst",
            category="Convergence",
            subcategory="{dataset} / {model}",
        ),
    params:
        thresholds=config["diagnostics"],
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/diagnose.log",
    conda:
        "../../envs/cogfit.yaml"
    script:
        "../../scripts/diagnose.py"

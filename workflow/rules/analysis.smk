rule contrasts:
    input:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
    output:
        contrasts=report(
            f"{RESULTS}/{{dataset}}/{{model}}/contrasts.parquet",
            caption="../report/contrasts.rst",
            category="Analysis",
            subcategory="{dataset} / {model}",
        ),
    params:
        hdi_prob=config["diagnostics"]["hdi_prob"],
        pairs=lambda wc: config["contrasts"]["pairs"].get(wc.dataset, []),
        rope=config["contrasts"]["rope"],
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/contrasts.log",
    conda:
        "../../envs/cogfit.yaml"
    script:
        "../../scripts/contrasts.py"

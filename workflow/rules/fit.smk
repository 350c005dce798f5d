rule fit:
    input:
        trials=f"{RESULTS}/{{dataset}}/clean/trials.parquet",
    output:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
    params:
        # wildcards are not part of the between-workflow cache key: name them here
        dataset="{dataset}",
        model="{model}",
        sampler=config["sampler"],
        n_options=lambda wc: config["datasets"][wc.dataset]["n_options"],
        priors=lambda wc: config["datasets"][wc.dataset]["priors"],
        # the fitting code is part of what makes a fit (reruns and cache keys follow it)
        code=FIT_CODE_HASH,
    # between-workflow cache: `snakemake --cache fit` with $SNAKEMAKE_OUTPUT_CACHE set
    cache: "omit-software"
    threads: config["sampler"]["chains"]
    resources:
        gpu=fit_gpus(),
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/fit.log",
    conda:
        fit_env()
    script:
        "../../scripts/fit.py"

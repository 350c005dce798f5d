rule fit:
    input:
        unpack(model_file),
        trials=f"{RESULTS}/{{dataset}}/clean/trials.parquet",
    output:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
    params:
        # wildcards are not part of the between-workflow cache key: name them here
        dataset="{dataset}",
        model=model_entry,
        sampler=config["sampler"],
        n_options=lambda wc: config["datasets"][wc.dataset]["n_options"],
        priors=lambda wc: config["datasets"][wc.dataset]["priors"],
        block_reset=lambda wc: config["datasets"][wc.dataset]["block_reset"],
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


rule fit_fold:
    """One fold of K-fold cross-validation by participant (compare.method: kfold): the
    same fit with the fold's held-out participants' trials masked (the full data's
    shapes kept)."""
    input:
        unpack(model_file),
        trials=f"{RESULTS}/{{dataset}}/clean/trials.parquet",
    output:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/folds/{{fold}}/posterior.nc",
    params:
        dataset="{dataset}",
        model=model_entry,
        sampler=config["sampler"],
        n_options=lambda wc: config["datasets"][wc.dataset]["n_options"],
        priors=lambda wc: config["datasets"][wc.dataset]["priors"],
        block_reset=lambda wc: config["datasets"][wc.dataset]["block_reset"],
        fold=lambda wc: (int(wc.fold), config["compare"]["folds"]),
        code=FIT_CODE_HASH,
    threads: config["sampler"]["chains"]
    resources:
        gpu=fit_gpus(),
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/folds/{{fold}}/fit.log",
    conda:
        fit_env()
    script:
        "../../scripts/fit.py"

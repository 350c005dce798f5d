rule fit:
    input:
        trials=f"{RESULTS}/{{dataset}}/clean/trials.parquet",
    output:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
    params:
        sampler=config["sampler"],
        n_options=lambda wc: config["datasets"][wc.dataset]["n_options"],
        priors=lambda wc: config["datasets"][wc.dataset]["priors"],
    threads: config["sampler"]["chains"]
    resources:
        gpu=fit_gpus(),
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/fit.log",
    conda:
        "../../envs/cogfit.yaml"
    script:
        "../../scripts/fit.py"

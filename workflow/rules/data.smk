rule clean:
    input:
        lambda wc: config["datasets"][wc.dataset]["path"],
    output:
        trials=f"{RESULTS}/{{dataset}}/clean/trials.parquet",
        participants=report(
            f"{RESULTS}/{{dataset}}/clean/participants.parquet",
            caption="../report/clean_participants.rst",
            category="Data",
            subcategory="{dataset}",
        ),
    params:
        dataset=dataset_cfg,
        precision=config["sampler"]["precision"],
    log:
        f"{RESULTS}/logs/{{dataset}}/clean.log",
    localrule: True
    conda:
        "../../envs/cogfit.yaml"
    script:
        "../../scripts/clean.py"

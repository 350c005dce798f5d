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


rule marginal:
    """Each participant's likelihood integrated over their offsets, at draws of the group
    parameters: what model comparison scores a new participant by."""
    input:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
    output:
        marginal=f"{RESULTS}/{{dataset}}/{{model}}/marginal.nc",
    params:
        compare=config["compare"],
        seed=config["sampler"]["seed"],
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/marginal.log",
    conda:
        fit_env()
    script:
        "../../scripts/marginal.py"


rule fold_marginal:
    """The same for the participants a fold held out, scored on their full data."""
    input:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/folds/{{fold}}/posterior.nc",
        trials=f"{RESULTS}/{{dataset}}/clean/trials.parquet",
        # the fit of all participants: where each participant's proposal comes from
        proposal=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
    output:
        marginal=f"{RESULTS}/{{dataset}}/{{model}}/folds/{{fold}}/marginal.nc",
    params:
        compare=config["compare"],
        seed=config["sampler"]["seed"],
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/folds/{{fold}}/marginal.log",
    conda:
        fit_env()
    script:
        "../../scripts/marginal.py"


rule compare:
    input:
        unpack(compare_inputs),
    output:
        table=report(
            f"{RESULTS}/{{dataset}}/model_comparison.parquet",
            caption="../report/model_comparison.rst",
            category="Analysis",
            subcategory="{dataset}",
        ),
        participants=f"{RESULTS}/{{dataset}}/model_comparison_participants.parquet",
    log:
        f"{RESULTS}/logs/{{dataset}}/compare.log",
    conda:
        "../../envs/cogfit.yaml"
    script:
        "../../scripts/compare.py"


rule ppc:
    input:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
        trials=f"{RESULTS}/{{dataset}}/clean/trials.parquet",
    output:
        ppc=report(
            f"{RESULTS}/{{dataset}}/{{model}}/ppc.parquet",
            caption="../report/ppc.rst",
            category="Analysis",
            subcategory="{dataset} / {model}",
        ),
    params:
        ppc=config["ppc"],
        seed=config["sampler"]["seed"],
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/ppc.log",
    conda:
        fit_env()
    script:
        "../../scripts/ppc.py"


rule regressors:
    input:
        posterior=f"{RESULTS}/{{dataset}}/{{model}}/posterior.nc",
        trials=f"{RESULTS}/{{dataset}}/clean/trials.parquet",
    output:
        regressors=report(
            f"{RESULTS}/{{dataset}}/{{model}}/regressors.parquet",
            caption="../report/regressors.rst",
            category="Analysis",
            subcategory="{dataset} / {model}",
        ),
    params:
        regressors=config["regressors"],
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/regressors.log",
    conda:
        fit_env()
    script:
        "../../scripts/regressors.py"

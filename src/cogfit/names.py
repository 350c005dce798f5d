"""The names of a fit's variables: the contract between the fit, diagnose and report stages.

Each behavioural parameter ``p`` becomes five posterior variables, one per *role*: its
group mean ``p_mu`` and sd ``p_sigma`` (unconstrained scale), its standard-normal
participant offsets ``p_offset``, the participant values ``p`` and the group means on the
natural scale ``p_mu_natural``. Every stage asks this module for the names; none builds
or parses them itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: a parameter's roles and the level each varies by (the variable's dimension)
LEVELS: Mapping[str, str] = {
    "mu": "group",
    "sigma": "group",
    "offset": "participant",
    "theta": "participant",
    "mu_natural": "group",
}
#: deterministic site with each participant's log-likelihood: NUTS's collected draws
#: carry it, so LOO/WAIC need no second pass (or compiled program) over the data
LOG_LIK_SITE = "participant_log_lik"
#: the observed responses: the likelihood's factor, and the variable of the
#: InferenceData's ``log_likelihood`` group (per participant, all responses summed)
OBSERVED = "responses"
#: a trial's key that is True on an answered trial (False: missed, or padding)
VALID = "valid"
#: the scan's key that is True on a trial where the model's state starts afresh
RESET = "reset"
#: for a model with ``state_per`` (:class:`~cogfit.models.spec.ModelSpec`), the scan's
#: keys that lay the trials out as one sequence per level: [P, L * S] int, the trial each
#: place of the L sequences (S places each) reads (T: none); and [P, T] int, the place of
#: each trial (L * S: none, a trial without the code)
SEQUENCE_ORDER = "sequence_order"
SEQUENCE_SLOT = "sequence_slot"
#: the columns of ``ppc.parquet`` (written by :mod:`cogfit.ppc`, read by the figures and
#: the report, which import no JAX)
PPC_COLUMNS = (
    "statistic",
    "group",
    "block",
    "bin",
    "trial_low",
    "trial_high",
    "condition",
    "participant",
    "n",
    "observed",
    "predicted_mean",
    "predicted_low",
    "predicted_high",
    "interval",
    "p_value",
    "flagged",
)
#: the posterior attribute that lists the model's parameters, comma-separated
PARAMETERS_ATTR = "parameters"


def observed_key(column: str) -> str:
    """A trial's key that is True where ``column`` has a value."""
    return f"has_{column}"


def log_probs_key(responses: tuple[str, ...], response: str) -> str:
    """The trial output with the log-probabilities of every value of ``response``:
    ``log_probs`` for the primary (first) of the model's ``responses``."""
    return "log_probs" if response == responses[0] else f"log_probs_{response}"


def site_name(param: str, role: str) -> str:
    """The variable of ``param`` in ``role`` (a key of :data:`LEVELS`)."""
    if role not in LEVELS:
        raise KeyError(f"no role {role!r}; roles: {list(LEVELS)}")
    return param if role == "theta" else f"{param}_{role}"


def site_names(param: str) -> dict[str, str]:
    """Role -> variable name of every site one parameter creates (the posterior variables)."""
    return {role: site_name(param, role) for role in LEVELS}


def variable_roles(parameters: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Variable name -> (parameter, role) for every site of ``parameters``: names read back
    by looking them up, never by cutting suffixes. A participant variable (``alpha_mu`` of
    a parameter named so) wins over another parameter's site of the same name."""
    roles: dict[str, tuple[str, str]] = {}
    params = list(parameters)
    for param in params:
        for role, name in site_names(param).items():
            roles.setdefault(name, (param, role))
    for param in params:
        roles[param] = (param, "theta")
    return roles


def parameters_text(parameters: Iterable[str]) -> str:
    """The :data:`PARAMETERS_ATTR` value of ``parameters``."""
    return ",".join(parameters)


def recorded_parameters(attrs: Mapping[str, object]) -> list[str]:
    """The parameters a posterior's attributes record (empty: none recorded)."""
    text = str(attrs.get(PARAMETERS_ATTR, ""))
    return [p.strip() for p in text.split(",") if p.strip()]

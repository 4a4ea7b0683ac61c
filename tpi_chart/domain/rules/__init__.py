"""Clinical and billing rules for one procedure document (product.md §6).

Pure and data-driven: every number (maxima, unit sizes, payer limits, the near-maximum threshold)
comes from the catalog files in resources/, which cite clinical-reference.md. Values the reference
marks UNVERIFIED are flagged ``verified: false`` in the data and reported in ``unverified``.

Scope of each rule (product.md §6 is silent on planned sites):

* Placement and preparation safety (``ptx_risk_site``, ``muscle_unspecified``, ``allergy_conflict``,
  ``expired_lot``) look at every site, planned or injected: the physician must see them before the
  needle goes in.
* Doses, billing and the payer's per-site rules (CPT, HCPCS, totals, anesthetic maximum,
  ``multi_region``, ``repeat_interval_short``) count injected sites only.
* Procedure-level payer rules (``sessions_per_year_exceeded``, ``repeat_without_relief``,
  ``diagnosis_not_covered``) and ``anticoagulated``/``pain_score_missing`` apply whatever the sites.

Site numbers are 1-based positions in ``procedure.sites`` (planned and injected alike).
``evaluate`` never raises on a valid document: validation is the models' job.

The package, by concept: ``results`` (vocabulary and result models), ``context`` (what the rules
read, message wording), ``amounts`` (dose arithmetic), ``allergy``, ``doses`` (anesthetic and
steroid limits), ``safety``, ``payer`` (coverage and frequency), ``billing`` (claim lines) and
``evaluation`` (:func:`evaluate`). The package exports the entry point and the result types.
"""

from tpi_chart.domain.rules.evaluation import evaluate
from tpi_chart.domain.rules.results import (
    COVERAGE_CODES,
    CPT_DRY_FEW,
    CPT_DRY_MANY,
    CPT_FEW_MUSCLES,
    CPT_MANY_MUSCLES,
    MAX_DIAGNOSIS_POINTERS,
    ROLLING_YEAR_DAYS,
    WARNING_CODES,
    AgentTotal,
    Amount,
    Anesthetic,
    AnestheticAgent,
    Billing,
    ClaimLine,
    Cpt,
    Evaluation,
    HcpcsLine,
    Note,
    PreparationUse,
    RuleWarning,
    SiteResult,
    Unverified,
    WarningCode,
)

__all__ = [
    "COVERAGE_CODES",
    "CPT_DRY_FEW",
    "CPT_DRY_MANY",
    "CPT_FEW_MUSCLES",
    "CPT_MANY_MUSCLES",
    "MAX_DIAGNOSIS_POINTERS",
    "ROLLING_YEAR_DAYS",
    "WARNING_CODES",
    "AgentTotal",
    "Amount",
    "Anesthetic",
    "AnestheticAgent",
    "Billing",
    "ClaimLine",
    "Cpt",
    "Evaluation",
    "HcpcsLine",
    "Note",
    "PreparationUse",
    "RuleWarning",
    "SiteResult",
    "Unverified",
    "WarningCode",
    "evaluate",
]

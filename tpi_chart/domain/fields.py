"""Field types and validators of the procedure document: plausible dates and moments, catalog
identifiers, concentrations, ICD-10 codes, names and phone numbers, and the frozen base model.

Every validator raises ``ValueError`` with a sentence naming what is allowed; the models in
:mod:`tpi_chart.domain.models` are built from these types.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)

from tpi_chart.domain.catalog import CATALOG_CONTEXT_KEY, UNSPECIFIED, Catalog, load_catalog

#: Dates and times outside these years are typing mistakes (and year 1 or 9999 with a time zone
#: cannot even be converted to UTC).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2199
MAX_MG_PER_ML = 1000.0

_CONCENTRATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|mg/ml)\s*$", re.IGNORECASE)
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")


def _catalog(info: ValidationInfo) -> Catalog:
    """The catalog passed in `model_validate(..., context=validation_context(catalog))`, else the
    one in force."""
    context = info.context
    if isinstance(context, dict):
        given = context.get(CATALOG_CONTEXT_KEY)
        if isinstance(given, Catalog):
            return given
    return load_catalog()


def _known_muscle(value: str, info: ValidationInfo) -> str:
    if value != UNSPECIFIED and value not in _catalog(info).muscles:
        raise ValueError(
            f"unknown muscle id {value!r}; use an id from the muscle catalog "
            f"(`tpi-chart schema`) or {UNSPECIFIED!r}"
        )
    return value


def _known_agent(value: str, info: ValidationInfo) -> str:
    agents = _catalog(info).agents
    if value not in agents:
        raise ValueError(f"unknown agent {value!r}; allowed: {', '.join(sorted(agents))}")
    return value


def _known_payer(value: str, info: ValidationInfo) -> str:
    payers = _catalog(info).payers
    if value not in payers:
        raise ValueError(f"unknown payer profile {value!r}; allowed: {', '.join(sorted(payers))}")
    return value


def _valid_concentration(value: str) -> str:
    if not _CONCENTRATION.match(value):
        raise ValueError(f"{value!r} is not a concentration; write it as '1%' or '40 mg/mL'")
    strength = concentration_mg_per_ml(value)
    if strength <= 0:
        raise ValueError("must be greater than 0")
    # 100 % w/v is a gram per millilitre: nothing injectable is stronger, and an unbounded number
    # would overflow the dose arithmetic.
    if strength > MAX_MG_PER_ML:
        raise ValueError("must be at most 100% (1000 mg/mL)")
    return value


def _plausible_date(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


def _written_date(value: object) -> object:
    # pydantic would read a number as seconds since 1970: "birth_date": 0 is a typing mistake,
    # not 1970-01-01.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("type a date like 2027-05-31, not a number")
    return value


def _written_moment(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("type a date and time like 2026-11-20T09:30:00-07:00, not a number")
    return value


def _plausible_moment(value: datetime) -> datetime:
    # Checked on the local date; a year in this window always converts to UTC without overflow.
    _plausible_date(value.date())
    return value


def _valid_icd10(value: str) -> str:
    if not _ICD10.match(value):
        raise ValueError(f"{value!r} is not an ICD-10-CM code (for example M79.12)")
    return value


def concentration_mg_per_ml(concentration: str) -> float:
    """Parse '1%' or '40 mg/mL'. Percent is w/v: 1 % = 10 mg/mL (clinical-reference §5.1)."""
    match = _CONCENTRATION.match(concentration)
    if match is None:
        raise ValueError(f"not a concentration: {concentration!r}")
    amount = float(match.group(1))
    return amount * 10.0 if match.group(2) == "%" else amount


MuscleId = Annotated[str, AfterValidator(_known_muscle)]
AgentId = Annotated[str, AfterValidator(_known_agent)]
PayerId = Annotated[str, AfterValidator(_known_payer)]
Concentration = Annotated[str, AfterValidator(_valid_concentration)]
Icd10 = Annotated[str, AfterValidator(_valid_icd10)]
PainScore = Annotated[int, Field(ge=0, le=10, description="NRS 0-10")]
Percent = Annotated[int, Field(ge=0, le=100)]
Volume = Annotated[float, Field(gt=0, le=100, description="millilitres")]
NonEmpty = Annotated[str, Field(min_length=1, max_length=500)]
Unit = Annotated[float, Field(ge=0, le=1)]
Day = Annotated[date, BeforeValidator(_written_date), AfterValidator(_plausible_date)]
Moment = Annotated[
    AwareDatetime, BeforeValidator(_written_moment), AfterValidator(_plausible_moment)
]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def not_in_the_future(value: date) -> date:
    if value > date.today():
        raise ValueError(f"{value.isoformat()} is in the future; give the date of birth")
    return value


#: Invisible characters that change how a name reads or sorts (bidirectional overrides and
#: isolates, marks, zero-width characters): a name shown as "Lopez" must be stored as "Lopez".
#: (Zero-width joiners stay allowed: some scripts need them.)
INVISIBLE_IN_NAMES = frozenset(
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)


def _plain_name(value: str) -> str:
    for char in value:
        if char in INVISIBLE_IN_NAMES or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise ValueError(
                f"contains an invisible control or text-direction character (U+{ord(char):04X}); "
                "type the name as it is written"
            )
    return value


Name = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_plain_name)]

#: A phone number as people write it: 7 to 15 digits (ITU E.164 allows at most 15), with the
#: usual separators, an optional leading + and an optional extension.
PHONE_DIGITS = (7, 15)
_PHONE = re.compile(r"^\+?[0-9 ()./-]+?(?:\s*(?:ext\.?|x)\s*[0-9]{1,6})?$", re.IGNORECASE)
_PHONE_EXTENSION = re.compile(r"(?:ext\.?|x)\s*[0-9]+$", re.IGNORECASE)


def phone_number(text: str) -> str:
    """The number with its spacing tidied; ValueError with a sentence for anything else."""
    phone = " ".join(text.split())
    low, high = PHONE_DIGITS
    digits = sum(c.isdigit() for c in _PHONE_EXTENSION.sub("", phone))
    if len(phone) > 40 or not _PHONE.match(phone) or not low <= digits <= high:
        raise ValueError(
            f"{phone[:40]!r} is not a phone number; use {low} to {high} digits, "
            "e.g. (555) 010-2030 ext 12"
        )
    return phone


Phone = Annotated[str, AfterValidator(phone_number)]

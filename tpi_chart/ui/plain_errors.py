"""The one translation from a problem line (`syringe.components[0].expires: input should be a
valid date…`, as `describe_validation_error` and the services' `InvalidInput` give them for the
command line) into what the window shows next to the field: "Expiry: type a date like 2027-05-31".

The command line keeps the field paths (its contract); the window never shows a path, a bracket,
an underscore or pydantic's "input should be" wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from tpi_chart.domain.errors import DomainError, describe_validation_error
from tpi_chart.services.errors import StorageError

#: The errors the window expects and has words for (`user_message`): a refusal or bad input from
#: the services, a database problem they can name, and pydantic's ValidationError for a model the
#: window builds from what was typed. Anything else is a bug and reaches the crash dialog.
KNOWN_ERRORS: tuple[type[Exception], ...] = (DomainError, StorageError, ValidationError)
#: The same, for work that also writes a file the person chose (a folder may be unwritable).
KNOWN_FILE_ERRORS: tuple[type[Exception], ...] = (*KNOWN_ERRORS, OSError)

#: Field names as a clinician reads them; keyed by the last name in the path.
FIELD_LABELS = {
    "family_name": "Family name",
    "given_name": "Given name",
    "mrn": "MRN",
    "birth_date": "Date of birth",
    "sex": "Sex",
    "weight_kg": "Weight",
    "allergies": "Allergies",
    "no_known_allergies": "No known allergies",
    "anticoagulated": "Anticoagulation",
    "anticoagulant": "Anticoagulant",
    "pregnant": "Pregnancy",
    "agent": "Drug",
    "concentration": "Strength",
    "volume_ml": "Volume",
    "lot": "Lot",
    "expires": "Expiry",
    "ndc": "NDC",
    "container": "Container",
    "container_ml": "Container size",
    "dry_needling": "Dry needling",
    "abn_on_file": "ABN",
    "required_to_sign": "Required to sign",
    "components": "Drugs",
    "label": "Syringe name",
    "id": "Syringe",
    "preparation": "Syringe",
    "username": "User name",
    "display_name": "Full name",
    "password": "Password",
    "roles": "Roles",
    "clinic_name": "Clinic name",
    "clinic_phone": "Clinic phone",
    "export_folder": "Export folder",
    "page_size": "Page size",
    "idle_lock_minutes": "Idle lock",
    "weight_unit": "Weight unit",
    "text": "Text",
    "reason": "Reason",
    "muscle": "Muscle",
    "side": "Side",
    "pain_before": "Pain before",
    "pain_after": "Pain after",
    "performed_at": "Date and time",
    "diagnoses": "Diagnoses",
}

#: (pattern over the message, advice): the first match wins.
_ADVICE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), advice)
    for pattern, advice in (
        (r"^input should be a valid datetime", "type a date and time like 2026-11-20 09:30"),
        (r"^input should be a valid date", "type a date like 2027-05-31"),
        (r"^input should be a valid (number|integer|decimal)", "type a number"),
        (r"^input should be a valid boolean", "tick or untick it"),
        (r"^input should be a finite number", "type a number"),
        (
            r"^(is required|field required|must not be empty|string should have at least 1)",
            "fill this in",
        ),
        (r"^needs at least 1 item", "add at least one"),
        (
            r"^contains characters that are not allowed",
            "use only letters, digits, dots, dashes and underscores",
        ),
        (r"^unknown field", "is not something this form records"),
        (r"^input should be", "is not a value this field takes"),
    )
)
_PATH_LINE = re.compile(
    r"^([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*): (.+)$", re.DOTALL
)
_ONE_OF = re.compile(r"^must be one of (.+)$", re.DOTALL)


@dataclass(frozen=True)
class PlainProblem:
    field: str  # the last name in the path ("expires"): where the form shows it; "" if none
    index: int | None  # the list position the path named last (components[1] → 1), if any
    sentence: str  # "Expiry: type a date like 2027-05-31"


def label_of(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def plain(line: str) -> PlainProblem:
    """One problem line → where it goes and the sentence for it."""
    match = _PATH_LINE.match(line.strip())
    if match is None:
        return PlainProblem("", None, _clean(line.strip()))
    path, message = match.groups()
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path)
    indexes = [int(n) for n in re.findall(r"\[(\d+)\]", path)]
    field = names[-1] if names else ""
    index = indexes[-1] if indexes else None
    label = label_of(field)
    if "components" in names and index:  # drug 1 of a one-drug syringe needs no number
        label = f"{label} (drug {index + 1})"
    return PlainProblem(field, index, f"{label}: {_advice(message)}")


def plain_all(lines: Iterable[str]) -> list[PlainProblem]:
    return [plain(line) for line in lines]


def plain_validation(error: ValidationError, prefix: str = "") -> list[PlainProblem]:
    return plain_all(describe_validation_error(error, prefix))


def _advice(message: str) -> str:
    message = message.strip()
    for pattern, advice in _ADVICE:
        if pattern.search(message):
            return advice
    one_of = _ONE_OF.match(message)
    if one_of:
        choices = re.findall(r"'([^']*)'", one_of.group(1))
        if choices:
            return "choose one of " + ", ".join(c.replace("_", " ") for c in choices)
    return _clean(message)


def _clean(text: str) -> str:
    # A message written for the command line may still quote a code ('side_lying') or a list:
    # the window shows words.
    text = re.sub(r"\b([a-z]+)_([a-z_]+)\b", lambda m: m.group(0).replace("_", " "), text)
    text = text.replace("_", " ").replace("[", "(").replace("]", ")")
    return re.sub(r"(?i)input should be", "must be", text)


def user_message(error: BaseException) -> str:
    """What the window says about a refused request: bad input as sentences, one a line; any
    other refusal as its own words; never a traceback or a class name alone."""
    problems = getattr(error, "problems", None)
    if isinstance(problems, tuple | list) and problems:
        return "\n".join(problem.sentence for problem in plain_all(str(p) for p in problems))
    if isinstance(error, ValidationError):
        return "\n".join(problem.sentence for problem in plain_validation(error))
    text = str(error).strip()
    return plain(text).sentence if text else "The request was refused; nothing was changed."

"""Domain errors and the one translation of validation errors into lines people can act on."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pydantic import ValidationError


class DomainError(Exception):
    """A request the domain refuses; the message is for the user."""


class InvalidInput(DomainError):
    """Bad input: one line per problem, naming its field (`procedure.sites[2].volume_ml: …`)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def field_path(location: Sequence[int | str]) -> str:
    """`procedure.sites[2].volume_ml`. A key that is not a plain name (an unknown key in a
    document can be anything, even empty or with a line break) is quoted as JSON in brackets,
    `patient["a b"]`, so the path stays one line and visibly names it."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _IDENTIFIER.match(part):
            path += f"[{json.dumps(part)}]"
        else:
            path += f".{part}" if path else part
    return path


_NAMED_FIELD = re.compile(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): (.+)$", re.DOTALL)

_RANGE_MESSAGES = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "needs at least {min_length} item(s)",
    "too_long": "allows at most {max_length} item(s)",
}


def _message(
    error: dict[str, object], format_name: str = "the tpi-chart.procedure/1 format"
) -> str:
    kind = str(error["type"])
    raw_context = error.get("ctx") or {}
    assert isinstance(raw_context, dict)
    context = {k: f"{v:g}" if isinstance(v, float) else v for k, v in raw_context.items()}
    if kind in _RANGE_MESSAGES:
        return _RANGE_MESSAGES[kind].format(**context)
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"unknown field; it is not part of {format_name}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}"
    if kind == "string_pattern_mismatch":
        return "contains characters that are not allowed (letters, digits, '.', '_' and '-')"
    if kind == "timezone_aware":
        return "must include a time zone offset, for example 2026-11-20T09:30:00-07:00"
    if kind == "value_error":
        message = str(error["msg"])
        return message.removeprefix("Value error, ")
    message = str(error["msg"])
    return message[:1].lower() + message[1:]


def describe_validation_error(
    error: ValidationError, prefix: str = "", format_name: str = "the tpi-chart.procedure/1 format"
) -> list[str]:
    """One line per problem, `<field path>: <what is allowed>`; `format_name` is what an unknown
    field is not part of."""
    lines: list[str] = []
    for item in error.errors():
        location = [part for part in item["loc"] if not _is_validator_tag(part)]
        if item["type"] == "extra_forbidden":
            # The last part is the document's own key, whatever it looks like ("x[0]").
            location = [p for p in item["loc"][:-1] if not _is_validator_tag(p)]
            location.append(item["loc"][-1])
        path = field_path(location)
        message = _message(dict(item), format_name)
        # Cross-field validators report on their model and name the field in the message.
        named = _NAMED_FIELD.match(message)
        if named:
            path = f"{path}.{named.group(1)}" if path else named.group(1)
            message = named.group(2)
        full = f"{prefix}{path}" if path else prefix.rstrip(".")
        lines.append(f"{full}: {message}" if full else message)
    return lines


_VALIDATOR_TAG = re.compile(r"^[a-z]+(?:-[a-z]+)+\[.*\]$", re.DOTALL)


def _is_validator_tag(part: int | str) -> bool:
    # pydantic puts tags such as 'function-after[_known_muscle()]' into validator locations.
    return isinstance(part, str) and _VALIDATOR_TAG.match(part) is not None

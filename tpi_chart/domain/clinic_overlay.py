"""A clinic's own rules data on top of the shipped catalog (product.md §6: clinics add profiles as
files and may tighten the formulary, never by editing the installed app).

The clinic folder holds
- `payers/*.json`: one payer profile each, in the shipped profiles' format, with an id of its own;
- `formulary.json`: `{"maxima": {"<agent id>": {"max_mg": …, "mg_per_kg": …, "source": …}}}`,
  which replaces an agent's maximum dose. Only a stricter maximum is accepted, unless the entry
  says `"allow_looser": true` with a `"reason"`.

Everything is checked before anything is used: a folder with one bad file is refused whole, one
line per problem naming the file and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tpi_chart.domain.catalog import Agent, Catalog, MaxDose, PayerProfile
from tpi_chart.domain.errors import InvalidInput, describe_validation_error

PAYERS_FOLDER = "payers"
FORMULARY_FILE = "formulary.json"
_FORMAT = "the clinic folder's format (see packaging/README.md)"


class MaximumOverride(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_mg: float = Field(gt=0)
    mg_per_kg: float | None = Field(default=None, gt=0)
    source: str = Field(min_length=1, max_length=500)
    allow_looser: bool = False
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _reason_for_looser(self) -> MaximumOverride:
        if self.allow_looser and not (self.reason and self.reason.strip()):
            raise ValueError("reason: is required when allow_looser is true")
        return self


class FormularyOverlay(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    about: str | None = Field(default=None, alias="_about")
    maxima: dict[str, MaximumOverride] = {}


@dataclass(frozen=True)
class ClinicCatalog:
    """The catalog in force and what the clinic folder changed in it (empty: nothing)."""

    catalog: Catalog
    folder: Path
    changes: tuple[str, ...]


def apply_clinic_folder(shipped: Catalog, folder: Path) -> ClinicCatalog:
    """`shipped` with the clinic folder's payer profiles and maxima, or InvalidInput naming each
    bad file and field. A folder that does not exist changes nothing."""
    problems: list[str] = []
    changes: list[str] = []
    payers = dict(shipped.payers)
    agents = dict(shipped.agents)

    payer_dir = folder / PAYERS_FOLDER
    origin: dict[str, str] = {}
    for path in sorted(payer_dir.glob("*.json")) if payer_dir.is_dir() else []:
        name = f"{PAYERS_FOLDER}/{path.name}"
        data, file_problems = _read(path, name)
        if data is None:
            problems += file_problems
            continue
        try:
            profile = PayerProfile.model_validate(data)
        except ValidationError as error:
            problems += describe_validation_error(error, f"{name}: ", _FORMAT)
            continue
        if profile.id in shipped.payers:
            problems.append(
                f"{name}: id: {profile.id!r} is a shipped payer profile; give the clinic's "
                "profile an id of its own"
            )
        elif profile.id in origin:
            problems.append(f"{name}: id: {profile.id!r} is also the id in {origin[profile.id]}")
        else:
            origin[profile.id] = name
            payers[profile.id] = profile
            changes.append(
                f"adds payer profile {profile.id!r} ({profile.name}, effective "
                f"{profile.effective}) from {name}"
            )

    formulary_path = folder / FORMULARY_FILE
    if formulary_path.is_file():
        data, file_problems = _read(formulary_path, FORMULARY_FILE)
        if data is None:
            problems += file_problems
        else:
            try:
                overlay = FormularyOverlay.model_validate(data)
            except ValidationError as error:
                problems += describe_validation_error(error, f"{FORMULARY_FILE}: ", _FORMAT)
            else:
                for agent_id, override in sorted(overlay.maxima.items()):
                    changed = _override(agents, agent_id, override, problems)
                    if changed is not None:
                        agents[agent_id], change = changed
                        changes.append(change)

    if problems:
        raise InvalidInput(problems)
    catalog = shipped.model_copy(update={"payers": payers, "agents": agents})
    return ClinicCatalog(catalog=catalog, folder=folder, changes=tuple(changes))


def _read(path: Path, name: str) -> tuple[Any, list[str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        return None, [f"{name}: cannot be read ({error.strerror or error})"]
    except UnicodeDecodeError as error:
        return None, [f"{name}: not UTF-8 text (byte {error.start + 1}); save it as UTF-8"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [
            f"{name}: not valid JSON: line {error.lineno} column {error.colno}: {error.msg}"
        ]
    if not isinstance(data, dict):
        return None, [f"{name}: expected a JSON object"]
    return data, []


def _limits(dose: MaxDose | None) -> str:
    if dose is None:
        return "no maximum"
    per_kg = f"{dose.mg_per_kg:g} mg/kg, " if dose.mg_per_kg is not None else ""
    return f"{per_kg}at most {dose.max_mg:g} mg"


def _override(
    agents: dict[str, Agent], agent_id: str, override: MaximumOverride, problems: list[str]
) -> tuple[Agent, str] | None:
    field = f"{FORMULARY_FILE}: maxima[{json.dumps(agent_id)}]"
    agent = agents.get(agent_id)
    if agent is None:
        problems.append(f"{field}: unknown agent; allowed: {', '.join(sorted(agents))}")
        return None
    old = agent.max_dose
    looser: list[str] = []
    if old is not None:
        if override.max_mg > old.max_mg:
            looser.append(f"max_mg {override.max_mg:g} is above the shipped {old.max_mg:g} mg")
        if old.mg_per_kg is not None and (
            override.mg_per_kg is None or override.mg_per_kg > old.mg_per_kg
        ):
            given = "none" if override.mg_per_kg is None else f"{override.mg_per_kg:g}"
            looser.append(f"mg_per_kg {given} is above the shipped {old.mg_per_kg:g} mg/kg")
    if looser and not override.allow_looser:
        problems.append(
            f"{field}: {'; '.join(looser)}; only a stricter maximum is accepted unless the "
            'entry says "allow_looser": true with a "reason"'
        )
        return None
    source = f"clinic formulary: {override.source}"
    if looser:
        source += f" (looser than shipped: {override.reason})"
    # A looser number is the clinic's decision, not the reference's: it stays flagged unverified
    # so the rules say so next to the dose.
    dose = MaxDose(
        mg_per_kg=override.mg_per_kg, max_mg=override.max_mg, verified=not looser, source=source
    )
    kind = "LOOSER, allowed by the clinic" if looser else "stricter"
    change = f"{agent_id} maximum: {_limits(old)} -> {_limits(dose)} ({kind})"
    return agent.model_copy(update={"max_dose": dose}), change

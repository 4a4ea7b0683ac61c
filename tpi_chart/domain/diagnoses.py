"""The bundled ICD-10-CM subset (`resources/catalog/diagnoses.json`): descriptors for the picker and
the note. The body regions each code supports come from the one map the rules read for
`diagnosis_site_mismatch` (`resources/catalog/diagnosis_regions.json`, via the catalog), so the
screen and the rules never disagree."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.resources import resource_path


@dataclass(frozen=True)
class Diagnosis:
    code: str
    descriptor: str
    regions: tuple[str, ...]
    laterality: str | None
    verified: bool

    @property
    def label(self) -> str:
        return f"{self.code} — {self.descriptor}"


@dataclass(frozen=True)
class DiagnosisCatalog:
    by_code: Mapping[str, Diagnosis]
    source: str

    def descriptor(self, code: str) -> str | None:
        found = self.by_code.get(code)
        return found.descriptor if found else None

    def label(self, code: str) -> str:
        """'M79.12 — Myalgia of auxiliary muscles, head and neck'; a code outside the subset
        (imported, or typed by hand) prints as itself."""
        found = self.by_code.get(code)
        return found.label if found else code

    def regions(self) -> Mapping[str, frozenset[str]]:
        """code → region ids it supports."""
        return {code: frozenset(d.regions) for code, d in self.by_code.items()}

    def search(self, text: str, limit: int = 20) -> list[Diagnosis]:
        """Codes whose code starts with `text` (dot optional), then those whose descriptor
        contains every typed word."""
        query = text.strip().lower()
        if not query:
            return []
        compact = query.replace(".", "")
        words = query.split()
        by_code = [
            d for d in self.by_code.values() if d.code.lower().replace(".", "").startswith(compact)
        ]
        by_words = [
            d
            for d in self.by_code.values()
            if d not in by_code and all(w in d.descriptor.lower() for w in words)
        ]
        return (by_code + by_words)[:limit]


@cache
def load_diagnoses() -> DiagnosisCatalog:
    data = json.loads(resource_path("catalog/diagnoses.json").read_text(encoding="utf-8"))
    catalog = load_catalog()
    every_region = tuple(catalog.regions)

    def regions(code: str) -> tuple[str, ...]:
        entry = catalog.regions_supported_by(code)
        # No entry, or a generic code: the code makes no claim about the site.
        return every_region if entry is None or entry.regions is None else entry.regions

    entries = {
        item["code"]: Diagnosis(
            code=item["code"],
            descriptor=item["descriptor"],
            regions=regions(item["code"]),
            laterality=item.get("laterality"),
            verified=bool(item.get("verified", True)),
        )
        for item in data["diagnoses"]
    }
    return DiagnosisCatalog(by_code=MappingProxyType(entries), source=str(data["source"]))

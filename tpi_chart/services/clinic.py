"""The catalog in force: the shipped one plus the clinic folder (`paths.clinic_dir`)."""

from __future__ import annotations

from pathlib import Path

from tpi_chart.domain.catalog import read_shipped_catalog
from tpi_chart.domain.clinic_overlay import ClinicCatalog, apply_clinic_folder
from tpi_chart.services.paths import clinic_dir


def clinic_catalog(folder: Path | None = None) -> ClinicCatalog:
    """The shipped catalog with the clinic folder applied; InvalidInput (one line per problem,
    naming the file and field) when the folder has a bad file, so nothing half-applied is used."""
    return apply_clinic_folder(read_shipped_catalog(), folder or clinic_dir())

"""Patient list with instant search, the patient form and the patient's procedures."""

from tpi_chart.ui.patients.page import PatientsPage

__all__ = ["PatientsPage"]

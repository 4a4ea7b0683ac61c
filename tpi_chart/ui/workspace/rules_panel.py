"""Live rules panel: CPT, HCPCS units, totals, % of maximum anesthetic, warnings with site numbers.

Refreshed after each committed edit from `rules.evaluate(charting.document(id))`; it only reads.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.rules import Evaluation
from tpi_chart.ui.style import repolish

log = logging.getLogger(__name__)


class RulesPanel(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setObjectName("rulesPanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        self.cpt = QLabel("–")
        self.cpt.setObjectName("cptLabel")
        self.cpt.setProperty("role", "big")
        self.muscles = QLabel("")
        self.muscles.setProperty("role", "muted")
        self.hcpcs = QLabel("–")
        self.hcpcs.setObjectName("hcpcsLabel")
        self.totals = QLabel("–")
        self.totals.setObjectName("totalsLabel")
        self.totals.setWordWrap(True)
        cpt_title = QLabel("CPT")
        cpt_title.setProperty("role", "section")
        hcpcs_title = QLabel("HCPCS")
        hcpcs_title.setProperty("role", "section")
        grid.addWidget(cpt_title, 0, 0)
        grid.addWidget(hcpcs_title, 0, 1)
        grid.addWidget(self.cpt, 1, 0)
        grid.addWidget(self.hcpcs, 1, 1)
        grid.addWidget(self.muscles, 2, 0)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        layout.addWidget(self.totals)
        self.dose_bar = QProgressBar()
        self.dose_bar.setObjectName("doseBar")
        self.dose_bar.setRange(0, 100)
        self.dose_bar.setFormat("Local anesthetic: %p % of maximum")
        self.dose_bar.setToolTip(
            "Sum of each local anesthetic as a fraction of its own maximum dose"
        )
        # The words sit above the bar, on the card: drawn across the bar, part of them fell on
        # the dark chunk (black on green, unreadable).
        self.dose_bar.setTextVisible(False)
        self.dose_bar.setAccessibleName("Local anesthetic dose")
        self.dose_label = QLabel("Local anesthetic: –")
        self.dose_label.setObjectName("doseLabel")
        layout.addWidget(self.dose_label)
        layout.addWidget(self.dose_bar)
        self.warnings = QListWidget()
        self.warnings.setObjectName("warningsList")
        self.warnings.setAccessibleName("Rule warnings")
        self.warnings.setWordWrap(True)
        self.warnings.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.warnings.setMinimumHeight(60)
        layout.addWidget(self.warnings, 1)
        self.evaluation: Evaluation | None = None
        self._warnings_shown: tuple[tuple[str, str], ...] | None = None

    def show_evaluation(self, evaluation: Evaluation | None) -> None:
        """Show the rules' result; None when the chart could not be evaluated yet."""
        self.evaluation = evaluation
        if evaluation is None:  # no list at all, not "No warnings"
            self.warnings.clear()
            self._warnings_shown = None
            self.cpt.setText("–")
            self.hcpcs.setText("rules not available")
            return
        self.cpt.setText(evaluation.cpt or "none yet")
        count = evaluation.muscle_count
        muscles = f"{count} muscle{'s' if count != 1 else ''}"
        dry = evaluation.dry_needled_muscle_count
        if dry:
            # 20560/20561 (or dry-needled muscles beside a TPI): never counted as a TPI.
            muscles += f" · dry needling: {dry} muscle{'s' if dry != 1 else ''}"
        self.muscles.setText(muscles)
        lines = [f"{h.code} × {h.units}" for h in evaluation.hcpcs]
        self.hcpcs.setText(", ".join(lines) if lines else "none")
        totals = [f"{t.name} {t.mg:g} mg ({t.ml:g} mL)" for t in evaluation.totals]
        self.totals.setText("Given: " + "; ".join(totals) if totals else "Given: nothing yet")
        percent = evaluation.anesthetic.percent_of_max
        self.dose_bar.setValue(min(100, round(percent)))
        self.dose_bar.setFormat(f"Local anesthetic: {percent:.1f} % of maximum")
        self.dose_label.setText(self.dose_bar.format())
        self.dose_bar.setAccessibleDescription(self.dose_bar.format())
        # The colour follows the rules' own verdict (thresholds live in the formulary data).
        codes = evaluation.warning_codes
        level = (
            "over"
            if "anesthetic_dose_over_max" in codes
            else "near"
            if "anesthetic_dose_near_max" in codes
            else "ok"
        )
        # Re-polishing restyles the bar (and lays it out) even when the level is the same.
        if self.dose_bar.property("level") != level:
            self.dose_bar.setProperty("level", level)
            repolish(self.dose_bar)
        shown = []
        for warning in evaluation.warnings:
            sites = ", ".join(str(s) for s in warning.sites)
            shown.append(
                (f"⚠ {warning.message}" + (f"  (sites {sites})" if sites else ""), warning.code)
            )
        self._show_warnings(tuple(shown))

    def _show_warnings(self, shown: tuple[tuple[str, str], ...]) -> None:
        """(text, code) of each warning; the list is filled again only when they changed: after
        most clicks they have not, and refilling lays out and repaints the whole list."""
        if shown == self._warnings_shown:
            return
        self._warnings_shown = shown
        self.warnings.clear()
        for text, code in shown:
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setToolTip(code)
            self.warnings.addItem(item)
        if not shown:
            self.warnings.addItem(QListWidgetItem("No warnings"))

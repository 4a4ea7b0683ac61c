"""Syringes (preparations): agent from the formulary, strength from that agent's strengths, volume,
lot, expiry, and the container drawn from (single- or multi-dose, its size: JW/JZ on the claim);
a running total drawn vs given per syringe. Every field commits when it is left."""

from __future__ import annotations

import contextlib
import string
from datetime import date
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import Component, Preparation
from tpi_chart.ui.document import ProcedureDocument
from tpi_chart.ui.layouts import take_widgets
from tpi_chart.ui.plain_errors import PlainProblem, plain_validation
from tpi_chart.ui.style import repolish
from tpi_chart.ui.workspace.indication_panel import keep_field_keys

#: (stored value, what the combo box says); None: not recorded.
CONTAINER_CHOICES: tuple[tuple[str | None, str], ...] = (
    (None, "Container?"),
    ("single_dose", "Single-dose vial"),
    ("multi_dose", "Multi-dose vial"),
)


class ComponentRow:
    def __init__(
        self, grid: QGridLayout, row: int, component: Component | None, on_edit: Any
    ) -> None:
        catalog = load_catalog()
        self.agent = QComboBox()
        # The longest drug name must not set the panel's width.
        self.agent.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.agent.setMinimumContentsLength(10)
        for agent in catalog.agents.values():
            self.agent.addItem(agent.name, agent.id)
        self.agent.setAccessibleName("Drug")
        self.strength = QComboBox()
        self.strength.setAccessibleName("Strength")
        self.volume = QDoubleSpinBox()
        self.volume.setRange(0.1, 100)
        self.volume.setDecimals(1)
        self.volume.setSingleStep(0.5)
        self.volume.setSuffix(" mL")
        self.volume.setKeyboardTracking(False)
        self.volume.setAccessibleName("Volume drawn, mL")
        self.lot = QLineEdit()
        self.lot.setPlaceholderText("Lot")
        self.lot.setToolTip("Lot number on the vial")
        self.lot.setAccessibleName("Lot")
        # A vial's lot (eight characters) shows whole: the volume's wide spin box took the
        # column's room and "LD24117" was cut to "LD241".
        self.lot.setMinimumWidth(self.lot.fontMetrics().horizontalAdvance("0" * 8) + 16)
        self.expires = QLineEdit()
        self.expires.setPlaceholderText("Expires YYYY-MM-DD")
        self.expires.setToolTip("Expiry date, for example 2027-06-30")
        self.expires.setAccessibleName("Expiry date")
        self.container = QComboBox()
        self.container.setAccessibleName("Container")
        self.container.setToolTip(
            "The vial drawn from: a single-dose vial's discarded rest is billed with JW (or JZ "
            "when nothing is discarded)"
        )
        for value, text in CONTAINER_CHOICES:
            self.container.addItem(text, value)
        self.container.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.container.setMinimumContentsLength(10)
        self.container_ml = QDoubleSpinBox()
        self.container_ml.setRange(0.0, 100)
        self.container_ml.setDecimals(1)
        self.container_ml.setSingleStep(1.0)
        self.container_ml.setSuffix(" mL")
        self.container_ml.setSpecialValueText("Vial mL?")
        self.container_ml.setKeyboardTracking(False)
        self.container_ml.setAccessibleName("Container size, mL")
        self.container_ml.setToolTip("Vial size: how much the vial held (mL)")
        # Kept as charted: the NDC has no field here yet, and an edit must not drop it.
        self._ndc: str | None = None
        self.remove = QPushButton("✕")
        self.remove.setToolTip("Remove this drug from the syringe")
        self.remove.setAccessibleName("Remove this drug")
        self.remove.setFixedWidth(38)
        if component is not None:
            self.agent.setCurrentIndex(max(0, self.agent.findData(component.agent)))
        self._fill_strengths(component.concentration if component else None)
        if component is not None:
            self.volume.setValue(component.volume_ml)
            self.lot.setText(component.lot or "")
            self.expires.setText(component.expires.isoformat() if component.expires else "")
            self.container.setCurrentIndex(max(0, self.container.findData(component.container)))
            self.container_ml.setValue(component.container_ml or 0.0)
            self._ndc = component.ndc
        else:
            self.volume.setValue(1.0)
        # Three lines per drug, so the lot and the expiry stay readable in a third of a 1366 px
        # screen: drug, strength, remove; then volume, lot, expiry; then the container.
        grid.addWidget(self.agent, row, 0, 1, 2)
        grid.addWidget(self.strength, row, 2)
        grid.addWidget(self.remove, row, 3)
        grid.addWidget(self.volume, row + 1, 0)
        grid.addWidget(self.lot, row + 1, 1)
        grid.addWidget(self.expires, row + 1, 2, 1, 2)
        # They take the width the volume and the lot above them set, never widen the panel.
        for widget in (self.container, self.container_ml):
            widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        grid.addWidget(self.container, row + 2, 0)
        grid.addWidget(self.container_ml, row + 2, 1)
        # Built after the workspace claimed its fields' keys: Enter and the arrows choose and
        # step here, they do not chart.
        for field in self.widgets()[:-1]:
            keep_field_keys(field)

        def drug_chosen(_index: int) -> None:
            self._drug_changed()
            on_edit()

        self.agent.activated.connect(drug_chosen)
        self.strength.activated.connect(lambda _i: on_edit())
        self.volume.valueChanged.connect(lambda _v: on_edit())
        self.lot.editingFinished.connect(on_edit)
        self.expires.editingFinished.connect(on_edit)
        self.container.activated.connect(lambda _i: on_edit())
        self.container_ml.valueChanged.connect(lambda _v: on_edit())

    def _drug_changed(self) -> None:
        # The lot and expiry were the old drug's vial: kept, they would chart a wrong lot.
        self._fill_strengths(None)
        self.lot.clear()
        self.expires.clear()
        self._ndc = None  # the NDC names the old drug's package too

    def _fill_strengths(self, current: str | None) -> None:
        agent = load_catalog().agents[self.agent.currentData()]
        self.strength.clear()
        for strength in agent.strengths:
            self.strength.addItem(strength)
        if current is not None:
            if self.strength.findText(current) < 0:
                self.strength.addItem(current)
            self.strength.setCurrentText(current)

    def widgets(self) -> tuple[QWidget, ...]:
        return (
            self.agent,
            self.strength,
            self.volume,
            self.lot,
            self.expires,
            self.container,
            self.container_ml,
            self.remove,
        )

    def value(self) -> dict[str, Any]:
        expires: Any = self.expires.text().strip() or None
        if expires is not None:
            with contextlib.suppress(ValueError):  # left as text: validation names the field
                expires = date.fromisoformat(expires)
        return {
            "agent": self.agent.currentData(),
            "concentration": self.strength.currentText(),
            "volume_ml": round(self.volume.value(), 2),
            "lot": self.lot.text().strip() or None,
            "expires": expires,
            "ndc": self._ndc,
            "container": self.container.currentData(),
            "container_ml": round(self.container_ml.value(), 2) or None,
        }


ROWS_PER_DRUG = 3


class PreparationsPanel(QScrollArea):
    failed = Signal(str)

    def __init__(self, document: ProcedureDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._body = QWidget()
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self.setWidget(self._body)
        self._rows: list[tuple[str, str | None, list[ComponentRow], QLabel]] = []
        self._shape: list[int] = []
        self._building = False
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)

    # -- building ----------------------------------------------------------------------------

    def refresh(self, parts: frozenset[str]) -> None:
        procedure = self.document.procedure
        if procedure is None:
            return
        shape = [len(p.components) for p in procedure.preparations]
        if "all" in parts or shape != self._shape:
            self._rebuild(procedure.preparations)
        self._update_totals()

    def _rebuild(self, preparations: tuple[Preparation, ...]) -> None:
        self._building = True
        for widget in take_widgets(self._layout):
            if widget is not self.error:
                widget.deleteLater()
        self._rows = []
        self._shape = [len(p.components) for p in preparations]
        editable = not self.document.read_only
        for preparation in preparations:
            box = QGroupBox(preparation.label or f"Syringe {preparation.id}")
            grid = QGridLayout(box)
            grid.setHorizontalSpacing(6)
            grid.setColumnStretch(1, 1)
            rows: list[ComponentRow] = []
            for index, component in enumerate(preparation.components):
                row = ComponentRow(grid, ROWS_PER_DRUG * index, component, self._commit)
                row.remove.clicked.connect(
                    lambda _c=False, p=preparation.id, i=index: self._remove_component(p, i)
                )
                for widget in row.widgets():
                    widget.setEnabled(editable)
                rows.append(row)
            total = QLabel()
            total.setObjectName(f"prepTotal_{preparation.id}")
            total.setWordWrap(True)
            grid.addWidget(total, ROWS_PER_DRUG * len(rows), 0, 1, 2)
            add = QPushButton("+ Drug")
            add.setEnabled(editable)
            add.clicked.connect(lambda _c=False, p=preparation.id: self._add_component(p))
            grid.addWidget(add, ROWS_PER_DRUG * len(rows), 2, 1, 2)
            self._rows.append((preparation.id, preparation.label, rows, total))
            self._layout.addWidget(box)
        buttons = QHBoxLayout()
        add_syringe = QPushButton("+ Syringe")
        add_syringe.setObjectName("addSyringe")
        add_syringe.setEnabled(editable)
        add_syringe.setToolTip("Add a syringe (lidocaine 1 % to start; change drug and strength)")
        add_syringe.clicked.connect(self._add_preparation)
        holder = QWidget()
        buttons.setContentsMargins(0, 0, 0, 0)
        holder.setLayout(buttons)
        buttons.addWidget(add_syringe)
        buttons.addStretch(1)
        self._layout.addWidget(holder)
        self._layout.addWidget(self.error)
        self._layout.addStretch(1)
        self._building = False

    def _update_totals(self) -> None:
        given: dict[str, float] = {}
        for stored in self.document.sites:
            site = stored.site
            if site.state == "injected" and site.preparation and site.volume_ml:
                given[site.preparation] = given.get(site.preparation, 0.0) + site.volume_ml
        procedure = self.document.procedure
        if procedure is None:
            return
        for prep_id, _label, _rows, label in self._rows:
            preparation = procedure.preparation(prep_id)
            drawn = preparation.total_volume_ml if preparation else 0.0
            used = given.get(prep_id, 0.0)
            left = drawn - used
            text = f"Drawn {drawn:g} mL · given {used:g} mL · left {left:g} mL"
            if left < 0:
                text = f"⚠ {text} — more given than drawn"
            label.setText(text)

    # -- editing -----------------------------------------------------------------------------

    def _collect(self) -> list[dict[str, Any]]:
        return [
            {"id": prep_id, "label": label, "components": [row.value() for row in rows]}
            for prep_id, label, rows, _total in self._rows
        ]

    def _store(self, raw: list[dict[str, Any]]) -> None:
        preparations: list[Preparation] = []
        problems: dict[str, list[PlainProblem]] = {}
        for prep in raw:
            try:
                preparations.append(Preparation.model_validate(prep))
            except ValidationError as error:
                problems[prep["id"]] = plain_validation(error, "syringe.")
        self._mark_invalid(problems)
        if problems:
            many = len(raw) > 1
            text = "\n".join(
                f"{prep_id_label(prep_id) + ' — ' if many else ''}{problem.sentence}"
                for prep_id, found in problems.items()
                for problem in found
            )
            self.error.setText(text)
            self.failed.emit(text.replace("\n", "; "))
            return
        self.error.setText("")
        self.document.set_preparations(preparations)

    def _mark_invalid(self, problems: dict[str, list[PlainProblem]]) -> None:
        """A red border on the field a problem names, in the row of its drug."""
        for prep_id, _label, rows, _total in self._rows:
            found = problems.get(prep_id, [])
            for index, row in enumerate(rows):
                for name, widget in (
                    ("lot", row.lot),
                    ("expires", row.expires),
                    ("volume_ml", row.volume),
                    ("concentration", row.strength),
                    ("agent", row.agent),
                    ("container", row.container),
                    ("container_ml", row.container_ml),
                ):
                    bad = any(p.field == name and (p.index or 0) == index for p in found)
                    if bool(widget.property("invalid")) != bad:
                        widget.setProperty("invalid", bad)
                        repolish(widget)

    def _commit(self) -> None:
        if not self._building:
            self._store(self._collect())

    def _add_component(self, prep_id: str) -> None:
        raw = self._collect()
        for prep in raw:
            if prep["id"] == prep_id:
                prep["components"].append(
                    {"agent": "triamcinolone", "concentration": "40 mg/mL", "volume_ml": 1.0}
                )
        self._store(raw)

    def _remove_component(self, prep_id: str, index: int) -> None:
        raw = self._collect()
        for prep in raw:
            if prep["id"] == prep_id:
                del prep["components"][index]
        self._store([p for p in raw if p["components"]])

    def _add_preparation(self) -> None:
        raw = self._collect()
        used = {p["id"] for p in raw}
        new_id = next(letter for letter in string.ascii_uppercase if letter not in used)
        raw.append(
            {
                "id": new_id,
                "label": f"Syringe {new_id}",
                "components": [{"agent": "lidocaine", "concentration": "1%", "volume_ml": 5.0}],
            }
        )
        self._store(raw)

    def preparation_ids(self) -> list[str]:
        return [prep_id for prep_id, *_rest in self._rows]


def prep_id_label(prep_id: str) -> str:
    return f"Syringe {prep_id}"

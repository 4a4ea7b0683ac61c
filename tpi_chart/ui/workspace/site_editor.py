"""The selected site's controls: injected, twitch, volume presets, syringe, dry needling,
findings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import computed_location
from tpi_chart.domain.models import Site
from tpi_chart.domain.presentation import TWITCH_WORDS
from tpi_chart.ui.workspace.indication_panel import keep_field_keys
from tpi_chart.ui.workspace.widgets import show_from_start

FINDINGS = (
    ("taut_band", "Taut band"),
    ("referred_pain", "Referred pain"),
    ("jump_sign", "Jump sign"),
    ("negative_aspiration", "Neg. aspiration"),
)
MIN_TARGET_PX = 34
TWITCH_BUTTONS = tuple(
    (value, TWITCH_WORDS[value], keys)
    for value, keys in (("none", "N / 0"), ("weak", "W / 1"), ("brisk", "B / 2"))
)


class SiteEditor(QFrame):
    inject_requested = Signal()
    twitch_requested = Signal(str)
    volume_requested = Signal(float)
    preparation_requested = Signal(str)
    findings_requested = Signal(str, bool)
    remove_requested = Signal()
    #: The clinician's wording of where the site is ("" = let the diagram describe it again).
    location_requested = Signal(str)
    #: Needle without injectate (CPT 20560/20561): the site then has no syringe and no volume.
    dry_needling_requested = Signal(bool)

    def __init__(self, presets: tuple[float, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setObjectName("siteEditor")
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)

        self.title = QLabel("No site selected")
        self.title.setObjectName("siteTitle")
        self.title.setProperty("role", "title")
        self.title.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        self.dry_needling = QPushButton("Dry needling (D)")
        self.dry_needling.setObjectName("dryNeedling")
        self.dry_needling.setCheckable(True)
        self.dry_needling.setProperty("role", "toggle")
        self.dry_needling.setMinimumHeight(MIN_TARGET_PX)
        self.dry_needling.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.dry_needling.setAccessibleName("Dry needling at this site (no injectate)")
        self.dry_needling.setToolTip(
            "Needle only, nothing injected (D): coded 20560/20561, not a trigger point "
            "injection; the site keeps no syringe and no volume"
        )
        self.dry_needling.clicked.connect(
            lambda checked: self.dry_needling_requested.emit(bool(checked))
        )
        self.remove = QPushButton("Remove  (Del)")
        self.remove.setObjectName("removeSite")
        self.remove.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.remove.setToolTip("Remove the selected site (undo with Ctrl+Z)")
        self.remove.clicked.connect(self.remove_requested)
        # Beside the title (which wraps), not in the findings row: that row sets the panel's
        # minimum width, and the tabs beside it need their room at 1366 px.
        top.addWidget(self.dry_needling)
        top.addWidget(self.remove)
        grid.addLayout(top, 0, 0, 1, 2)

        self.inject = QPushButton("Injected  (Space)")
        self.inject.setObjectName("injectButton")
        self.inject.setProperty("role", "primary")
        self.inject.setMinimumHeight(44)
        self.inject.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.inject.setToolTip("Mark the selected planned site injected (Space or Enter)")
        self.inject.clicked.connect(self.inject_requested)
        grid.addWidget(self.inject, 1, 0)
        twitch_row = QHBoxLayout()
        twitch_row.setSpacing(4)
        self.twitch_group = QButtonGroup(self)
        self.twitch: dict[str, QPushButton] = {}
        for value, text, keys in TWITCH_BUTTONS:
            button = QPushButton(f"{text} ({keys.split(' ')[0]})")
            button.setObjectName(f"twitch_{value}")
            button.setCheckable(True)
            button.setMinimumHeight(44)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(
                f"Twitch response {text.lower()} ({keys}). On a planned site this also "
                "marks it injected; then the next planned site is selected."
            )
            button.clicked.connect(lambda _c=False, v=value: self.twitch_requested.emit(v))
            self.twitch_group.addButton(button)
            self.twitch[value] = button
            twitch_row.addWidget(button)
        grid.addLayout(twitch_row, 1, 1)

        volume_row = QHBoxLayout()
        volume_row.setSpacing(4)
        volume_row.addWidget(QLabel("mL"))
        self.volume = QDoubleSpinBox()
        self.volume.setObjectName("siteVolume")
        self.volume.setAccessibleName("Volume at this site, mL")
        self.volume.setRange(0.0, 100.0)
        self.volume.setDecimals(1)
        self.volume.setSingleStep(0.1)
        self.volume.setSpecialValueText("–")
        self.volume.setKeyboardTracking(False)
        self.volume.setMinimumWidth(70)
        self.volume.setToolTip("Volume injected at this site, mL")
        self.volume.valueChanged.connect(self._volume_changed)
        # Typed into, Enter and the arrows edit the volume; they do not inject or step sites.
        keep_field_keys(self.volume)
        volume_row.addWidget(self.volume)
        self.presets: list[QPushButton] = []
        for index, preset in enumerate(presets):
            button = QPushButton(f"{preset:g}")
            button.setObjectName(f"preset_{index + 1}")
            button.setMinimumWidth(44)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(f"{preset:g} mL at this site (Alt+{index + 1}); UI preset")
            button.clicked.connect(lambda _c=False, v=preset: self.volume_requested.emit(v))
            volume_row.addWidget(button)
            self.presets.append(button)
        volume_row.addSpacing(10)
        self.preparation = QComboBox()
        self.preparation.setObjectName("sitePreparation")
        self.preparation.setAccessibleName("Syringe used at this site")
        self.preparation.setToolTip("Syringe used at this site")
        self.preparation.activated.connect(
            lambda _i: self.preparation_requested.emit(self.preparation.currentData() or "")
        )
        volume_row.addWidget(self.preparation)
        volume_row.addStretch(1)
        grid.addLayout(volume_row, 2, 0, 1, 2)

        findings_row = QHBoxLayout()
        # Toggle buttons, not check boxes: a gloved finger needs a 34 px target (product.md §3).
        self.findings: dict[str, QPushButton] = {}
        for key, text in FINDINGS:
            box = QPushButton(text)
            box.setObjectName(f"finding_{key}")
            box.setCheckable(True)
            box.setProperty("role", "toggle")
            box.setMinimumHeight(MIN_TARGET_PX)
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            box.clicked.connect(
                lambda checked, k=key: self.findings_requested.emit(k, bool(checked))
            )
            self.findings[key] = box
            findings_row.addWidget(box)
        findings_row.addStretch(1)
        grid.addLayout(findings_row, 3, 0, 1, 2)

        location_row = QHBoxLayout()
        location_row.addWidget(QLabel("Location"))
        self.location = QLineEdit()
        self.location.setObjectName("siteLocation")
        self.location.setAccessibleName("Location")
        self.location.setMaxLength(200)
        self.location.setMinimumHeight(MIN_TARGET_PX)
        self.location.setPlaceholderText("Relative to bony landmarks, e.g. 2 cm medial to …")
        self.location.setToolTip(
            "Where the site is, relative to the nearest bony landmarks. Filled in from the "
            "diagram; edit it to your own words (clear it to have it described again)."
        )
        self.location.editingFinished.connect(self._location_edited)
        location_row.addWidget(self.location, 1)
        grid.addLayout(location_row, 4, 0, 1, 2)
        grid.setColumnStretch(1, 1)
        self._updating = False
        self.show_site(None, None, (), editable=False, can_chart=False)

    def _location_edited(self) -> None:
        if not self._updating and self.location.isModified():
            self.location.setModified(False)
            self.location_requested.emit(self.location.text().strip())

    def _volume_changed(self, value: float) -> None:
        if not self._updating and value > 0:
            self.volume_requested.emit(round(value, 2))

    def show_site(
        self,
        number: int | None,
        site: Site | None,
        preparation_ids: tuple[str, ...],
        *,
        editable: bool,
        can_chart: bool,
    ) -> None:
        self._updating = True
        try:
            listed = [self.preparation.itemData(i) for i in range(self.preparation.count())]
            # Shown again after every edit: the syringes are listed again only when they changed
            # (a refilled box is measured, laid out and repainted).
            if listed != [None, *preparation_ids]:
                self.preparation.clear()
                self.preparation.addItem("No syringe", None)
                for prep_id in preparation_ids:
                    self.preparation.addItem(f"Syringe {prep_id}", prep_id)
            if site is None:
                self.title.setText("No site selected — click a marker or a row")
                self.volume.setValue(0)
                for button in self.twitch.values():
                    button.setChecked(False)
                for box in self.findings.values():
                    box.setChecked(False)
                self.dry_needling.setChecked(False)
                self.location.clear()
                for widget in self._all():
                    widget.setEnabled(False)
                return
            name = load_catalog().muscle_name(site.muscle)
            state = "injected" if site.state == "injected" else "planned"
            if site.dry_needling:
                state = f"dry needling, {state}"
            self.title.setText(f"{number} · {name}, {site.side} · {state}")
            self.volume.setValue(site.volume_ml or 0)
            self.preparation.setCurrentIndex(max(0, self.preparation.findData(site.preparation)))
            self.twitch_group.setExclusive(False)
            for value, button in self.twitch.items():
                button.setChecked(site.twitch == value)
            self.twitch_group.setExclusive(True)
            for key, box in self.findings.items():
                box.setChecked(bool(getattr(site.findings, key)))
            self.dry_needling.setChecked(site.dry_needling)
            show_from_start(
                self.location,
                site.location or computed_location(site.view, site.x, site.y, site.side) or "",
            )
            self.location.setModified(False)
            # Each control's state is worked out first and set once: switching a control off
            # and on again in one pass repaints it for nothing.
            enabled = dict.fromkeys(self._all(), editable)
            charting_ok = editable and can_chart
            enabled[self.inject] = charting_ok and site.state == "planned"
            for control in (*self.twitch.values(), *self.findings.values()):
                enabled[control] = charting_ok
            # Nothing is injected at a dry-needled site: no volume to give, no syringe to pick.
            for widget in (self.volume, self.preparation, *self.presets):
                enabled[widget] = editable and not site.dry_needling
            enabled[self.dry_needling] = editable and (site.state == "planned" or can_chart)
            for widget, on in enabled.items():
                widget.setEnabled(on)
        finally:
            self._updating = False

    def _all(self) -> list[QWidget]:
        return [
            self.inject,
            self.volume,
            self.preparation,
            self.remove,
            self.location,
            *self.twitch.values(),
            *self.presets,
            *self.findings.values(),
            self.dry_needling,
        ]

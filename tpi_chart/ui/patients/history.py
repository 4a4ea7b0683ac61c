"""The patient's history (product.md §2, workflow 4 "Review"): what the physician reads before a
repeat injection. Sessions against the payer's limit, steroid over 12 months, the last session,
pain and relief over time, every visit's sites on the diagram and injections per muscle.

All figures come from `domain.history` through `services.history.HistoryService`; this module
only lays them out. It is computed when shown (the page asks for it when its tab is opened).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.history import MuscleCount, PatientHistory, SessionCount, SteroidSummary
from tpi_chart.domain.models import PainDrawing
from tpi_chart.services.history import HistoryService
from tpi_chart.ui import style
from tpi_chart.ui.patients.history_diagram import (
    RELIEF_LOW,
    RELIEF_OK,
    RELIEF_UNKNOWN,
    HistoryDiagram,
)
from tpi_chart.ui.patients.history_plot import PainReliefPlot
from tpi_chart.ui.patients.pain_history import PainHistory, VisitDrawing

SIDE_TEXT = {"left": "L", "right": "R", "midline": "mid"}
MUSCLE_COLUMNS = ("Muscle, side", "×", "Last", "Next")
MUSCLE_TOOLTIPS = (
    "The muscle and the patient's side",
    "Injections (injected sites) over all visits",
    "Last injected",
    "Earliest date the same muscle and side may be injected again under the payer's interval",
)
NBSP = "\u00a0"


def _mg(value: float) -> str:
    return f"{value:g}"


def _ago(days: int) -> str:
    if days <= 0:
        return "today"
    if days < 14:
        return f"{days} day{'s' if days != 1 else ''} ago"
    weeks = days // 7
    if weeks < 9:
        return f"{weeks} weeks ago"
    months = round(days / 30.44)
    return f"{months} months ago"


def _card(title: str, object_name: str) -> tuple[QFrame, QVBoxLayout]:
    card = QFrame()
    card.setObjectName(object_name)
    card.setProperty("role", "card")
    layout = QVBoxLayout(card)
    layout.setContentsMargins(10, 8, 10, 8)
    layout.setSpacing(2)
    heading = QLabel(title)
    heading.setProperty("role", "section")
    layout.addWidget(heading)
    return card, layout


def _label(
    object_name: str, role: str | None = None, wrap: bool = True, small: bool = False
) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    if role:
        label.setProperty("role", role)
    label.setWordWrap(wrap)
    if small:
        font = label.font()
        font.setPointSizeF(max(8.0, font.pointSizeF() - 1.0))
        label.setFont(font)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _dot(colour: QColor) -> str:
    return f"<span style='color:{colour.name()}'>●</span>"


def sessions_text(sessions: SessionCount) -> tuple[str, str]:
    """The big figure and the sentence under it."""
    if sessions.limit is None:
        return str(sessions.used), sessions.message
    return f"{sessions.used} of {sessions.limit}", sessions.message


def interval_text(muscles: tuple[MuscleCount, ...], sessions: SessionCount, as_of: date) -> str:
    interval = sessions.min_days_same_muscle_side
    if interval is None or not muscles:
        return ""
    waiting = sorted(
        (m for m in muscles if not m.allowed_on(as_of)),
        key=lambda m: (m.next_allowed or as_of, m.muscle_name),
    )
    rule = f"Same muscle/side ≥{NBSP}{interval} days apart"
    if not waiting:
        return f"{rule}: every muscle may be injected again."
    first = waiting[0]
    more = f" (+{len(waiting) - 1} more)" if len(waiting) > 1 else ""
    assert first.next_allowed is not None  # waiting implies an interval
    return (
        f"{rule}: {first.muscle_name} {SIDE_TEXT.get(first.side, first.side)} "
        f"not before {first.next_allowed.isoformat()}{more}."
    )


def steroid_lines(steroids: SteroidSummary) -> list[str]:
    """One line per agent; an asterisk marks an UNVERIFIED equivalence factor."""
    lines: list[str] = []
    for row in steroids.agents:
        visits = f"{row.visits} visit{'s' if row.visits != 1 else ''}"
        if row.factor is None or row.methylprednisolone_mg is None:
            lines.append(f"{row.name} {_mg(row.mg)}{NBSP}mg, {visits}; no equivalence factor")
            continue
        star = "" if row.factor_verified else "*"
        lines.append(
            f"{row.name} {_mg(row.mg)}{NBSP}mg, {visits} → "
            f"{_mg(row.methylprednisolone_mg)}{NBSP}mg{star}"
        )
    return lines


def factor_text(steroids: SteroidSummary) -> str:
    return "\n".join(
        f"1 mg {row.name} = {row.factor:g} mg methylprednisolone"
        + ("" if row.factor_verified else f" (UNVERIFIED; source {row.factor_source})")
        for row in steroids.agents
        if row.factor is not None
    )


class HistoryView(QWidget):
    def __init__(self, services: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientHistory")
        self.history_service = HistoryService(services.charting, services.patients)
        self._charting = services.charting  # the visits' pain drawings
        self.history: PatientHistory | None = None
        self.patient_id: int | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack)

        self.empty = QLabel()
        self.empty.setObjectName("historyEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setProperty("role", "muted")
        self.stack.addWidget(self.empty)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget()
        content.setObjectName("historyContent")
        scroll.setWidget(content)
        self.stack.addWidget(scroll)
        # Facts in a column on the left; the plot gets the full width of the right-hand side
        # (a long history needs it), the diagram and the per-muscle table share the row below.
        layout = QHBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(8)
        layout.addLayout(self._build_facts(), 3)
        right = QVBoxLayout()
        right.setSpacing(8)
        right.addWidget(self._build_plot(), 2)
        lower = QHBoxLayout()
        lower.setSpacing(8)
        lower.addWidget(self._build_diagram(), 4)
        lower.addWidget(self._build_muscles(), 6)
        right.addLayout(lower, 3)
        layout.addLayout(right, 7)

    # ---- building ----------------------------------------------------------------------------
    def _build_facts(self) -> QVBoxLayout:
        row = QVBoxLayout()
        row.setSpacing(8)
        self.sessions_card, box = _card("Sessions · last 365 days", "historySessions")
        self.sessions_value = _label("historySessionsValue", "big", wrap=False)
        self.sessions_text = _label("historySessionsText", small=True)
        self.interval_text = _label("historyInterval", "muted", small=True)
        for widget in (self.sessions_value, self.sessions_text, self.interval_text):
            box.addWidget(widget)
        box.addStretch(1)
        row.addWidget(self.sessions_card)

        self.steroid_card, box = _card("Corticosteroid · last 12 months", "historySteroids")
        self.steroid_value = _label("historySteroidValue", "big", wrap=False)
        self.steroid_agents = _label("historySteroidAgents", small=True)
        self.steroid_flag = _label("historySteroidFlag", small=True)
        self.steroid_flag.setStyleSheet(f"color: {style.WARN}; font-weight: 600;")
        for widget in (self.steroid_value, self.steroid_agents, self.steroid_flag):
            box.addWidget(widget)
        box.addStretch(1)
        row.addWidget(self.steroid_card)

        self.last_card, box = _card("Last session", "historyLast")
        self.last_value = _label("historyLastValue", "big", wrap=False)
        self.last_text = _label("historyLastText", small=True)
        box.addWidget(self.last_value)
        box.addWidget(self.last_text)
        box.addStretch(1)
        row.addWidget(self.last_card)

        self.pain_card, box = _card("Pain drawings · latest visits", "historyPainDrawings")
        self.pain_drawings = PainHistory()
        box.addWidget(self.pain_drawings)
        self.pain_card.hide()
        row.addWidget(self.pain_card)
        row.addStretch(1)
        return row

    def _build_plot(self) -> QWidget:
        card, box = _card("Pain and relief per visit", "historyPlotCard")
        self.plot = PainReliefPlot()
        box.addWidget(self.plot, 1)
        return card

    def _build_diagram(self) -> QWidget:
        card, box = _card("Injected sites, every visit", "historyDiagramCard")
        self.diagram = HistoryDiagram()
        box.addWidget(self.diagram, 1)
        self.legend = _label("historyLegend", "muted")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        box.addWidget(self.legend)
        return card

    def _build_muscles(self) -> QWidget:
        card, box = _card("Injections per muscle", "historyMusclesCard")
        self.muscles = QTableWidget(0, len(MUSCLE_COLUMNS))
        self.muscles.setObjectName("historyMuscles")
        self.muscles.setHorizontalHeaderLabels(list(MUSCLE_COLUMNS))
        for column, tip in enumerate(MUSCLE_TOOLTIPS):
            header_item = self.muscles.horizontalHeaderItem(column)
            if header_item is not None:
                header_item.setToolTip(tip)
        self.muscles.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.muscles.verticalHeader().hide()
        self.muscles.verticalHeader().setDefaultSectionSize(28)
        self.muscles.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.muscles.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.muscles.setAlternatingRowColors(True)
        self.muscles.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keeps the side visible
        self.muscles.setWordWrap(False)
        header = self.muscles.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(MUSCLE_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.muscles.setMinimumHeight(100)
        self.muscles.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        box.addWidget(self.muscles, 1)
        return card

    # ---- filling -----------------------------------------------------------------------------
    def load(self, patient_id: int, as_of: date | None = None) -> None:
        """Compute and show the patient's history (raises what the service raises)."""
        self.patient_id = patient_id
        self.show_history(self.history_service.for_patient(patient_id, as_of=as_of))
        self.show_pain_drawings()

    def show_pain_drawings(self) -> None:
        """The visits' pain drawings (a visit without one is left out)."""
        drawings: list[VisitDrawing] = []
        for visit in self.history.visits if self.history is not None else ():
            if visit.procedure_id is None:
                continue
            strokes = [s.stroke for s in self._charting.pain_strokes(visit.procedure_id)]
            if strokes:
                drawings.append(VisitDrawing(visit.day, PainDrawing(strokes=tuple(strokes))))
        self.pain_drawings.set_drawings(drawings)
        self.pain_card.setVisible(bool(drawings))

    def show_history(self, history: PatientHistory) -> None:
        self.history = history
        if not history.visits:
            self.empty.setText("No procedures recorded for this patient yet: no history to show.")
            self.stack.setCurrentIndex(0)
            return
        if not history.has_injections:
            count = len(history.visits)
            self.empty.setText(
                f"No injections recorded yet ({count} procedure{'s' if count != 1 else ''} "
                "planned or in progress, none injected): no history to show."
            )
            self.stack.setCurrentIndex(0)
            return
        self._fill_sessions(history)
        self._fill_steroids(history.steroids)
        self._fill_last(history)
        self.plot.set_visits(history.visits, history.as_of, history.relief_threshold)
        self.diagram.set_markers(history.markers, history.relief_threshold)
        self._fill_legend(history)
        self._fill_muscles(history)
        self.stack.setCurrentIndex(1)

    def _fill_sessions(self, history: PatientHistory) -> None:
        sessions = history.sessions
        value, text = sessions_text(sessions)
        self.sessions_value.setText(("⚠ " if sessions.next_would_exceed else "") + value)
        self.sessions_value.setStyleSheet(
            f"color: {style.DANGER};" if sessions.next_would_exceed else ""
        )
        dates = ", ".join(d.isoformat() for d in sessions.dates)
        self.sessions_text.setText(text)
        self.sessions_card.setToolTip(
            f"{sessions.payer_name}\nSessions from {sessions.since.isoformat()}: {dates or 'none'}"
        )
        self.interval_text.setText(interval_text(history.muscles, sessions, history.as_of))
        self.interval_text.setVisible(bool(self.interval_text.text()))

    def _fill_steroids(self, steroids: SteroidSummary) -> None:
        if not steroids.agents:
            self.steroid_value.setText("None")
            self.steroid_agents.setText(
                f"No corticosteroid given since {steroids.since.isoformat()}."
            )
            self.steroid_flag.hide()
            return
        self.steroid_value.setText(f"{_mg(steroids.methylprednisolone_mg)}{NBSP}mg MP-eq")
        self.steroid_value.setToolTip("methylprednisolone equivalents")
        self.steroid_agents.setText("\n".join(steroid_lines(steroids)))
        self.steroid_agents.setToolTip(factor_text(steroids))
        sources = sorted(
            {r.factor_source for r in steroids.agents if r.factor_source and not r.factor_verified}
        )
        if steroids.verified and not steroids.missing_factor:
            self.steroid_flag.hide()
            return
        parts = []
        if not steroids.verified:
            parts.append(
                "⚠ * UNVERIFIED equivalence factor"
                + (f" ({'; '.join(sources)})" if sources else "")
                + ": approximate"
            )
        if steroids.missing_factor:
            parts.append("⚠ not in the equivalent: " + ", ".join(steroids.missing_factor))
        self.steroid_flag.setText("\n".join(parts))
        self.steroid_flag.show()

    def _fill_last(self, history: PatientHistory) -> None:
        sessions = [v for v in history.visits if v.is_session]
        last = sessions[-1]
        days = (history.as_of - last.day).days
        self.last_value.setText(last.day.isoformat())
        self.last_value.setToolTip(_ago(days))
        sites = f"{last.injected_sites} site{'s' if last.injected_sites != 1 else ''}"
        parts = [_ago(days), sites]
        if last.pain_before is not None or last.pain_after is not None:
            before = "–" if last.pain_before is None else last.pain_before
            after = "–" if last.pain_after is None else last.pain_after
            parts.append(f"pain {before}{NBSP}→{NBSP}{after}")
        if last.relief_percent is None:
            parts.append("relief not recorded yet")
        else:
            weeks = (
                f" for {last.relief_weeks:g}{NBSP}weeks" if last.relief_weeks is not None else ""
            )
            if last.relief_scale:
                weeks += f" on {last.relief_scale}"
            if last.relief_measured_on is not None:
                weeks += f", measured {last.relief_measured_on.isoformat()}"
            required = history.relief_required
            mark = "⚠ " if required is not None and last.relief_percent < required else ""
            rule = (
                f" ({history.sessions.payer} needs ≥{NBSP}{required}{NBSP}%)"
                if required is not None
                else ""
            )
            parts.append(f"{mark}relief {last.relief_percent}{NBSP}%{weeks}{rule}")
        self.last_text.setText(" · ".join(parts))

    def _fill_legend(self, history: PatientHistory) -> None:
        threshold = history.relief_threshold
        counts = self.diagram.counts().values()
        fewest, most = min(counts, default=0), max(counts, default=0)
        if most > fewest:
            often = f"halo = more often (up to {most}×)"
        else:
            often = "each spot once" if most == 1 else f"each spot {most}×"
        unplaced = (
            f"<br>⚠ {history.unplaced_sites} site(s) not placed on the diagram"
            if history.unplaced_sites
            else ""
        )
        self.legend.setText(
            f"Relief: {_dot(RELIEF_OK)}&nbsp;≥&nbsp;{threshold}&nbsp;% "
            f"{_dot(RELIEF_LOW)}&nbsp;&lt;&nbsp;{threshold}&nbsp;% "
            f"{_dot(RELIEF_UNKNOWN)}&nbsp;not&nbsp;recorded<br>"
            f"faint = older visit · {often}{unplaced}"
        )

    def _fill_muscles(self, history: PatientHistory) -> None:
        rows = history.muscles
        self.muscles.setRowCount(len(rows))
        for row, muscle in enumerate(rows):
            if muscle.next_allowed is None:
                next_text = "—"
            elif muscle.allowed_on(history.as_of):
                next_text = "now"
            else:
                next_text = f"⚠ {muscle.next_allowed.isoformat()}"
            cells = (
                f"{muscle.muscle_name} {SIDE_TEXT.get(muscle.side, muscle.side)}",
                str(muscle.injections),
                muscle.last.isoformat(),
                next_text,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setToolTip(
                        f"{muscle.muscle_name}, {muscle.side}: {muscle.injections} injection(s) "
                        f"at {muscle.visits} visit(s), {muscle.first.isoformat()} to "
                        f"{muscle.last.isoformat()}"
                    )
                if column == 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if column == 3 and muscle.next_allowed is not None:
                    item.setToolTip(
                        f"last {muscle.last.isoformat()} + "
                        f"{history.sessions.min_days_same_muscle_side} days "
                        f"= {muscle.next_allowed.isoformat()}"
                    )
                    if not muscle.allowed_on(history.as_of):
                        item.setForeground(QColor(style.WARN))
                self.muscles.setItem(row, column, item)
        # Wide enough for the longest muscle name: take the room from the plot, not the names.
        header = self.muscles.horizontalHeader()
        needed = sum(
            max(header.sectionSizeHint(c), self.muscles.sizeHintForColumn(c))
            for c in range(len(MUSCLE_COLUMNS))
        )
        needed += 2 * self.muscles.frameWidth() + 4
        self.muscles.setMinimumWidth(min(needed, 330))

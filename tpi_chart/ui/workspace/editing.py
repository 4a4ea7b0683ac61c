"""The workspace's edits of the open procedure: each key, button or form change is one undo
command (`ui.commands`) on the procedure document; the views redraw from what it stored.

:class:`WorkspaceEdits` is the base of :class:`~tpi_chart.ui.workspace.page.WorkspacePage`.
Who may do what is decided by the operations; the checks here only say it before asking (a
physician injects and confirms the time-out, an assistant plans).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QWidget

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import computed_location
from tpi_chart.domain.models import Findings, Site
from tpi_chart.domain.timeout import time_out_problems
from tpi_chart.services.access import Action, allowed
from tpi_chart.ui.commands import (
    ChangeSiteCommand,
    HeaderEditCommand,
    RemoveSiteCommand,
    TimeOutCommand,
)
from tpi_chart.ui.diagram import BodyDiagram
from tpi_chart.ui.diagram.picker import MusclePicker
from tpi_chart.ui.document import ProcedureDocument
from tpi_chart.ui.workspace.timeout_dialog import TimeOutDialog
from tpi_chart.ui.workspace.widgets import Banner


class WorkspaceEdits(QWidget):
    """Edits of the open procedure from the keys, the site editor, the table and the forms."""

    services: Any
    user: Any
    document: ProcedureDocument
    undo_stack: QUndoStack
    diagram: BodyDiagram
    banner: Banner
    selected_id: int | None
    time_out_dialog: TimeOutDialog | None
    picker: MusclePicker | None

    # Drawn by WorkspacePage.
    def select_site(self, site_id: int | None) -> None:
        raise NotImplementedError

    def _refresh_editor(self) -> None:
        raise NotImplementedError

    def can(self, action: Action) -> bool:
        return allowed(self.user, action)

    def _editable(self) -> bool:
        return self.document.editable

    def step(self, delta: int) -> None:
        if not self.document.sites:
            return
        ids = [int(s.id) for s in self.document.sites]
        if self.selected_id not in ids:
            self.select_site(ids[0])
            return
        index = ids.index(self.selected_id) + delta
        self.select_site(ids[max(0, min(len(ids) - 1, index))])

    def _next_planned_after(self, site_id: int) -> int | None:
        ids = [int(s.id) for s in self.document.sites]
        start = ids.index(site_id) if site_id in ids else -1
        ordered = self.document.sites[start + 1 :] + self.document.sites[: start + 1]
        for stored in ordered:
            if stored.site.state == "planned" and stored.id != site_id:
                return int(stored.id)
        return None

    def edit_header(self, changes: dict[str, Any], text: str) -> None:
        p = self.document.procedure
        if p is None or not self._editable():
            return
        before = {key: getattr(p, key) for key in changes}
        if before == changes:
            return
        self.undo_stack.push(HeaderEditCommand(self.document, before, changes, text))

    def record_time_out(self) -> None:
        p = self.document.procedure
        if p is None or not self._editable():
            return
        if p.time_out is not None:  # never overwrite the recorded time-out with a stray Ctrl+T
            local = p.time_out.at.astimezone()
            self.banner.show_message(
                f"The time-out was recorded by {p.time_out.performed_by} at {local:%H:%M}; "
                "undo it (Ctrl+Z) to record it again",
                "warn",
            )
            return
        if not self.can("chart"):
            self.banner.show_message("only a physician can confirm the time-out", "warn")
            return
        problems = time_out_problems(p)
        if problems:
            self.banner.show_message("Time-out: " + "; ".join(problems), "warn")
            return
        patient = self.services.patients.get(self.document.patient_id).patient
        dialog = TimeOutDialog(patient, p, self)
        self.time_out_dialog = dialog  # tests and the keyboard reach the open overlay here
        # Window-modal but not blocking: the event loop (autosave, the idle lock) keeps running.
        dialog.finished.connect(lambda _result: self._time_out_answered(dialog))
        dialog.open()
        dialog.setFocus()

    def _time_out_answered(self, dialog: TimeOutDialog) -> None:
        self.time_out_dialog = None
        dialog.deleteLater()
        # The overlay had the keyboard: hand it back to the chart's window, or the next shortcut
        # (they reach the active window only) goes nowhere where the platform leaves none active.
        self.window().activateWindow()
        if dialog.result() == TimeOutDialog.DialogCode.Accepted and dialog.site_marked is not None:
            self.undo_stack.push(TimeOutCommand(self.document, dialog.site_marked))

    def _edit_site(self, site_id: int, after: Site, text: str) -> bool:
        before = self.document.site(site_id)
        if before is None or before == after:
            return False
        count = self.undo_stack.count()
        self.undo_stack.push(ChangeSiteCommand(self.document, site_id, before, after, text))
        return self.undo_stack.count() > count or self.document.site(site_id) == after

    def _require_chart(self) -> bool:
        if self.can("chart"):
            return True
        self.banner.show_message(
            "only a physician can chart injections; planning stays open", "warn"
        )
        return False

    @staticmethod
    def _injected(site: Site) -> Site:
        """`site` marked injected; the operation fills in the volume (the plan's, else the last
        injected site's), the syringe, the time, and starts the procedure."""
        return site.model_copy(update={"state": "injected"})

    def inject_selected(self) -> None:
        selected = self._selected()
        if selected is None or selected[1].state != "planned" or not self._require_chart():
            return
        self._edit_site(selected[0], self._injected(selected[1]), "Injected")

    def set_twitch(self, twitch: str) -> None:
        site = self._selected_site()
        if site is None or not self._require_chart():
            return
        site_id = self.selected_id
        assert site_id is not None
        after = self._injected(site) if site.state == "planned" else site
        after = after.model_copy(update={"twitch": twitch})
        if self._edit_site(site_id, after, f"Twitch {twitch}"):
            following = self._next_planned_after(site_id)
            if following is not None:
                self.select_site(following)

    def set_volume(self, volume: float) -> None:
        selected = self._selected()
        if selected is None:
            return
        site_id, site = selected
        if site.state == "injected" and not self._require_chart():
            return
        self._edit_site(site_id, site.model_copy(update={"volume_ml": volume}), "Volume")

    def set_preparation(self, preparation: str) -> None:
        selected = self._selected()
        if selected is None:
            return
        site_id, site = selected
        value = preparation or None
        self._edit_site(site_id, site.model_copy(update={"preparation": value}), "Syringe")

    def set_finding(self, key: str, value: bool) -> None:
        site = self._selected_site()
        site_id = self.selected_id
        if site is None or site_id is None:
            return
        findings = Findings(**{**site.findings.model_dump(), key: value})
        self._edit_site(site_id, site.model_copy(update={"findings": findings}), "Findings")

    def set_dry_needling(self, on: bool) -> None:
        """Dry needling at the selected site (issue 14): it then has no syringe and no volume;
        off again, the volume and the syringe are charted as for any site."""
        selected = self._selected()
        if selected is None or selected[1].dry_needling == on:
            return
        site_id, site = selected
        if site.state == "injected" and not self._require_chart():
            self._refresh_editor()
            return
        update: dict[str, Any] = {"dry_needling": on}
        if on:
            update |= {"volume_ml": None, "preparation": None}
        text = "Dry needling" if on else "Not dry needling"
        if not self._edit_site(site_id, site.model_copy(update=update), text):
            self._refresh_editor()

    def toggle_dry_needling(self) -> None:
        site = self._selected_site()
        if site is not None:
            self.set_dry_needling(not site.dry_needling)

    def recode_selected(self) -> None:
        """Open the muscle picker for the selected site (coded or not); its choice is one
        undoable edit. Non-blocking: `self.picker` is the open picker."""
        site = self._selected_site()
        site_id = self.selected_id
        if site is None or site_id is None:
            return
        if site.state == "injected" and not self._require_chart():
            return
        number = self.document.number_of(site_id)
        name = load_catalog().muscle_name(site.muscle)
        picker = MusclePicker(site.muscle, site.side, f"Site {number}: now {name}", self)
        picker.accepted.connect(lambda: self._apply_recode(site_id, picker.choice))
        picker.finished.connect(lambda _r: picker.deleteLater())
        self.picker = picker
        picker.open()
        picker.activateWindow()  # the typing goes to the search, not to the charting keys
        picker.search.setFocus()

    def add_site_by_name(self) -> None:
        """The muscle picker for a new site (A): the keyboard's way to plan or chart one."""
        if self.document.procedure_id is None or not self._editable():
            return
        picker = MusclePicker("unspecified", "left", "New site: type the muscle", self)
        picker.accepted.connect(lambda: self._add_named(picker.choice))
        picker.finished.connect(lambda _r: picker.deleteLater())
        self.picker = picker
        picker.open()
        picker.activateWindow()
        picker.search.setFocus()

    def _add_named(self, choice: tuple[str, str] | None) -> None:
        if choice is not None and self.diagram.add_named_site(*choice) is not None:
            self.setFocus()

    def _apply_recode(self, site_id: int, choice: tuple[str, str] | None) -> None:
        site = self.document.site(site_id)
        if site is None or choice is None:
            return
        muscle, side = choice
        self._edit_site(site_id, site.model_copy(update={"muscle": muscle, "side": side}), "Muscle")
        self.setFocus()

    def set_location(self, text: str) -> None:
        """The clinician's wording of the site's location; empty: described from the diagram."""
        site = self._selected_site()
        if site is None or self.selected_id is None:
            return
        value = text or None
        if value is None and site.view is not None:
            value = computed_location(site.view, site.x, site.y, site.side)
        if value == site.location:
            return
        self._edit_site(self.selected_id, site.model_copy(update={"location": value}), "Location")

    def remove_selected(self) -> None:
        if self.selected_id is None or not self._editable():
            return
        site = self._selected_site()
        if site is None or (site.state == "injected" and not self._require_chart()):
            return
        self.undo_stack.push(RemoveSiteCommand(self.document, self.selected_id, site))

    def _selected_site(self) -> Site | None:
        selected = self._selected()
        return selected[1] if selected is not None else None

    def _selected(self) -> tuple[int, Site] | None:
        """The selected site (id, site) while the procedure can be edited."""
        if self.selected_id is None or not self._editable():
            return None
        site = self.document.site(self.selected_id)
        return (self.selected_id, site) if site is not None else None

"""The charting loop as operations (Anki's pattern): each one checks the role matrix, makes one
transaction, and returns a small immutable `Changes` that says what changed, carries the new rows
and the new evaluation, so the window (or the command line, or a test) never reads the procedure
again after a click.

`ChartingOps` holds the open procedure as it last stored it. A click is then one write and its
audit row: no read before (the rows and their versions are in hand) and none after (the write
returns the new version). A change saved elsewhere meanwhile makes the versioned write fail:
`StaleEdit` names what changed, nothing is stored, and the operations re-read the procedure.

The defaults that used to live in the workspace widgets are decided here, once:
- a site placed on the diagram takes the syringe and volume of the last injected site (the last
  site, before anything was injected; the only syringe, on an empty procedure);
- injecting takes the volume from the plan, else the last injected site's, the first syringe
  when the site has none, and the time from the clock;
- the first injection or the time-out starts the procedure (`domain.status`); without a time-out
  the first injection is the date of service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tpi_chart.domain.diagram import with_location
from tpi_chart.domain.errors import DomainError, describe_validation_error
from tpi_chart.domain.models import (
    Procedure,
    ProcedureDocument,
    Site,
    TimeOut,
)
from tpi_chart.domain.rules import Evaluation, evaluate
from tpi_chart.domain.status import event_between, next_status
from tpi_chart.domain.timeout import time_out_elements, time_out_problems
from tpi_chart.domain.users import User
from tpi_chart.services.access import DeniedHook, Permissions

# Changes and Part stay importable from here, where the window and the command line find them.
from tpi_chart.services.changes import Changes, OpenProcedure, Part
from tpi_chart.services.charting import (
    ChartingService,
    check_site,
    performed_now,
    site_action,
    validate_procedure,
)
from tpi_chart.services.errors import (
    InvalidInput,
    NotFound,
    ProcedureInUse,
    ProcedureLocked,
    StaleEdit,
    changed_fields,
)
from tpi_chart.services.procedure_values import (
    check_unlocked,
    last_author,
    stored_site,
    voided_text,
)
from tpi_chart.storage.errors import LeaseHeld, SignedRecord, StaleRecord
from tpi_chart.storage.interfaces import SiteRecord, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now().astimezone().replace(microsecond=0)


class ChartingOps:
    """The charting operations of one signed-in `user` on one database."""

    def __init__(
        self,
        store: Store,
        user: User,
        *,
        on_denied: DeniedHook | None = None,
        clock: Clock = _now,
        charting: ChartingService | None = None,
    ) -> None:
        self._store = store
        self._user = user
        self._permissions = Permissions(user, on_denied)
        self._clock = clock
        # Reads for opening (the patient's earlier sessions) are the charting service's.
        self._charting = charting or ChartingService(store, user, on_denied=on_denied)
        self._open: OpenProcedure | None = None

    @property
    def user(self) -> User:
        return self._user

    # ---- opening ---------------------------------------------------------------------------
    def open(self, procedure_id: int) -> Changes:
        """Read the procedure (the one read of a charting session) and hold it."""
        self._permissions.require("view")
        record = self._store.procedures.get(procedure_id)
        if record is None:
            raise NotFound(f"procedure {procedure_id} does not exist")
        patient = self._store.patients.get(record.patient_id)
        if patient is None:  # pragma: no cover - a foreign key guarantees it
            raise NotFound(f"patient {record.patient_id} does not exist")
        every = self._store.procedures.sites(procedure_id, include_removed=True)
        void = self._store.procedures.void_of(procedure_id)
        document = self._charting.document(procedure_id)
        self._open = OpenProcedure(
            id=procedure_id,
            patient_id=record.patient_id,
            patient=document.patient,
            procedure=record.procedure,
            version=record.version,
            sites=[r for r in every if not r.removed],
            removed={r.id: r for r in every if r.removed},
            priors=document.prior_procedures,
            voided=voided_text(void),
        )
        return self._changes(frozenset({"all"}))

    def document(self, procedure_id: int) -> ProcedureDocument:
        """The open procedure's document (patient, procedure, earlier sessions) as the last
        operation left it: what the forms and the rules read, without a read of the database.
        A signed procedure's document is the charting service's (its signed snapshot)."""
        current = self._opened(procedure_id)
        if current.procedure.status in ("signed", "external"):
            return self._charting.document(procedure_id)
        return current.document(current.stored())

    def _opened(self, procedure_id: int) -> OpenProcedure:
        current = self._open
        if current is None or current.id != procedure_id:
            self.open(procedure_id)
            current = self._open
        assert current is not None
        return current

    def _opened_for_site(self, site_id: int) -> tuple[OpenProcedure, SiteRecord]:
        current = self._open
        if current is None or (current.index(site_id) is None and site_id not in current.removed):
            record = self._store.procedures.get_site(site_id)
            if record is None:
                raise NotFound(f"site {site_id} does not exist")
            current = self._opened(record.procedure_id)
        index = current.index(site_id)
        if index is not None:
            return current, current.sites[index]
        if site_id in current.removed:
            return current, current.removed[site_id]
        raise NotFound(f"site {site_id} does not exist")  # pragma: no cover - read just above

    def _unsigned(self, current: OpenProcedure) -> None:
        check_unlocked(current.id, current.procedure, current.voided)

    def _changes(
        self,
        parts: frozenset[Part],
        sites: tuple[SiteRecord, ...] = (),
        removed: tuple[int, ...] = (),
    ) -> Changes:
        current = self._open
        assert current is not None
        stored = current.stored()
        try:
            evaluation: Evaluation | None = evaluate(current.document(stored))
        except (DomainError, ValueError) as error:
            # The change is committed: a chart the rules cannot read yet must not turn "saved"
            # into an error. The window shows no evaluation until it can.
            log.info("rules not evaluated: %s", error)
            evaluation = None
        return Changes(
            procedure_id=current.id,
            parts=parts,
            procedure=stored,
            evaluation=evaluation,
            sites=tuple(stored_site(r) for r in sites),
            removed=removed,
        )

    @contextmanager
    def _writing(self, current: OpenProcedure) -> Iterator[None]:
        """One transaction; a signed or stale record becomes the domain's error, and the held
        copy is read again so the next operation starts from what is stored."""
        try:
            with self._store.transaction():
                yield
        except SignedRecord as error:
            self._reopen(current.id)
            raise ProcedureLocked(
                f"procedure {current.id} is signed; it cannot be changed, add an addendum instead"
            ) from error
        except LeaseHeld as error:
            self._reopen(current.id)
            raise ProcedureInUse(str(error)) from error
        except StaleRecord as error:
            before = current.stored()
            self._reopen(current.id)
            after = self._open
            assert after is not None
            author = last_author(self._store, current.patient_id, current.id)
            raise StaleEdit(
                f"procedure {current.id}",
                changed_fields(
                    "procedure",
                    before.procedure.model_dump(mode="json"),
                    after.stored().procedure.model_dump(mode="json"),
                ),
            ).with_author(author) from error
        except BaseException:
            self._reopen(current.id)
            raise

    def _reopen(self, procedure_id: int) -> None:
        try:
            self.open(procedure_id)
        except Exception:  # the original error is the one to report
            self._open = None

    # ---- the defaults ------------------------------------------------------------------------
    def _placed(self, current: OpenProcedure, site: Site) -> Site:
        """A new site takes the syringe and volume of the last injected site (of the last site,
        before anything was injected; the only syringe on an empty procedure)."""
        if site.dry_needling:
            return site
        update: dict[str, Any] = {}
        preparations = current.procedure.preparations
        if not current.sites:
            if site.preparation is None and len(preparations) == 1:
                update["preparation"] = preparations[0].id
        else:
            injected = [r.site for r in current.sites if r.site.state == "injected"]
            previous = injected[-1] if injected else current.sites[-1].site
            if site.preparation is None:
                update["preparation"] = previous.preparation
            if site.volume_ml is None:
                update["volume_ml"] = previous.volume_ml
        return site.model_copy(update=update) if update else site

    def _injected(self, current: OpenProcedure, site: Site) -> Site:
        """`site` as injected now: the plan's volume, else the last injected site's; its syringe,
        else the first one; the time from the clock."""
        update: dict[str, Any] = {"state": "injected"}
        if site.injected_at is None:
            update["injected_at"] = self._clock()
        if not site.dry_needling:
            if site.volume_ml is None:
                update["volume_ml"] = next(
                    (
                        r.site.volume_ml
                        for r in reversed(current.sites)
                        if r.site.state == "injected" and r.site.volume_ml
                    ),
                    None,
                )
            preparations = current.procedure.preparations
            if site.preparation is None and preparations:
                update["preparation"] = preparations[0].id
        return site.model_copy(update=update)

    # ---- sites -------------------------------------------------------------------------------
    def plan_site(self, procedure_id: int, site: Site) -> Changes:
        """Place a planned site (a click on the diagram before the time-out)."""
        if site.state != "planned":
            raise InvalidInput(["site.state: a planned site is placed planned; inject it after"])
        self._permissions.require("plan", site_action(site))
        return self._add(self._opened(procedure_id), site)

    def inject_site(
        self,
        procedure_id: int,
        target: int | Site,
        *,
        twitch: str | None = None,
    ) -> Changes:
        """Mark the planned site `target` (an id) injected, or place a new site (`target` a
        Site: a click on the diagram after the time-out) injected. Physicians only."""
        self._permissions.require("chart")
        current = self._opened(procedure_id)
        if isinstance(target, Site):
            site = self._injected(current, self._placed(current, target))
            if twitch is not None:
                site = site.model_copy(update={"twitch": twitch})
            return self._add(current, site)
        current, before = self._opened_for_site(target)
        if before.removed:
            raise InvalidInput([f"site {target}: it was removed; restore it first"])
        if before.procedure_id != procedure_id:
            raise InvalidInput([f"site {target}: it belongs to procedure {before.procedure_id}"])
        site = (
            before.site if before.site.state == "injected" else self._injected(current, before.site)
        )
        if twitch is not None:
            site = site.model_copy(update={"twitch": twitch})
        return self._write(current, before, site)

    def update_site(self, site_id: int, site: Site | Mapping[str, Any]) -> Changes:
        """Store new values for a site (a twitch key, a volume, a finding, a move). A planned
        site given as injected gets the injection's defaults."""
        current, before = self._opened_for_site(site_id)
        if before.removed:
            raise InvalidInput([f"site {before.number}: it was removed; restore it first"])
        if isinstance(site, Mapping):
            data = before.site.model_dump()
            data.update(site)
            try:
                after = Site.model_validate(data)
            except ValidationError as error:
                raise InvalidInput(describe_validation_error(error, "site.")) from error
        else:
            after = site
        if after.state == "injected" and before.site.state == "planned":
            after = self._injected(current, after)
        self._permissions.require(site_action(before.site, after))
        if after == before.site:
            return self._changes(frozenset())
        return self._write(current, before, after)

    def remove_site(self, site_id: int) -> Changes:
        """Take a site off the procedure (audited; `restore_site` brings back the same one)."""
        current, before = self._opened_for_site(site_id)
        self._permissions.require(site_action(before.site))
        self._unsigned(current)
        if before.removed:
            return self._changes(frozenset())
        with self._writing(current):
            record = self._store.procedures.mark_site_removed(
                before, True, current.patient_id, self._user.username
            )
        index = current.index(site_id)
        assert index is not None
        current.sites.pop(index)
        current.removed[site_id] = record
        self._renumber(current)
        return self._changes(frozenset({"sites"}), tuple(current.sites[index:]), removed=(site_id,))

    def restore_site(self, site_id: int) -> Changes:
        """Undo a removal: the same site, at its place and number."""
        current, before = self._opened_for_site(site_id)
        self._permissions.require(site_action(before.site))
        self._unsigned(current)
        if not before.removed:
            return self._changes(frozenset())
        check_site(current.procedure, before.site)
        with self._writing(current):
            record = self._store.procedures.mark_site_removed(
                before, False, current.patient_id, self._user.username
            )
        del current.removed[site_id]
        current.sites.append(record)
        current.sites.sort(key=lambda r: r.seq)
        self._renumber(current)
        index = current.index(site_id)
        assert index is not None
        return self._changes(frozenset({"sites"}), tuple(current.sites[index:]))

    def _renumber(self, current: OpenProcedure) -> None:
        current.sites = [
            r
            if r.number == n
            else SiteRecord(r.id, r.procedure_id, r.seq, n, False, r.site, r.version)
            for n, r in enumerate(current.sites, start=1)
        ]

    def _add(self, current: OpenProcedure, site: Site) -> Changes:
        self._unsigned(current)
        if site.state == "planned":
            site = self._placed(current, site)
        check_site(current.procedure, site)
        site = with_location(site)
        parts: set[Part] = {"sites"}
        with self._writing(current):
            parts |= self._start(current, site)
            record = self._store.procedures.append_site(
                current.id, current.patient_id, site, self._user.username
            )
        current.sites.append(record)
        return self._changes(frozenset(parts), (record,))

    def _write(self, current: OpenProcedure, before: SiteRecord, site: Site) -> Changes:
        self._unsigned(current)
        check_site(current.procedure, site)
        site = with_location(site, before.site)
        parts: set[Part] = {"sites"}
        try:
            with self._writing(current):
                parts |= self._start(current, site)
                record = self._store.procedures.write_site(
                    before, site, current.patient_id, self._user.username
                )
        except StaleEdit as error:
            now = self._open.sites if self._open is not None else []
            stored = next((r for r in now if r.id == before.id), None)
            if stored is None:
                raise StaleEdit(
                    f"site {before.number}", ("it was removed",), by=error.by, at=error.at
                ) from error
            raise StaleEdit(
                f"site {before.number}",
                changed_fields(
                    "site", before.site.model_dump(mode="json"), stored.site.model_dump(mode="json")
                ),
                by=error.by,
                at=error.at,
            ) from error
        index = current.index(before.id)
        assert index is not None
        current.sites[index] = record
        return self._changes(frozenset(parts), (record,))

    def _start(self, current: OpenProcedure, site: Site) -> set[Part]:
        """An injection starts a planned procedure; without a time-out, the first injection is
        the date of service. Written in the caller's transaction."""
        procedure = current.procedure
        if site.state != "injected":
            return set()
        changes: dict[str, Any] = {}
        if procedure.time_out is None and not any(
            r.site.state == "injected" for r in current.sites
        ):
            changes.update(performed_now(procedure, site.injected_at or self._clock()))
        status = next_status(procedure.status, "start")
        if status != procedure.status:
            changes["status"] = status
        if not changes:
            return set()
        self._write_header(current, procedure.model_copy(update=changes))
        return {"header", "status"} if "status" in changes else {"header"}

    def pain_changed(self, procedure_id: int) -> Changes:
        """The pain drawing's strokes are charted through the charting service (their own
        table, their own audit rows): take the stored drawing into the held procedure."""
        current = self._opened(procedure_id)
        record = self._store.procedures.get(procedure_id)
        if record is None:
            raise NotFound(f"procedure {procedure_id} does not exist")
        current.procedure = current.procedure.model_copy(
            update={"pain_drawing": record.procedure.pain_drawing}
        )
        return self._changes(frozenset({"header"}))

    # ---- the header --------------------------------------------------------------------------
    def _write_header(self, current: OpenProcedure, procedure: Procedure) -> None:
        current.version = self._store.procedures.write_header(
            current.id,
            current.patient_id,
            current.procedure,
            procedure,
            current.version,
            self._user.username,
        )
        current.procedure = procedure

    def update_header(self, procedure_id: int, changes: Mapping[str, Any]) -> Changes:
        """Header fields (pain, checklist, consent, indication…). The status changes only as the
        state machine allows; the time-out is recorded by `record_time_out` (or undone here,
        by a physician)."""
        self._permissions.require("plan")
        current = self._opened(procedure_id)
        self._unsigned(current)
        refused = {
            "sites",
            "preparations",
            "signature",
            "addenda",
            "external_signature",
            "pain_drawing",
        }
        problems = [f"procedure.{name}: not changed here" for name in changes if name in refused]
        if problems:
            raise InvalidInput(problems)
        held = current.stored().procedure
        data = held.model_dump()
        data.update(changes)
        procedure = validate_procedure(data)
        if procedure.time_out != held.time_out:
            self._permissions.require("chart")
        event_between(held.status, procedure.status)
        if procedure == held:
            return self._changes(frozenset())
        parts: set[Part] = {"header"}
        if procedure.status != current.procedure.status:
            parts.add("status")
        if procedure.time_out != current.procedure.time_out:
            parts.add("time_out")
        moved = procedure.performed_at != current.procedure.performed_at
        with self._writing(current):
            self._write_header(current, procedure)
        if moved or "prior_relief_percent" in changes or "prior_relief_weeks" in changes:
            # The earlier sessions the rules compare with depend on the date of service.
            current.priors = self._charting.document(procedure_id).prior_procedures
        return self._changes(frozenset(parts))

    def record_time_out(
        self,
        procedure_id: int,
        *,
        site_marked: bool | None,
        at: datetime | None = None,
    ) -> Changes:
        """The time-out as shown and confirmed by the signed-in physician: it needs a planned
        site and recorded consent; it starts the procedure, and its time becomes the date of
        service (the planned time stays in `planned_at`)."""
        self._permissions.require("chart")
        current = self._opened(procedure_id)
        self._unsigned(current)
        procedure = current.stored().procedure
        if procedure.time_out is not None:
            raise InvalidInput(
                [
                    f"procedure.time_out: already recorded by {procedure.time_out.performed_by} "
                    f"at {procedure.time_out.at:%H:%M}"
                ]
            )
        problems = time_out_problems(procedure)
        if problems:
            raise InvalidInput([f"procedure.time_out: {problem}" for problem in problems])
        moment = at or self._clock()
        time_out = TimeOut(
            performed_by=self._user.display_name,
            at=moment,
            site_marked=site_marked,
            elements=time_out_elements(current.patient, procedure, site_marked),
        )
        return self.update_header(
            procedure_id,
            {
                "time_out": time_out,
                "status": next_status(procedure.status, "start"),
                **performed_now(procedure, moment),
            },
        )


__all__ = ["Changes", "ChartingOps", "Part"]

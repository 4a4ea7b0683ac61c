"""The chart lifecycle as a hypothesis state machine over the real services and a real database
(reliability §5.1 "Stateful test", S7, S14; product.md §9 "Never lose a mark", "Signed means
frozen").

Patients, procedures (new or copied forward), sites, preparations, header changes (good and bad),
signing, addenda, JSON export and closing/reopening the database are interleaved at random. A
plain model keeps what should be stored. After every step: the services return exactly the model;
a signed procedure is unchanged except for appended addenda (same content hash, same stored
document); the audit chain verifies; `PRAGMA integrity_check` is ok (a file's); site numbers
run 1..n.

On both engines. The server's runs are fewer (LIFECYCLE_PG_EXAMPLES, 16 by default: each is a
few seconds of round trips) and each starts from the emptied test database.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, event, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.accounts import signing_physician
from tests.engines import database, query
from tests.strategies import aware_datetimes, patients, preparations, procedures, sites
from tests.unit.auth_support import reference_document
from tests.users import staff
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.diagram import with_location
from tpi_chart.domain.models import (
    Addendum,
    Component,
    Consent,
    FunctionalScore,
    Needle,
    Patient,
    Preparation,
    Procedure,
    ProcedureDocument,
    SafetyScreen,
    Site,
    TimeOut,
)
from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.documents import document_json
from tpi_chart.services.errors import InvalidInput, ProcedureLocked
from tpi_chart.services.signing import NotReadyToSign, SigningRefused
from tpi_chart.services.timing import SigningTooEarly, too_early

#: The SQLSTATE of the server's trigger that freezes signed rows (storage/errors.py).
SIGNED_SQLSTATE = "TPI01"
PHYSICIAN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
# Visits in the past: a note is signed only after the fact (signing a future visit is refused,
# tested in test_signing_time.py).
PAST = aware_datetimes().filter(lambda moment: moment < datetime.now(UTC) - timedelta(days=2))

GOOD_HEADERS = st.one_of(
    st.fixed_dictionaries({"pain_before": st.integers(0, 10)}),
    st.fixed_dictionaries({"pain_after": st.one_of(st.none(), st.integers(0, 10))}),
    st.fixed_dictionaries({"status": st.sampled_from(["planned", "in_progress"])}),
    st.fixed_dictionaries(
        {"diagnoses": st.lists(st.sampled_from(["M79.12", "M79.18", "M54.2"]), unique=True)}
    ),
    st.fixed_dictionaries({"notes": st.one_of(st.none(), st.text(min_size=1, max_size=30))}),
    st.fixed_dictionaries({"performed_at": PAST}),
    st.fixed_dictionaries({"payer_profile": st.sampled_from(["none", "medicare-2024"])}),
)
BAD_HEADERS = st.sampled_from(
    [
        {"pain_before": 11},
        {"pain_after": -1},
        {"pain_before": "seven"},
        {"status": "signed"},
        {"status": "done"},
        {"diagnoses": ["not a code"]},
        {"payer_profile": "acme"},
        {"performed_at": "2026-11-20T09:30:00"},
        {"performed_at": "9999-12-31T23:59:59-07:00"},
        {"zz_unknown": 1},
        {"sites": []},
        {"signature": None},
    ]
)


@dataclass
class ModelSite:
    site: Site
    removed: bool = False


@dataclass
class ModelProcedure:
    patient_id: int
    header: Procedure  # everything but sites (those are kept in `sites`)
    sites: dict[int, ModelSite] = field(default_factory=dict)  # site id -> site, in charting order
    signed_document: str | None = None  # the stored document (JSON) right after signing
    addenda: list[str] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return self.signed_document is not None

    def expected(self) -> Procedure:
        live = tuple(s.site for s in self.sites.values() if not s.removed)
        return self.header.model_copy(update={"sites": live})


def _unsigned_view(document: ProcedureDocument) -> str:
    """The stored document of a signed procedure without its addenda (which may grow)."""
    procedure = document.procedure.model_copy(update={"addenda": ()})
    return document_json(document.model_copy(update={"procedure": procedure}))


# The runs change with what the test process ran before, derandomized or seeded (after 518 other
# tests on one xdist worker, the server's 8 derandomized runs signed once and reached no
# addendum; alone they signed 8 times). A fixed seed and 16 runs on the server keep the check
# that every state was reached from hanging on the order the tests are shared out in.
@seed(20261126)
class ChartLifecycle(RuleBasedStateMachine):
    patient_ids = Bundle("patients")
    procedure_ids = Bundle("procedures")
    site_ids = Bundle("sites")
    #: How often the runs got as far as these (a run that never signs proves little).
    reached: ClassVar[dict[str, int]] = {"signed": 0, "addendum": 0, "locked": 0}
    #: Where each run's new clinic is: a file in the run's folder, or the emptied server database.
    new_database: ClassVar[Callable[[Path], Path | str]] = staticmethod(  # type: ignore[assignment]
        lambda folder: folder / "clinic.db"
    )

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        self.db = ChartLifecycle.new_database(self.folder)
        self.services: Services = open_services(self.db, staff("ma.rivera"))
        assert signing_physician(self.services) == PHYSICIAN
        self.patients: dict[int, Patient] = {}
        self.procedures: dict[int, ModelProcedure] = {}
        self.exports = 0

    def teardown(self) -> None:
        self.services.close()

    # ---- helpers ---------------------------------------------------------------------------
    def _site_owner(self, site_id: int) -> ModelProcedure:
        return next(p for p in self.procedures.values() if site_id in p.sites)

    def _expect_locked(self, action: Any) -> None:
        with pytest.raises(ProcedureLocked):
            action()
        ChartLifecycle.reached["locked"] += 1

    # ---- patients --------------------------------------------------------------------------
    @initialize(target=patient_ids, patient=patients())
    def first_patient(self, patient: Patient) -> Any:
        return self.create_patient(patient)

    @rule(target=patient_ids, patient=patients())
    def create_patient(self, patient: Patient) -> Any:
        if any(p.mrn == patient.mrn for p in self.patients.values()):
            with pytest.raises(InvalidInput, match=r"patient\.mrn"):
                self.services.patients.create(patient)
            return multiple()
        stored = self.services.patients.create(patient)
        self.patients[stored.id] = patient
        return stored.id

    @rule(patient_id=patient_ids, data=st.data())
    def update_patient(self, patient_id: int, data: st.DataObject) -> None:
        current = self.patients[patient_id]
        changes = data.draw(
            st.one_of(
                st.fixed_dictionaries({"weight_kg": st.one_of(st.none(), st.floats(30, 150))}),
                st.fixed_dictionaries({"family_name": st.sampled_from(["Lopez", "Nguyễn"])}),
                st.fixed_dictionaries({"allergies": st.just(("latex",))}),
            )
        )
        patient = Patient.model_validate({**current.model_dump(), **changes})
        stored = self.services.patients.update(patient_id, patient)
        self.patients[patient_id] = patient
        assert stored.patient == patient

    # ---- procedures ------------------------------------------------------------------------
    @rule(target=procedure_ids, patient_id=patient_ids, procedure=procedures())
    def create_procedure(self, patient_id: int, procedure: Procedure) -> int:
        stored = self.services.charting.create(patient_id, procedure)
        model = ModelProcedure(patient_id, procedure.model_copy(update={"sites": ()}))
        for site_id, site in zip(stored.site_ids, procedure.sites, strict=True):
            model.sites[site_id] = ModelSite(site)
        self.procedures[stored.id] = model
        return stored.id

    @rule(target=procedure_ids, patient_id=patient_ids, performed_at=PAST)
    def copy_forward(self, patient_id: int, performed_at: datetime) -> int:
        mine = [(pid, p) for pid, p in self.procedures.items() if p.patient_id == patient_id]
        stored = self.services.charting.copy_forward(patient_id, performed_at)
        if not mine:
            expected = Procedure(performed_at=performed_at, status="planned")
        else:
            _, last = max(mine, key=lambda item: (item[1].header.performed_at, item[0]))
            before = last.expected()
            expected = Procedure(
                performed_at=performed_at,
                status="planned",
                payer_profile=before.payer_profile,
                diagnoses=before.diagnoses,
                indication=before.indication,
                history=before.history,
                position=before.position,
                skin_prep=before.skin_prep,
                needle=before.needle,
                technique=before.technique,
                image_guidance=before.image_guidance,
                preparations=tuple(
                    Preparation(
                        id=p.id,
                        label=p.label,
                        components=tuple(
                            Component(
                                agent=c.agent,
                                concentration=c.concentration,
                                volume_ml=c.volume_ml,
                                ndc=c.ndc,
                                container=c.container,
                                container_ml=c.container_ml,
                            )
                            for c in p.components
                        ),
                    )
                    for p in before.preparations
                ),
                sites=tuple(
                    Site(
                        muscle=s.muscle,
                        side=s.side,
                        state="planned",
                        view=s.view,
                        x=s.x,
                        y=s.y,
                        preparation=s.preparation,
                        volume_ml=s.volume_ml,
                        dry_needling=s.dry_needling,
                    )
                    for s in before.sites
                ),
            )
        assert stored.procedure == expected
        model = ModelProcedure(patient_id, expected.model_copy(update={"sites": ()}))
        for site_id, site in zip(stored.site_ids, expected.sites, strict=True):
            model.sites[site_id] = ModelSite(site)
        self.procedures[stored.id] = model
        return stored.id

    @rule(procedure_id=procedure_ids, changes=GOOD_HEADERS)
    def update_header(self, procedure_id: int, changes: dict[str, Any]) -> None:
        model = self.procedures[procedure_id]
        if model.signed:
            self._expect_locked(lambda: self.services.charting.update(procedure_id, changes))
            return
        stored = self.services.charting.update(procedure_id, changes)
        model.header = Procedure.model_validate({**model.header.model_dump(), **changes})
        assert stored.procedure == model.expected()

    @rule(procedure_id=procedure_ids, changes=BAD_HEADERS)
    def bad_header(self, procedure_id: int, changes: dict[str, Any]) -> None:
        model = self.procedures[procedure_id]
        expected = ProcedureLocked if model.signed else InvalidInput
        with pytest.raises(expected) as caught:
            self.services.charting.update(procedure_id, changes)
        if isinstance(caught.value, InvalidInput):
            (name,) = changes
            assert all(line.startswith(f"procedure.{name}") for line in caught.value.problems)

    @rule(procedure_id=procedure_ids, data=st.data())
    def set_preparations(self, procedure_id: int, data: st.DataObject) -> None:
        model = self.procedures[procedure_id]
        ids = data.draw(st.lists(st.sampled_from(["A", "B", "C"]), max_size=2, unique=True))
        new = tuple(data.draw(preparations(prep_id)) for prep_id in ids)
        if model.signed:
            self._expect_locked(lambda: self.services.charting.set_preparations(procedure_id, new))
            return
        in_use = {s.site.preparation for s in model.sites.values() if not s.removed} - {None}
        if not in_use <= set(ids):
            with pytest.raises(InvalidInput):
                self.services.charting.set_preparations(procedure_id, new)
            return
        stored = self.services.charting.set_preparations(procedure_id, new)
        model.header = model.header.model_copy(update={"preparations": new})
        assert stored.procedure == model.expected()

    # ---- sites -----------------------------------------------------------------------------
    def _draw_site(self, model: ModelProcedure, data: st.DataObject) -> Site:
        prep_ids = tuple(p.id for p in model.header.preparations)
        return data.draw(sites(prep_ids))

    @rule(target=site_ids, procedure_id=procedure_ids, data=st.data())
    def add_site(self, procedure_id: int, data: st.DataObject) -> Any:
        model = self.procedures[procedure_id]
        site = self._draw_site(model, data)
        if model.signed:
            self._expect_locked(lambda: self.services.charting.add_site(procedure_id, site))
            return multiple()
        first = self._first_injection(model, site)
        stored = self.services.charting.add_site(procedure_id, site)
        # the service describes a placed site's location from the diagram's landmarks
        site = with_location(site)
        model.sites[stored.id] = ModelSite(site)
        if first:
            self._performed(model, procedure_id)
        live = [sid for sid, s in model.sites.items() if not s.removed]
        assert stored.number == live.index(stored.id) + 1
        assert stored.site == site
        return stored.id

    @staticmethod
    def _first_injection(model: Any, site: Site) -> bool:
        """Without a time-out, the first injection makes its time the date of service."""
        header = model.header
        return (
            site.state == "injected"
            and header.time_out is None
            and header.planned_at is None
            and not any(s.site.state == "injected" for s in model.sites.values() if not s.removed)
        )

    def _performed(self, model: Any, procedure_id: int) -> None:
        stored = self.services.charting.get(procedure_id).procedure
        assert stored.planned_at == model.header.performed_at
        model.header = model.header.model_copy(
            update={"planned_at": stored.planned_at, "performed_at": stored.performed_at}
        )

    def _procedure_of(self, site_id: int) -> int:
        return next(pid for pid, p in self.procedures.items() if site_id in p.sites)

    @rule(site_id=site_ids, data=st.data())
    def update_site(self, site_id: int, data: st.DataObject) -> None:
        model = self._site_owner(site_id)
        site = self._draw_site(model, data)
        if model.signed:
            self._expect_locked(lambda: self.services.charting.update_site(site_id, site))
            return
        first = self._first_injection(model, site)
        stored = self.services.charting.update_site(site_id, site)
        site = with_location(site, model.sites[site_id].site)
        model.sites[site_id].site = site
        assert stored.site == site
        if first:
            self._performed(model, self._procedure_of(site_id))

    @rule(site_id=site_ids)
    def remove_site(self, site_id: int) -> None:
        model = self._site_owner(site_id)
        if model.signed:
            self._expect_locked(lambda: self.services.charting.remove_site(site_id))
            return
        self.services.charting.remove_site(site_id)
        model.sites[site_id].removed = True

    @rule(site_id=site_ids)
    def restore_site(self, site_id: int) -> None:
        model = self._site_owner(site_id)
        if model.signed:
            self._expect_locked(lambda: self.services.charting.restore_site(site_id))
            return
        entry = model.sites[site_id]
        prep_ids = {p.id for p in model.header.preparations}
        if entry.removed and entry.site.preparation not in prep_ids | {None}:
            # Its syringe was replaced while it was removed: restoring it would store a site
            # pointing at nothing.
            with pytest.raises(InvalidInput, match="preparation"):
                self.services.charting.restore_site(site_id)
            return
        stored = self.services.charting.restore_site(site_id)
        entry.removed = False
        live = [sid for sid, s in model.sites.items() if not s.removed]
        assert stored.number == live.index(site_id) + 1

    # ---- signing ---------------------------------------------------------------------------
    @rule(procedure_id=procedure_ids)
    def complete_the_chart(self, procedure_id: int) -> None:
        """What the physician documents before signing, through the services: header items,
        a preparation if there is none, every live site injected with a muscle, volume and
        preparation."""
        model = self.procedures[procedure_id]
        if model.signed:
            return
        at = model.header.performed_at
        changes: dict[str, Any] = {
            "diagnoses": ("M79.12",),
            "consent": Consent(obtained=True, method="verbal"),
            "safety_screen": SafetyScreen(allergies_reviewed=True),
            "time_out": TimeOut(performed_by="J. Rivera, MA", at=at),
            "position": "seated",
            "skin_prep": "alcohol",
            "needle": Needle(gauge=25, length_in=1.5),
            "complications": (),
            "tolerance": "well",
            "pain_before": 6,
            "pain_after": 2,
            # A repeat under medicare-2024 also needs these (issue 12 defaults).
            "prior_relief_percent": 60,
            "prior_relief_weeks": 8,
            "prior_relief_scale": "NRS",
            "prior_relief_measured_on": at.date(),
            "functional_scores": (FunctionalScore(scale="NDI", score=20),),
        }
        self.update_header(procedure_id, changes)
        if not model.header.preparations:
            prep = Preparation(
                id="A", components=(Component(agent="lidocaine", concentration="1%", volume_ml=5),)
            )
            self.services.charting.set_preparations(procedure_id, (prep,))
            model.header = model.header.model_copy(update={"preparations": (prep,)})
        prep_id = model.header.preparations[0].id
        if not any(not s.removed for s in model.sites.values()):
            site = Site(muscle="upper_trapezius", side="left")
            model.sites[self.services.charting.add_site(procedure_id, site).id] = ModelSite(site)
        for site_id, entry in model.sites.items():
            if entry.removed:
                continue
            site = entry.site.model_copy(
                update={
                    "state": "injected",
                    "muscle": "upper_trapezius"
                    if entry.site.muscle == "unspecified"
                    else entry.site.muscle,
                    # An uncoded site may be midline; the paired muscle it becomes may not.
                    "side": "left"
                    if entry.site.muscle == "unspecified" and entry.site.side == "midline"
                    else entry.site.side,
                    # A dry-needled site is complete without a syringe or a volume.
                    "volume_ml": None if entry.site.dry_needling else entry.site.volume_ml or 1.0,
                    "preparation": None
                    if entry.site.dry_needling
                    else entry.site.preparation or prep_id,
                }
            )
            self.services.charting.update_site(site_id, site)
            # an uncoded midline site made paired moves side: its automatic location follows
            entry.site = with_location(site, entry.site)
        self._give_no_more_than_was_drawn(model)

    def _give_no_more_than_was_drawn(self, model: ModelProcedure) -> None:
        """A physician corrects volumes that add up to more than the syringe held (that blocks
        signing): each site from an overdrawn syringe gets an equal share of what was drawn."""
        drawn = {p.id: p.total_volume_ml for p in model.header.preparations}
        live = [
            (site_id, entry)
            for site_id, entry in model.sites.items()
            if not entry.removed and entry.site.volume_ml is not None
        ]
        for prep_id, drawn_ml in drawn.items():
            using = [(i, e) for i, e in live if e.site.preparation == prep_id]
            given = sum(e.site.volume_ml or 0.0 for _, e in using)
            if not using or round(given, 2) <= round(drawn_ml, 2):
                continue
            share = int(drawn_ml / len(using) * 100) / 100  # rounded down to 0.01 mL
            for site_id, entry in using:
                site = entry.site.model_copy(update={"volume_ml": share})
                self.services.charting.update_site(site_id, site)
                entry.site = site

    @rule(procedure_id=procedure_ids, acknowledge=st.booleans())
    def sign(self, procedure_id: int, acknowledge: bool) -> None:
        model = self.procedures[procedure_id]
        readiness = self.services.signing.readiness(procedure_id)
        acks = dict.fromkeys(readiness.codes_to_acknowledge, "accepted: benefit outweighs risk")
        given = acks if acknowledge else {}
        if model.signed:
            with pytest.raises(SigningRefused):
                self.services.as_user(PHYSICIAN).signing.sign(procedure_id, PHYSICIAN, given)
            return
        if not readiness.ready(given):
            with pytest.raises(NotReadyToSign):
                self.services.as_user(PHYSICIAN).signing.sign(procedure_id, PHYSICIAN, given)
            return
        if too_early(self.services.charting.get(procedure_id).procedure, datetime.now(UTC)):
            with pytest.raises(SigningTooEarly):  # only after the fact
                self.services.as_user(PHYSICIAN).signing.sign(procedure_id, PHYSICIAN, given)
            event("signing a future visit refused")
            return
        stored = self.services.as_user(PHYSICIAN).signing.sign(procedure_id, PHYSICIAN, given)
        signature = stored.procedure.signature
        assert signature is not None
        assert {a.code for a in signature.acknowledged_warnings} == set(acks)
        # The note names the physician who signed it.
        model.header = model.header.model_copy(
            update={
                "status": "signed",
                "signature": signature,
                "physician": PHYSICIAN.display_name,
            }
        )
        document = self.services.charting.document(procedure_id)
        assert content_hash(document) == signature.content_hash
        model.signed_document = _unsigned_view(document)
        event("signed a procedure")
        ChartLifecycle.reached["signed"] += 1

    @rule(procedure_id=procedure_ids, amend=st.booleans())
    def complete_and_sign(self, procedure_id: int, amend: bool) -> None:
        """The usual end of a visit (as one rule so that runs often get past signing), sometimes
        with a correction right after."""
        self.complete_the_chart(procedure_id)
        was_signed = self.procedures[procedure_id].signed
        self.sign(procedure_id, acknowledge=True)
        future = self.procedures[procedure_id].header.performed_at > datetime.now(UTC)
        assert self.procedures[procedure_id].signed or future
        if not was_signed and not future:
            assert self.services.signing.readiness(procedure_id).signed
        if amend:
            self.add_addendum(procedure_id, "Correction: site 1 was the right side.")

    @rule(procedure_id=procedure_ids, text=st.text(min_size=1, max_size=40))
    def add_addendum(self, procedure_id: int, text: str) -> None:
        model = self.procedures[procedure_id]
        if not text.strip():
            with pytest.raises((InvalidInput, SigningRefused)):
                self.services.as_user(PHYSICIAN).signing.add_addendum(procedure_id, PHYSICIAN, text)
            return
        if not model.signed:
            with pytest.raises(SigningRefused):
                self.services.as_user(PHYSICIAN).signing.add_addendum(procedure_id, PHYSICIAN, text)
            return
        stored = self.services.as_user(PHYSICIAN).signing.add_addendum(
            procedure_id, PHYSICIAN, text
        )
        # Stored as the model strips it (which is not quite Python's str.strip()).
        model.addenda.append(stored.procedure.addenda[-1].text)
        assert model.addenda[-1] == Addendum(text=text, author="x", at=datetime.now(UTC)).text
        event("added an addendum")
        ChartLifecycle.reached["addendum"] += 1

    @rule(procedure_id=procedure_ids)
    def raw_sql_cannot_change_a_signed_note(self, procedure_id: int) -> None:
        if not self.procedures[procedure_id].signed:
            return
        for statement in (
            "UPDATE procedures SET header = '{}' WHERE id = ?",
            "UPDATE sites SET volume_ml = 99 WHERE procedure_id = ?",
            "DELETE FROM preparations WHERE procedure_id = ?",
        ):
            if isinstance(self.db, Path):
                with pytest.raises(sqlite3.IntegrityError):
                    query(self.db, statement, (procedure_id,))
                continue
            import psycopg

            with pytest.raises(psycopg.Error) as refused:
                query(self.db, statement, (procedure_id,))
            assert refused.value.sqlstate == SIGNED_SQLSTATE, refused.value

    # ---- files and reopening ---------------------------------------------------------------
    @rule(procedure_id=procedure_ids)
    def export_json(self, procedure_id: int) -> None:
        self.exports += 1
        path = self.folder / f"export-{self.exports}.json"
        self.services.documents.export_json(procedure_id, path)
        exported = ProcedureDocument.model_validate_json(path.read_text(encoding="utf-8"))
        assert exported == self.services.charting.document(procedure_id)
        assert exported.procedure == self._full_expected(procedure_id)

    @rule()
    def reopen(self) -> None:
        self.services.close()
        self.services = open_services(self.db, staff("ma.rivera"))
        signing_physician(self.services)  # keys live in memory: sign in again after reopening

    # ---- invariants ------------------------------------------------------------------------
    def _full_expected(self, procedure_id: int) -> Procedure:
        model = self.procedures[procedure_id]
        expected = model.expected()
        if not model.signed:
            return expected
        stored = self.services.charting.get(procedure_id).procedure
        assert [a.text for a in stored.addenda] == model.addenda
        return expected.model_copy(update={"addenda": stored.addenda})

    @invariant()
    def services_return_the_model(self) -> None:
        for patient_id, patient in self.patients.items():
            assert self.services.patients.get(patient_id).patient == patient
        for procedure_id, model in self.procedures.items():
            stored = self.services.charting.get(procedure_id)
            assert stored.patient_id == model.patient_id
            assert stored.procedure == self._full_expected(procedure_id)
            live = [sid for sid, s in model.sites.items() if not s.removed]
            assert list(stored.site_ids) == live
            numbered = self.services.charting.sites(procedure_id)
            assert [s.number for s in numbered] == list(range(1, len(live) + 1))
            assert [s.id for s in numbered] == live

    @invariant()
    def signed_notes_are_frozen(self) -> None:
        for procedure_id, model in self.procedures.items():
            if model.signed_document is None:
                continue
            document = self.services.charting.document(procedure_id)
            signature = document.procedure.signature
            assert signature is not None
            assert content_hash(document) == signature.content_hash
            assert _unsigned_view(document) == model.signed_document

    @invariant()
    def audit_chain_and_database_are_sound(self) -> None:
        report = self.services.store.audit.verify()
        assert report.ok, report
        conn = self.services.store.conn
        if isinstance(conn, sqlite3.Connection):  # (a server checks its pages and keys itself)
            assert [tuple(r) for r in conn.execute("PRAGMA integrity_check")] == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_chart_lifecycle(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setattr(ChartLifecycle, "reached", dict.fromkeys(ChartLifecycle.reached, 0))
    examples = int(os.environ.get("LIFECYCLE_EXAMPLES", "50"))
    if engine == "postgres":
        server = request.getfixturevalue("pg_server")
        monkeypatch.setattr(
            ChartLifecycle, "new_database", staticmethod(lambda folder: server.fresh_database())
        )
        examples = int(os.environ.get("LIFECYCLE_PG_EXAMPLES", "16"))
    run_state_machine_as_test(
        ChartLifecycle,
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            # The same runs every time: the coverage assertion below (every state reached) must
            # not depend on the luck of one run's random choices.
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(ChartLifecycle.reached)
    assert all(ChartLifecycle.reached.values()), ChartLifecycle.reached


# ---- regressions found by the machine -------------------------------------------------------


@pytest.fixture
def services(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Any:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    with open_services(database(engine, tmp_path, request), staff("ma.rivera")) as opened:
        assert signing_physician(opened) == PHYSICIAN
        yield opened


def test_correcting_the_patient_after_signing_leaves_the_signed_note_as_signed(
    services: Services,
) -> None:
    """Found by the machine: the note's patient was read from the patients table, so correcting
    the patient's weight or name changed a signed note and broke its content hash."""
    document = reference_document()
    patient_id = services.patients.create(document.patient).id
    procedure_id = services.charting.create(patient_id, document.procedure).id
    readiness = services.signing.readiness(procedure_id)
    acks = dict.fromkeys(readiness.codes_to_acknowledge, "accepted")
    signature = (
        services.as_user(PHYSICIAN).signing.sign(procedure_id, PHYSICIAN, acks).procedure.signature
    )
    assert signature is not None
    signed = document_json(services.charting.document(procedure_id))

    corrected = document.patient.model_copy(update={"weight_kg": 70.0, "family_name": "López"})
    services.patients.update(patient_id, corrected)

    assert services.patients.get(patient_id).patient == corrected
    after = services.charting.document(procedure_id)
    assert after.patient == document.patient
    assert content_hash(after) == signature.content_hash
    assert document_json(after) == signed
    # A procedure charted after the correction uses the corrected patient.
    later = services.charting.copy_forward(patient_id, datetime(2027, 1, 5, 9, tzinfo=UTC))
    assert services.charting.document(later.id).patient == corrected


def test_charting_an_earlier_visit_later_leaves_a_signed_note_as_signed(
    services: Services,
) -> None:
    """Found by the machine: a signed note's earlier sessions were recomputed from the other
    procedures, so charting a missed earlier visit afterwards changed the signed note's document
    and the payer warnings its signature acknowledged."""
    document = reference_document()
    patient_id = services.patients.create(document.patient).id
    procedure_id = services.charting.create(patient_id, document.procedure).id
    readiness = services.signing.readiness(procedure_id)
    services.as_user(PHYSICIAN).signing.sign(
        procedure_id, PHYSICIAN, dict.fromkeys(readiness.codes_to_acknowledge, "ok")
    )
    signed = document_json(services.charting.document(procedure_id))
    warnings = services.signing.readiness(procedure_id).warnings

    earlier = document.procedure.model_copy(
        update={"performed_at": document.procedure.performed_at - timedelta(days=10)}
    )
    other = services.charting.create(patient_id, earlier).id
    assert services.charting.document(other).procedure == earlier

    assert document_json(services.charting.document(procedure_id)) == signed
    assert services.signing.readiness(procedure_id).warnings == warnings


def test_restoring_a_site_whose_preparation_was_replaced_is_refused(services: Services) -> None:
    """Found by the machine: a removed site kept pointing at a preparation that was then
    replaced; restoring it stored a procedure that could no longer be read."""
    document = reference_document()
    patient_id = services.patients.create(document.patient).id
    syringe_b = document.procedure.preparations[0].model_copy(update={"id": "B"})
    procedure = document.procedure.model_copy(
        update={"preparations": (*document.procedure.preparations, syringe_b)}
    )
    procedure_id = services.charting.create(patient_id, procedure).id
    site = services.charting.add_site(
        procedure_id, Site(muscle="upper_trapezius", side="left", preparation="B", volume_ml=1)
    )
    services.charting.remove_site(site.id)
    services.charting.set_preparations(procedure_id, document.procedure.preparations)

    with pytest.raises(InvalidInput) as caught:
        services.charting.restore_site(site.id)

    assert caught.value.problems == ("site.preparation: 'B' is not one of the preparations (A)",)
    stored = services.charting.get(procedure_id)  # still readable
    assert site.id not in stored.site_ids
    assert services.store.audit.verify().ok

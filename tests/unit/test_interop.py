"""Sending notes to a record system: FHIR R4 bundle, HL7 v2.5.1 messages, the outbox, lot
recall and the charges report, from a real database through the services and the CLI, on both
engines."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import uuid
from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message
from hypothesis import given
from hypothesis import strategies as st

from tests.accounts import signing_physician
from tests.cli_support import PASSWORD, add_accounts, unlocked
from tests.engines import database
from tests.users import staff
from tpi_chart.cli.main import main
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.rules import evaluate
from tpi_chart.interop.codes import load_codes
from tpi_chart.interop.fhir import build_bundle, validate_bundle
from tpi_chart.interop.hl7v2 import escape, unescape
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import InvalidInput
from tpi_chart.services.interop import NotSigned

LATERALITY = {"left": "7771000", "right": "24028007"}


def _reference(examples_dir: Path) -> ProcedureDocument:
    return ProcedureDocument.model_validate(
        json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    )


def _variant(
    reference: ProcedureDocument,
    mrn: str,
    family: str,
    lot: str,
    day: str,
    *,
    given: str | None = None,
) -> dict[str, object]:
    """A draft of the reference visit for another patient, day and lidocaine lot."""
    data = reference.to_json_dict()
    data["patient"]["mrn"] = mrn
    data["patient"]["family_name"] = family
    if given is not None:
        data["patient"]["given_name"] = given
    data["procedure"]["performed_at"] = f"{day}T09:30:00-07:00"
    data["procedure"]["preparations"][0]["components"][0]["lot"] = lot
    return ProcedureDocument.model_validate(data).to_json_dict()


def _sign_as_chen(services: Services, procedure_id: int) -> None:
    """Dr. Chen signs the note in the app (his account from `add_accounts`, key unlocked by the
    sign-in), accepting its rule warnings: a document imported already signed would be an
    external record, which is not sent to the record system."""
    chen = services.auth.login("chen", PASSWORD)
    assert chen is not None
    document = services.charting.document(procedure_id)
    reasons = {
        warning.code: "Reviewed with the patient; clinically indicated."
        for warning in evaluate(document).warnings
    }
    services.as_user(chen).signing.sign(procedure_id, chen, reasons)


@pytest.fixture
def clinic(
    engine: str, tmp_path: Path, examples_dir: Path, request: pytest.FixtureRequest
) -> tuple[Path, dict[str, int]]:
    """The reference visit (signed, lidocaine lot LD24117) and three more procedures: another
    patient with lot LD24117, one with lot LX-777, and an unsigned draft with LD24117. The
    accounts of `add_accounts` (the command line signs in with `--as chen`); Dr. Chen signed
    every note but the draft in the app."""
    reference = _reference(examples_dir)
    files = {
        "reference": reference.to_json_dict(),
        "same_lot": _variant(reference, "D2002", "Nguyen", "ld24117", "2026-11-21"),
        "other_lot": _variant(reference, "D3003", "Okafor", "LX-777", "2026-11-22"),
        "draft": _variant(reference, "D4004", "Berg", "LD24117", "2026-11-23"),
    }
    files["same_lot"]["patient"]["phone"] = "(555) 010-2030"  # type: ignore[index]
    paths = []
    for name, data in files.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append(path)
    db: Path = database(engine, tmp_path, request)  # (a server's URL: typed as --db is)
    add_accounts(db)
    with unlocked(open_services(db, staff("tester"))) as services:
        ids = services.documents.import_documents(paths)
        services.settings.set_clinic_name("Riverside Pain & Spine Clinic")
        services.settings.set_export_folder(tmp_path / "outbox")
        for name, procedure_id in zip(files, ids, strict=True):
            if name != "draft":
                _sign_as_chen(services, procedure_id)
    return db, dict(zip(files, ids, strict=True))


def _services(db: Path) -> Services:
    return unlocked(open_services(db, staff("tester")))


# ---- codes -------------------------------------------------------------------------------


def test_every_muscle_and_agent_has_a_code_or_says_unverified() -> None:
    codes = load_codes()
    catalog = load_catalog()
    assert set(codes.muscles) == set(catalog.muscles)
    assert set(codes.agents) == set(catalog.agents)
    for muscle_id, entry in codes.muscles.items():
        assert entry.source, muscle_id
        assert entry.snomed is not None or entry.verified is False, muscle_id
        if entry.verified:
            assert entry.snomed is not None, muscle_id
            assert entry.snomed.isdigit(), muscle_id
    for agent_id, agent in codes.agents.items():
        assert agent.rxnorm is not None or agent.verified is False, agent_id
        assert set(agent.strengths) == set(catalog.agents[agent_id].strengths), agent_id
        for strength in agent.strengths.values():
            assert strength.rxnorm is not None or strength.verified is False
    for observation in codes.observations.values():
        assert observation.loinc is not None or observation.verified is False


# ---- FHIR --------------------------------------------------------------------------------


def _resources(bundle: dict[str, object], kind: str) -> list[dict[str, object]]:
    return [
        entry["resource"]  # type: ignore[index]
        for entry in bundle["entry"]  # type: ignore[attr-defined]
        if entry["resource"]["resourceType"] == kind  # type: ignore[index]
    ]


@pytest.mark.usefixtures("keyboard")
def test_fhir_bundle_of_the_reference_visit(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    db, ids = clinic
    out = tmp_path / "ref.fhir.json"
    note_pdf = tmp_path / "note.pdf"
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "chen",
                "export",
                "--procedure",
                str(ids["reference"]),
                "--format",
                "fhir",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "chen",
                "export",
                "--procedure",
                str(ids["reference"]),
                "--out",
                str(note_pdf),
            ]
        )
        == 0
    )
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert validate_bundle(bundle) == []
    assert bundle["type"] == "collection"

    (procedure,) = _resources(bundle, "Procedure")
    assert procedure["code"]["coding"] == [
        {
            "system": "http://www.ama-assn.org/go/cpt",
            "code": "20553",
            "display": load_codes().procedures["20553"].display,
        }
    ]
    sites = procedure["bodySite"]
    assert len(sites) == 6
    reference = _reference(Path(__file__).parents[1] / "examples")
    for concept, site in zip(sites, reference.procedure.sites, strict=True):
        muscle = load_codes().muscles[site.muscle]
        plain, refined = concept["coding"]
        assert plain == {
            "system": "http://snomed.info/sct",
            "code": muscle.snomed,
            "display": muscle.display,
        }
        assert refined["code"] == f"{muscle.snomed}:272741003={LATERALITY[site.side]}"
        assert concept["text"].lower().startswith(site.side)
    assert [c["coding"][0]["code"] for c in procedure["reasonCode"]] == ["M79.12", "M79.18"]
    assert procedure["complication"] == [{"text": "None"}]
    assert "Tolerated well" in procedure["outcome"]["text"]

    administrations = _resources(bundle, "MedicationAdministration")
    assert len(administrations) == 6 * 2  # each site got both agents of syringe A
    lots = {"lidocaine": ("LD24117", "2027-06-30"), "triamcinolone": ("TK3391", "2027-03-31")}
    mg_by_agent: dict[str, float] = {}
    for administration in administrations:
        (medication,) = administration["contained"]
        agent = "lidocaine" if "Lidocaine" in medication["code"]["text"] else "triamcinolone"
        assert medication["batch"] == {
            "lotNumber": lots[agent][0],
            "expirationDate": lots[agent][1],
        }
        assert medication["code"]["coding"][0]["code"] == load_codes().agents[agent].rxnorm
        dosage = administration["dosage"]
        assert dosage["route"]["coding"][0]["code"] == "IM"
        assert dosage["dose"]["unit"] == "mg"
        assert " mL " in dosage["text"]
        assert dosage["site"]["coding"][1]["code"].split("=")[1] in LATERALITY.values()
        mg_by_agent[agent] = mg_by_agent.get(agent, 0) + dosage["dose"]["value"]
    totals = {t.agent: t.mg for t in evaluate(reference).totals}
    for agent, mg in mg_by_agent.items():
        assert mg == pytest.approx(totals[agent], abs=0.3)  # per-site rounding

    observations = _resources(bundle, "Observation")
    pains = [o for o in observations if "valueInteger" in o]
    assert [(p["code"]["coding"][0]["code"], p["valueInteger"]) for p in pains] == [
        ("72514-3", 7),
        ("72514-3", 2),
    ]
    # The functional baseline the repeat rules need travels too; NDI has no verified LOINC
    # total-score code, so it is sent as text with its value and the date it was measured.
    (ndi,) = [o for o in observations if "valueQuantity" in o]
    assert ndi["code"] == {"text": "Neck Disability Index total score"}
    assert ndi["valueQuantity"] == {"value": 22, "unit": "score"}
    assert ndi["effectiveDateTime"] == "2026-11-20"

    (document,) = _resources(bundle, "DocumentReference")
    attachment = document["content"][0]["attachment"]
    pdf = base64.b64decode(attachment["data"])
    assert pdf == note_pdf.read_bytes()  # the note as filed, byte for byte
    assert attachment["contentType"] == "application/pdf"
    assert attachment["size"] == len(pdf)
    assert base64.b64decode(attachment["hash"]) == hashlib.sha1(pdf).digest()

    (provenance,) = _resources(bundle, "Provenance")
    (practitioner,) = _resources(bundle, "Practitioner")
    assert practitioner["name"] == [{"text": "Dr. Alex Chen, MD"}]
    signature = provenance["signature"][0]
    assert signature["who"]["reference"] == f"urn:uuid:{practitioner['id']}"
    attested = json.loads(base64.b64decode(signature["data"]))
    assert attested["content_hash"] == reference_hash(db, ids["reference"])


def reference_hash(db: Path, procedure_id: int) -> str:
    with _services(db) as services:
        signature = services.charting.document(procedure_id).procedure.signature
    assert signature is not None
    return signature.content_hash


def test_fhir_ids_are_stable_and_the_bytes_repeat(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    db, ids = clinic
    with _services(db) as services:
        first = services.interop.render(ids["reference"], "fhir")
        second = services.interop.render(ids["reference"], "fhir")
        other = services.interop.render(ids["same_lot"], "fhir")
        clinic_id = services.store.clinic_id
    assert first == second
    bundle = json.loads(next(iter(first.values())))
    expected = uuid.uuid5(uuid.NAMESPACE_URL, f"tpi-chart:{clinic_id}:{ids['reference']}:procedure")
    assert _resources(bundle, "Procedure")[0]["id"] == str(expected)
    other_ids = {e["resource"]["id"] for e in json.loads(next(iter(other.values())))["entry"]}
    assert not other_ids & {e["resource"]["id"] for e in bundle["entry"]}


def test_validation_catches_a_broken_bundle(clinic: tuple[Path, dict[str, int]]) -> None:
    db, ids = clinic
    with _services(db) as services:
        bundle = build_bundle(services.interop.signed_note(ids["reference"]))
    bundle["entry"][3]["resource"]["bodySite"][0]["coding"][0]["system"] = 42
    bundle["entry"][0]["resource"]["shoeSize"] = 44
    problems = validate_bundle(bundle)
    assert len(problems) >= 2
    assert any("shoeSize" in problem for problem in problems)


@pytest.mark.usefixtures("keyboard")
def test_an_unsigned_procedure_is_refused(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = clinic
    with _services(db) as services, pytest.raises(NotSigned):
        services.interop.render(ids["draft"], "hl7")
    out = tmp_path / "refused.fhir.json"
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "chen",
                "export",
                "--procedure",
                str(ids["draft"]),
                "--format",
                "fhir",
                "--out",
                str(out),
            ]
        )
        == 1
    )
    assert "not signed" in capsys.readouterr().err
    assert not out.exists()


# ---- HL7 v2 ------------------------------------------------------------------------------


def _parse(text: str) -> Message:
    """Parse with hl7apy two ways: the whole message structurally (required segments, groups
    and fields: `validate()`), and strictly (lengths, data types, tables) with the PDF's base64
    cut short: hl7apy's 2.5.1 tables cap ED data at 199 characters, which no PDF fits."""
    short = re.sub(r"(\^AP\^PDF\^Base64\^)[A-Za-z0-9+/=]+", r"\1JVBERg==", text)
    strict = parse_message(short, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    assert strict.validate()
    message = parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True)
    assert message.validate()
    return message


@pytest.mark.usefixtures("keyboard")
def test_hl7_messages_parse_validate_and_carry_the_pdf(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    db, ids = clinic
    out = tmp_path / "ref.hl7"
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "chen",
                "export",
                "--procedure",
                str(ids["reference"]),
                "--format",
                "hl7",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    # Bytes, not read_text: universal newlines would turn the segment ends into "\n".
    mdm_text = out.read_bytes().decode("utf-8")
    dft_text = (tmp_path / "ref.dft.hl7").read_bytes().decode("utf-8")
    mdm = _parse(mdm_text)
    _parse(dft_text)
    assert mdm.msh.msh_9.to_er7() == "MDM^T02^MDM_T02"
    assert mdm.msh.msh_12.to_er7() == "2.5.1"
    assert mdm.pid.pid_3.cx_1.to_er7() == "D1001"
    (group,) = [child for child in mdm.children if child.name == "MDM_T02_OBXNTE_SUPPGRP"]
    obx = group.obx
    assert obx.obx_2.to_er7() == "ED"
    ed = obx.obx_5.to_er7().split("^")
    assert ed[1:4] == ["AP", "PDF", "Base64"]
    with _services(db) as services:
        pdf = services.interop.signed_pdf(ids["reference"])
        charges = services.interop.signed_note(ids["reference"]).charges
    assert base64.b64decode(ed[4]) == pdf

    ft1s = [segment for segment in dft_text.split("\r") if segment.startswith("FT1|")]
    assert len(ft1s) == len(charges) == 2
    assert [f.split("|")[7].split("^")[0] for f in ft1s] == ["20553", "J3301"]
    assert [f.split("|")[10] for f in ft1s] == ["1", "4"]
    assert all(f.split("|")[19] == "M79.12^^I10~M79.18^^I10" for f in ft1s)


FAMILIES = ["O'Brien|Smith", "Caret^Name", "Amp&Sand", "Tilde~Twin", "Back\\slash", "All|^&~\\x"]


# Each delimiter on SQLite; on the server the name holding all of them (the escaping is the
# same code, what the server adds is only the name's round trip through its columns).
@pytest.mark.parametrize(
    ("engine", "family"),
    [("sqlite", family) for family in FAMILIES] + [("postgres", FAMILIES[-1])],
)
def test_hl7_escapes_delimiters_in_names(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path, family: str, examples_dir: Path
) -> None:
    db, _ = clinic
    data = _variant(
        _reference(examples_dir), "E5005", family, "LE1", "2026-10-01", given=f"{family} Jr"
    )
    path = tmp_path / "escaped.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with _services(db) as services:
        (procedure_id,) = services.documents.import_documents([path])
        _sign_as_chen(services, procedure_id)
        messages = services.interop.render(procedure_id, "hl7")
    for text in messages.values():
        message = _parse(text.decode("utf-8"))
        name = message.pid.pid_5
        # hl7apy keeps values escaped: the delimiters did not split the name (family and given
        # are components 1 and 2 and nothing else), and the escapes are the standard ones.
        assert len(name.children) == 2
        family_er7, given_er7 = name.xpn_1.to_er7(), name.xpn_2.to_er7()
        assert not set("|^&~") & set(
            family_er7.replace("\\F\\", "")
            .replace("\\S\\", "")
            .replace("\\T\\", "")
            .replace("\\R\\", "")
        )
        assert unescape(family_er7) == family
        assert unescape(given_er7) == f"{family} Jr"
        assert message.pid.pid_3.cx_1.to_er7() == "E5005"
        assert len(text.decode("utf-8").split("\r")[2].split("|")) == 9  # PID kept its fields


# ---- batch, outbox -----------------------------------------------------------------------


@pytest.mark.usefixtures("keyboard")
def test_batch_export_every_format(clinic: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    db, ids = clinic
    folder = tmp_path / "batch"
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "chen",
                "export",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-21",
                "--dir",
                str(folder),
                "--format",
                "pdf,json,fhir,hl7",
            ]
        )
        == 0
    )
    names = sorted(p.name for p in folder.iterdir())
    expected = []
    for mrn, day, key in (
        ("D1001", "2026-11-20", "reference"),
        ("D2002", "2026-11-21", "same_lot"),
    ):
        stem = f"{mrn}_{day}_{ids[key]}"
        expected += [
            f"{stem}.pdf",
            f"{stem}.json",
            f"{stem}.fhir.json",
            f"{stem}.mdm.hl7",
            f"{stem}.dft.hl7",
        ]
    assert names == sorted(expected)


@pytest.mark.usefixtures("keyboard")
def test_bad_export_options_name_the_field(
    clinic: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = clinic
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "chen",
                "export",
                "--format",
                "fhir,hl7",
                "--procedure",
                "1",
                "--out",
                "x.json",
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "chen",
                "export",
                "--format",
                "fhir",
                "--from",
                "2026-13-01",
                "--to",
                "2026-11-01",
                "--dir",
                "d",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("--format: give one format")
    assert err[1].startswith("--from: '2026-13-01' is not a date")


@pytest.mark.usefixtures("keyboard")
def test_outbox_sends_the_chosen_formats_and_keeps_failures_pending(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = clinic
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    unwritable = blocker / "notes"
    with _services(db) as services:
        # Signing queued each note's filing (the default formats) in the signing transaction.
        queued = {(i.procedure_id, i.event, i.format) for i in services.interop.pending()}
        assert {(ids["reference"], "signed", "pdf"), (ids["reference"], "signed", "json")} <= queued
        services.settings.set_export_folder(tmp_path / "filed")
        assert services.interop.send_pending().failed == ()
        services.interop.set_outbox_formats(["fhir", "hl7"])
        services.settings.set_export_folder(unwritable)
        result = services.interop.queue(ids["reference"])
        assert result.sent == 0
        assert len(result.failed) == 2
        assert services.interop.pending_count() == 2
        assert "fhir of procedure" in services.interop.pending()[0].last_error  # type: ignore[operator]

        capsys.readouterr()
        assert (
            main(["--db", str(db), "--as", "chen", "outbox"]) == 1
        )  # still waiting: a scheduled job notices
        listed = capsys.readouterr().out.splitlines()
        assert [line.split("\t")[1:3] for line in listed] == [["signed", "fhir"], ["signed", "hl7"]]
        assert "blocked" in listed[0]

        folder = tmp_path / "record-system"
        services.settings.set_export_folder(folder)
        assert main(["--db", str(db), "--as", "chen", "outbox", "--retry"]) == 0
        assert capsys.readouterr().out.splitlines() == [
            "sent 2, still failing 0",
            "nothing pending",
        ]
        assert services.interop.pending_count() == 0
        stem = f"D1001_2026-11-20_{ids['reference']}"
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [f"{stem}.fhir.json", f"{stem}.mdm.hl7", f"{stem}.dft.hl7"]
        )
        # The same event is not queued twice.
        services.interop.queue(ids["reference"])
        items = services.store.outbox.for_procedure(ids["reference"])
        assert [(i.event, i.format, i.status) for i in items] == [
            ("signed", "pdf", "sent"),
            ("signed", "json", "sent"),
            ("signed", "fhir", "sent"),
            ("signed", "hl7", "sent"),
        ]
        exports = [r for r in services.store.audit.rows() if r.action == "export"]
        assert any(r.after and json.loads(r.after).get("format") == "fhir" for r in exports)


def test_outbox_formats_are_checked(clinic: tuple[Path, dict[str, int]]) -> None:
    db, _ = clinic
    with _services(db) as services:
        assert services.interop.outbox_formats() == ("pdf", "json")
        with pytest.raises(InvalidInput, match=r"settings\.outbox_formats: xml is not a format"):
            services.interop.set_outbox_formats(["xml"])
        services.interop.set_outbox_formats([])
        assert services.interop.outbox_formats() == ()


# ---- clinic lists ------------------------------------------------------------------------


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.usefixtures("keyboard")
def test_lot_recall_finds_exactly_the_procedures_with_the_lot(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = clinic
    target = tmp_path / "recall.csv"
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "rivera",
                "recall",
                "--lot",
                "LD24117",
                "--csv",
                str(target),
            ]
        )
        == 0
    )
    rows = _csv_rows(target.read_text(encoding="utf-8"))
    assert [int(r["procedure_id"]) for r in rows] == [
        ids["reference"],
        ids["same_lot"],
        ids["draft"],
    ]
    assert [r["mrn"] for r in rows] == ["D1001", "D2002", "D4004"]
    assert {r["agent"] for r in rows} == {"Lidocaine HCl"}
    assert rows[0]["sites"].startswith("1 Upper trapezius (left); 2 Upper trapezius (right)")
    assert rows[0]["birth_date"] == "1974-05-12"
    # How to reach each patient: the phone where one is recorded.
    assert [r["phone"] for r in rows] == ["", "(555) 010-2030", ""]
    assert rows[0]["date"] == "2026-11-20"

    capsys.readouterr()
    assert main(["--db", str(db), "--as", "rivera", "recall", "--lot", "tk3391"]) == 0
    printed = _csv_rows(capsys.readouterr().out)
    assert len(printed) == 4
    assert {r["lot"] for r in printed} == {"TK3391"}
    assert main(["--db", str(db), "--as", "rivera", "recall", "--lot", "LX-777"]) == 0
    assert [r["mrn"] for r in _csv_rows(capsys.readouterr().out)] == ["D3003"]
    assert main(["--db", str(db), "--as", "rivera", "recall", "--lot", "NOPE"]) == 0
    assert _csv_rows(capsys.readouterr().out) == []

    with _services(db) as services:
        reports = [
            json.loads(r.after or "{}") for r in services.store.audit.rows() if r.entity == "report"
        ]
    assert [(r["report"], r["lot"], r["rows"]) for r in reports] == [
        ("lot_recall", "LD24117", 3),
        ("lot_recall", "tk3391", 4),
        ("lot_recall", "LX-777", 1),
        ("lot_recall", "NOPE", 0),
    ]
    assert reports[0]["file"] == str(target)


@pytest.mark.usefixtures("keyboard")
def test_charges_report_one_line_per_charge(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = clinic
    target = tmp_path / "charges.csv"
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "rivera",
                "report",
                "charges",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
                "--csv",
                str(target),
            ]
        )
        == 0
    )
    rows = _csv_rows(target.read_text(encoding="utf-8"))
    # Three signed notes (the draft is not billed), each CPT 20553 and J3301 × 4.
    assert [(int(r["procedure_id"]), r["type"], r["code"], r["units"]) for r in rows] == [
        (procedure_id, kind, code, units)
        for procedure_id in (ids["reference"], ids["same_lot"], ids["other_lot"])
        for kind, code, units in (("CPT", "20553", "1"), ("HCPCS", "J3301", "4"))
    ]
    assert rows[0]["diagnoses"] == "M79.12 M79.18"
    assert rows[0]["physician"] == "Dr. Alex Chen, MD"
    assert rows[0]["patient"] == "Lopez, Maria"
    assert (
        main(
            [
                "--db",
                str(db),
                "--as",
                "rivera",
                "report",
                "charges",
                "--from",
                "2026-11-30",
                "--to",
                "2026-11-01",
            ]
        )
        == 2
    )
    assert "--to: 2026-11-01 is before --from 2026-11-30" in capsys.readouterr().err


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_escape_round_trips(text: str) -> None:
    escaped = escape(text)
    assert not set("|^&~\r") & set(escaped.replace("\\F\\", "").replace("\\S\\", ""))
    assert unescape(escaped) == text.replace("\r\n", "\n").replace("\r", "\n")


def test_escape_uses_the_standard_sequences() -> None:
    assert escape("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"


def test_an_addendum_is_sent_again_under_the_same_names(
    clinic: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    db, ids = clinic
    folder = tmp_path / "outbox"
    with _services(db) as services:
        chen = services.auth.login("chen", PASSWORD)
        assert chen is not None
        services.interop.send_pending()  # what signing queued: the default PDF and JSON
        services.interop.set_outbox_formats(["fhir", "hl7"])
        assert services.interop.queue(ids["reference"]).sent == 2
        bundle_path = folder / f"D1001_2026-11-20_{ids['reference']}.fhir.json"
        first = json.loads(bundle_path.read_text(encoding="utf-8"))
        services.as_user(chen).signing.add_addendum(
            ids["reference"], chen, "Patient called: soreness gone."
        )
        assert services.interop.queue(ids["reference"]).sent == 2
        events = [
            (i.event, i.format) for i in services.store.outbox.for_procedure(ids["reference"])
        ]
    assert events == [
        ("signed", "pdf"),
        ("signed", "json"),
        ("signed", "fhir"),
        ("signed", "hl7"),
        ("addendum-1", "fhir"),
        ("addendum-1", "hl7"),
    ]
    second = json.loads(bundle_path.read_text(encoding="utf-8"))
    assert [e["fullUrl"] for e in second["entry"]] == [e["fullUrl"] for e in first["entry"]]
    (procedure,) = _resources(second, "Procedure")
    assert procedure["note"][-1]["text"] == "Patient called: soreness gone."
    # HL7: the first MDM was the original (T02); the addendum's replaces it (T10, parent set).
    mdm = _parse((folder / f"D1001_2026-11-20_{ids['reference']}.mdm.hl7").read_bytes().decode())
    assert mdm.msh.msh_9.to_er7() == "MDM^T10^MDM_T02"
    txa = mdm.txa
    assert txa.txa_13.to_er7() != ""
    assert txa.txa_12.to_er7() != txa.txa_13.to_er7()
    assert second["timestamp"] > first["timestamp"]


def test_a_note_signed_in_the_app_is_sent_as_its_stored_signed_pdf(
    engine: str, tmp_path: Path, examples_dir: Path, request: pytest.FixtureRequest
) -> None:
    """Signed with the physician's PAdES signature: the FHIR DocumentReference and the MDM's
    OBX carry exactly the stored signed bytes, and billing reads the evaluation frozen then."""
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(_reference(examples_dir).to_json_dict()), encoding="utf-8")
    with open_services(database(engine, tmp_path, request), staff("tester")) as services:
        (procedure_id,) = services.documents.import_documents([draft])
        chen = signing_physician(services)
        services.as_user(chen).signing.sign(
            procedure_id, chen, {"ptx_risk_site": "discussed", "multi_region": "indicated"}
        )
        stored = services.notes.signed.stored(procedure_id)
        assert stored is not None
        bundle = json.loads(next(iter(services.interop.render(procedure_id, "fhir").values())))
        mdm = services.interop.render(procedure_id, "hl7")
        charges = services.interop.signed_note(procedure_id).charges
    (document,) = _resources(bundle, "DocumentReference")
    assert base64.b64decode(document["content"][0]["attachment"]["data"]) == stored.pdf
    mdm_text = next(iter(mdm.values())).decode("utf-8")
    (obx,) = [s for s in mdm_text.split("\r") if s.startswith("OBX|")]
    assert base64.b64decode(obx.split("|")[5].split("^")[4]) == stored.pdf
    assert [(c.code, c.units) for c in charges] == [("20553", 1), ("J3301", 4)]

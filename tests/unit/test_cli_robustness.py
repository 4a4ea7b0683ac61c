"""Bad input never crashes and never stores (product.md §7, §9 "Clear on bad input"; reliability
§5.1/§5.2, S13).

Valid procedure documents (the examples, generated ones and a signed one) are mutated: keys
dropped, unknown keys added at any depth, values replaced by other types, out-of-range and
non-finite numbers, wrong enum values, bad dates and time zones, deep nesting, bytes that are not
UTF-8, truncation. `tpi-chart check` and `tpi-chart import` must then exit 0 (only when the
document is still valid) or 2, print no traceback, put every problem on its own stderr line that
starts with the field path or the file name, and a refused import must leave the database and
its audit trail exactly as they were.
"""

from __future__ import annotations

import copy
import json
import math
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.cli_support import PASSWORD, Keyboard, add_accounts, typed_keyboard
from tests.strategies import documents
from tpi_chart.app import main
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.errors import field_path
from tpi_chart.domain.models import ProcedureDocument, Signature
from tpi_chart.services.documents import same_family_name

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.json"))
ROOT_FIELDS = ("format", "patient", "procedure", "prior_procedures")

# Placeholders replaced in the serialized text (json.dumps cannot write these itself).
DEEP = "\x00deep"
NOT_UTF8 = "\x00not-utf8"
NOT_UTF8_BYTES = (b'"caf\xe9"', b'"\xff\xfe"', b'"\xed\xa0\x80"', b'"\xc3("', b'"\xf8\x88\x80"')


def _signed_reference() -> dict[str, Any]:
    data = json.loads(_example("reference-visit.json").read_text())
    document = ProcedureDocument.model_validate(data)
    signature = Signature(
        signed_by="Dr. Alex Chen, MD",
        signed_at=datetime(2026, 11, 20, 10, 5, tzinfo=timezone(timedelta(hours=-7))),
        content_hash=content_hash(document),
    )
    procedure = document.procedure.model_copy(update={"status": "signed", "signature": signature})
    return document.model_copy(update={"procedure": procedure}).to_json_dict()


def _example(name: str) -> Path:
    return next(path for path in EXAMPLES if path.name == name)


BASES = [json.loads(path.read_text()) for path in EXAMPLES] + [_signed_reference()]

BAD_DATES = [
    "2026-02-30",
    "2026-13-01",
    "2026-11-20T09:30:00",
    "2026-11-20T09:30:00+25:00",
    "2026-11-20T25:00:00Z",
    "2026-11-20T09:30:00 America/Denver",
    "9999-12-31T23:59:59-07:00",
    "0001-01-01T00:00:00+07:00",
    "0001-01-01",
    "9999-12-31",
    "1899-12-31",
    "2200-01-01T00:00:00Z",
    "20261120",
    "yesterday",
    "",
    1e10,
    -62135596800,
    253402300800,
    10**20,
]
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    -0.0,
    0.1,
    1e-320,
    1e308,
    -1e308,
    10**30,
    2**63,
    -(2**64),
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "1",
    "-1",
    "NaN",
    "null",
    "LEFT",
    "Left",
    "female ",
    "1e400%",
    "9" * 400 + "%",
    "9" * 400 + " mg/mL",
    "0.0000001%",
    "x" * 3000,
    [],
    {},
    [None],
    {"": None},
    DEEP,
    NOT_UTF8,
    *BAD_DATES,
]
keys = st.one_of(
    st.sampled_from(["zz_unknown", "id", "Patient", "sites ", "__proto__", "a.b", "x[0]"]),
    st.text(max_size=12),
)
# Copied: a drawn [] or {} is mutated later, and must not change ODD_VALUES or hold itself.
odd_values = st.sampled_from(ODD_VALUES).map(copy.deepcopy)
replacements = st.one_of(
    odd_values,
    st.text(max_size=40),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _replace(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _at(root, path[:-1])[path[-1]] = value
    return root


@st.composite
def mutate(draw: st.DrawFn, data: Any) -> Any:
    """One mutation of `data` (changed in place where possible; the result is returned)."""
    paths = list(_paths(data))
    containers = [p for p in paths if isinstance(_at(data, p), dict)]
    keyed = [p for p in containers if _at(data, p)]
    kind = draw(
        st.sampled_from(
            ["drop", "insert", "replace", "leaf", "leaf", "wrap", "date", "list", "root"]
        )
    )
    if kind == "leaf":  # a value where a scalar belongs: the likeliest place for a range problem
        leaves = [p for p in paths if not isinstance(_at(data, p), dict | list)] or paths
        return _replace(data, draw(st.sampled_from(leaves)), draw(odd_values))
    if kind == "drop" and keyed:
        path = draw(st.sampled_from(keyed))
        del _at(data, path)[draw(st.sampled_from(sorted(_at(data, path))))]
        return data
    if kind == "insert" and containers:
        path = draw(st.sampled_from(containers))
        _at(data, path)[draw(keys)] = draw(replacements)
        return data
    if kind == "wrap":
        path = draw(st.sampled_from(paths))
        value = _at(data, path)
        return _replace(data, path, draw(st.sampled_from([[value], {"value": value}])))
    if kind == "date":
        leaves = [p for p in paths if isinstance(_at(data, p), str)] or paths
        return _replace(data, draw(st.sampled_from(leaves)), draw(st.sampled_from(BAD_DATES)))
    if kind == "list":
        lists = [p for p in paths if isinstance(_at(data, p), list)]
        if lists:
            path = draw(st.sampled_from(lists))
            items = _at(data, path)
            choice = draw(st.sampled_from(["empty", "double", "junk"]))
            doubled = items + copy.deepcopy(items)
            new = [] if choice == "empty" else doubled if choice == "double" else [*items, 7]
            return _replace(data, path, new)
    if kind == "root":
        return draw(st.sampled_from([[data], None, "document", 42, [], {}]))
    path = draw(st.sampled_from(paths[1:] or paths))
    return _replace(data, path, draw(replacements))


def _serialize(data: Any, depth: int, bad_bytes: bytes) -> bytes:
    text = json.dumps(data, ensure_ascii=False)  # NaN and Infinity come out as JSON extensions
    deep = json.dumps(DEEP, ensure_ascii=False)
    if deep in text:
        text = text.replace(deep, "[" * depth + "]" * depth, 1).replace(
            deep, '{"a":' * 50 + "1" + "}" * 50
        )
    raw = text.encode("utf-8")
    return raw.replace(json.dumps(NOT_UTF8, ensure_ascii=False).encode(), bad_bytes)


@st.composite
def bad_files(draw: st.DrawFn) -> bytes:
    """A mutated document's bytes, sometimes damaged below the JSON level as well."""
    base = draw(st.one_of(st.sampled_from(BASES), documents().map(lambda d: d.to_json_dict())))
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        data = draw(mutate(data))
    raw = _serialize(
        data, draw(st.sampled_from([3, 1000, 100_000])), draw(st.sampled_from(NOT_UTF8_BYTES))
    )
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "bom", "utf16", "byte"]))
    if damage == "truncate":
        return raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    if damage == "bom":
        return b"\xef\xbb\xbf" + raw
    if damage == "utf16":
        return raw.decode("utf-8", "replace").encode("utf-16")
    if damage == "byte":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from([b"\xff", b"\x80", b"\x00", b"}"])) + raw[at:]
    return raw


def expected_valid(raw: bytes) -> bool:
    """Independent of the CLI: UTF-8 (a BOM allowed), strict JSON (no NaN or Infinity), an
    object, and the model accepts it."""

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=refuse)
        ProcedureDocument.model_validate(data)
    except (UnicodeDecodeError, ValueError, RecursionError, ValidationError):
        return False
    return isinstance(data, dict)


def signature_matches(raw: bytes) -> bool:
    document = ProcedureDocument.model_validate(json.loads(raw.decode("utf-8-sig")))
    signature = document.procedure.signature
    return signature is None or signature.content_hash == content_hash(document)


def dump(db: Path) -> list[tuple[object, ...]]:
    """Every row of every table (the audit trail included), WAL content included."""
    conn = sqlite3.connect(db)
    try:
        rows: list[tuple[object, ...]] = []
        tables = conn.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")
        for (table,) in tables.fetchall():
            rows += [(table, *row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
        return rows
    finally:
        conn.close()


def another_patient_holds_the_mrn(db: Path, raw: bytes) -> bool:
    """Whether the clinic stores the document's MRN under another birth date or family name
    (compared as a person would: case, accents and spacing ignored)."""
    patient = json.loads(raw.decode("utf-8-sig"))["patient"]
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(
            "SELECT family_name, birth_date FROM patients WHERE mrn = ?", (patient["mrn"],)
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        return False
    return row[1] != patient["birth_date"] or not same_family_name(row[0], patient["family_name"])


def _root_keys(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None


def allowed_prefixes(name: str, data: Any) -> tuple[str, ...]:
    """How a problem line may start: the file name, or a path from a top-level key."""
    roots = list(ROOT_FIELDS)
    if isinstance(data, dict):
        roots += [field_path([key]) for key in data if isinstance(key, str)]
    return (f"{name}: ", *(f"{root}{sep}" for root in roots for sep in (": ", ".", "[")))


def assert_clean_refusal(err: str, name: str, data: Any) -> None:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines, "exit 2 without saying why"
    prefixes = allowed_prefixes(name, data)
    for line in lines:
        assert line.startswith(prefixes), f"does not name a field or the file: {line!r}"


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A demo clinic shared by every example, with its own audit key folder (each test function
    gets a fresh home folder, so the default key folder would change under it)."""
    folder = tmp_path_factory.mktemp("robust")
    db, keys = folder / "clinic.db", folder / "keys"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPI_CHART_KEY_DIR", str(keys))
        assert main(["--db", str(db), "demo"]) == 0
        add_accounts(db)
    return db, keys


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=bad_files())
def test_check_and_import_refuse_bad_input_cleanly(
    raw: bytes,
    clinic: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, keys = clinic
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(keys))
    typed_keyboard(monkeypatch)
    path = tmp_path_factory.mktemp("doc") / "visit.json"
    path.write_bytes(raw)
    valid = expected_valid(raw)
    capsys.readouterr()

    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    # A changed signed document is evaluated, with a warning and exit 1 (never silent).
    assert code == ((0 if signature_matches(raw) else 1) if valid else 2), err
    if code == 1:
        assert err.startswith("warning: procedure.signature.content_hash: does not match")
        assert json.loads(out)
    elif code == 0:
        assert err == ""
        result = json.loads(out)  # strict JSON: no NaN or Infinity in the evaluation
        assert json.dumps(result, allow_nan=False)
    else:
        assert out == ""
        assert_clean_refusal(err, str(path), _root_keys(raw))

    before = dump(db)
    code = main(["--db", str(db), "--as", "rivera", "import", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if valid and signature_matches(raw) and another_patient_holds_the_mrn(db, raw):
        # The module's clinic may already hold this MRN from an earlier example: the import is
        # refused as a wrong-patient document (issue 11), naming the field, nothing stored.
        assert code == 2, err
        assert out == ""
        assert all("does not match" in line for line in err.splitlines()), err
        # Nothing of the document was stored (the sign-in itself is audited, as always).
        clinical = ("patients", "procedures", "sites", "pain_strokes")
        assert [r for r in dump(db) if r[0] in clinical] == [r for r in before if r[0] in clinical]
    elif valid and signature_matches(raw):
        assert code == 0, err
        # Only notes about the import itself: already imported, stored values kept.
        assert all(line.startswith("tpi-chart import: ") for line in err.splitlines()), err
        after = dump(db)
        assert int(out) in {row[1] for row in after if row[0] == "procedures"}
    else:
        assert code == 2, err
        assert out == ""
        assert_clean_refusal(err, str(path), _root_keys(raw))
        assert dump(db) == before


def run_cli(*argv: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["--db", str(db)] if db else []
    return subprocess.run(
        [sys.executable, "-m", "tpi_chart", *prefix, *argv],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def _five_megabytes_of_sites() -> bytes:
    data = json.loads(_example("reference-visit.json").read_text())
    site = data["procedure"]["sites"][0]
    count = 5_000_000 // len(json.dumps(site)) + 1
    data["procedure"]["sites"] = [site] * count
    return json.dumps(data).encode()


WHOLE_FILES = {
    "empty": b"",
    "whitespace": b" \n\t ",
    "array": b"[" + _example("reference-visit.json").read_bytes() + b"]",
    "scalar": b"42",
    "latin-1": json.dumps(json.loads(_example("reference-visit.json").read_text()))
    .replace("Lopez", "L\\u00f3pez")
    .encode()
    .replace(b"L\\u00f3pez", b"L\xf3pez"),
    "deep": b"[" * 200_000 + b"]" * 200_000,
    "deep-object": b'{"a":' * 200_000 + b"1" + b"}" * 200_000,
    "nan": _example("reference-visit.json").read_bytes().replace(b"64.0", b"NaN"),
    "five-megabyte-string": _example("reference-visit.json")
    .read_bytes()
    .replace(b'"pain_before"', b'"notes": "' + b"x" * 5_000_000 + b'", "pain_before"'),
}


@pytest.mark.parametrize("name", sorted(WHOLE_FILES))
def test_whole_file_damage_is_refused_by_the_real_command(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.json"
    path.write_bytes(WHOLE_FILES[name])
    db = tmp_path / "clinic.db"
    for argv in (("check", str(path)), ("import", str(path))):
        result = run_cli(*argv, db=db)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert lines
        assert all(line.startswith(allowed_prefixes(str(path), None)) for line in lines), lines
    if db.exists():
        assert [row for row in dump(db) if row[0] in {"patients", "procedures", "audit"}] == []


def test_a_valid_five_megabyte_document_is_checked_and_imported(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(_five_megabytes_of_sites())
    assert path.stat().st_size >= 5_000_000
    checked = run_cli("check", str(path))
    assert (checked.returncode, checked.stderr) == (0, "")
    assert json.loads(checked.stdout)["valid"] is True
    add_accounts(tmp_path / "clinic.db")
    imported = run_cli("--as", "rivera", "import", str(path), db=tmp_path / "clinic.db")
    assert (imported.returncode, imported.stderr) == (0, "")


# ---- regressions: each of these crashed (exit 1 with a traceback) or stored bad data ----------


def _reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_example("reference-visit.json").read_text())
    return data


def _with(path: tuple[Any, ...], value: Any) -> bytes:
    return json.dumps(_replace(_reference(), path, value)).encode()


REGRESSIONS: dict[str, tuple[bytes, str]] = {
    # check: decimal.InvalidOperation rounding the percent of the maximum dose
    "tiny-weight": (
        _with(("patient", "weight_kg"), 1e-300),
        "patient.weight_kg: must be at least 0.1",
    ),
    # check: decimal.InvalidOperation on an infinite dose; import stored it
    "huge-concentration": (
        _with(("procedure", "preparations", 0, "components", 0, "concentration"), "9" * 400 + "%"),
        "procedure.preparations[0].components[0].concentration: must be at most 100% (1000 mg/mL)",
    ),
    # import: OverflowError converting to UTC
    "year-9999": (
        _with(("procedure", "performed_at"), "9999-12-31T23:59:59-07:00"),
        "procedure.performed_at: the year must be between 1900 and 2199",
    ),
    "year-1": (
        _with(("procedure", "performed_at"), "0001-01-01T00:00:00+07:00"),
        "procedure.performed_at: the year must be between 1900 and 2199",
    ),
    "birth-year-1": (
        _with(("patient", "birth_date"), "0001-01-01"),
        "patient.birth_date: the year must be between 1900 and 2199",
    ),
    # both: RecursionError from the JSON parser
    "deep": (b"[" * 100_000 + b"]" * 100_000, "{file}: not valid JSON: nested too deeply"),
    # import: a line that named neither the field nor the file
    "array": (b"[" + _with((), _reference()) + b"]", "{file}: not a procedure document"),
    # both: an unknown key that is empty or has a line break gave a line without a field name
    "empty-key": (_with(("",), 1), '[""]: unknown field'),
    # both: a key that looked like a pydantic validator tag was dropped from the path
    "bracket-key": (_with(("x[0]",), 1), '["x[0]"]: unknown field'),
    "line-break-key": (_with(("patient", "a\nb"), 1), 'patient["a\\nb"]: unknown field'),
    # both: NaN is not JSON ("must be at most 400" was misleading)
    "nan": (
        _with(("patient", "weight_kg"), math.nan),
        "{file}: not valid JSON: NaN is not a number",
    ),
    "long-integer": (
        _with((), _reference()).replace(b'"pain_before": 7', b'"pain_before": ' + b"9" * 5000),
        "{file}: not valid JSON: a number has thousands of digits",
    ),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_is_refused_with_one_named_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, expected = REGRESSIONS[name]
    path = tmp_path / "visit.json"
    path.write_bytes(raw)
    db = tmp_path / "clinic.db"
    for argv in (["check", str(path)], ["--db", str(db), "import", str(path)]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert len(err.splitlines()) == 1, err
        assert err.startswith(expected.format(file=path)), err
    assert [row for row in dump(db) if row[0] in {"patients", "procedures", "audit"}] == []


def test_a_byte_order_mark_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keyboard: Keyboard
) -> None:
    path = tmp_path / "notepad.json"
    path.write_bytes(b"\xef\xbb\xbf" + _example("reference-visit.json").read_bytes())
    assert main(["check", str(path)]) == 0
    add_accounts(tmp_path / "clinic.db")
    assert main(["--db", str(tmp_path / "clinic.db"), "--as", "rivera", "import", str(path)]) == 0
    assert capsys.readouterr().err == ""

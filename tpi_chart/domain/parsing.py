"""Reading a procedure document from a file: the one parser behind `check` and `import`.

Whatever the bytes, the answer is a document or a list of problems, one line each, naming the
file or the field (product.md §7); never an exception.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from tpi_chart.domain.catalog import Catalog, validation_context
from tpi_chart.domain.errors import describe_validation_error
from tpi_chart.domain.models import ProcedureDocument

Parsed = tuple[ProcedureDocument | None, list[str]]


class _NotJsonNumber(ValueError):
    pass


def _refuse_constant(constant: str) -> None:
    # Python's json accepts NaN and Infinity; JSON does not, and neither is a measurement.
    raise _NotJsonNumber(f"{constant} is not a number in JSON")


class _Object(dict[str, object]):
    """A JSON object that remembers the keys it was given more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> _Object:
    result = _Object()
    seen: list[str] = []
    for key, value in pairs:
        if key in result and key not in seen:
            seen.append(key)
        result[key] = value
    result.duplicates = tuple(seen)
    return result


def _duplicate_keys(value: object, path: str = "") -> list[str]:
    """The path of every key given twice in one object (json keeps the last one silently: a
    second `"allergies"` or `"mrn"` would win unseen)."""
    found: list[str] = []
    if isinstance(value, _Object):
        found += [f"{path}{key}" for key in value.duplicates]
        for key, item in value.items():
            found += _duplicate_keys(item, f"{path}{key}.")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _duplicate_keys(item, f"{path.rstrip('.')}[{index}].")
    return found


def parse_document(
    raw: bytes, name: str, prefix: str = "", catalog: Catalog | None = None
) -> Parsed:
    """Parse a file's bytes: (document, []) or (None, problems). `name` names the file in
    problems about the file as a whole; `prefix` goes before each field path. Ids are checked
    against `catalog` when given, else the catalog in force."""
    try:
        # A byte order mark is what Windows Notepad writes: accept it.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return None, [f"{name}: not UTF-8 text (byte {error.start + 1}); save it as UTF-8"]
    try:
        data = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_object)
        duplicates = _duplicate_keys(data)
    except json.JSONDecodeError as error:
        return None, [
            f"{name}: not valid JSON: line {error.lineno} column {error.colno}: {error.msg}"
        ]
    except RecursionError:
        return None, [f"{name}: not valid JSON: nested too deeply to be a procedure document"]
    except _NotJsonNumber as error:
        return None, [f"{name}: not valid JSON: {error}"]
    except ValueError:  # Python refuses to convert an integer of thousands of digits
        return None, [f"{name}: not valid JSON: a number has thousands of digits"]
    if duplicates:
        return None, [
            f"{prefix}{path}: given twice in the same object; keep one (which one is meant "
            "cannot be known)"
            for path in duplicates
        ]
    if not isinstance(data, dict):
        return None, [f"{name}: not a procedure document: expected a JSON object"]
    try:
        context = validation_context(catalog) if catalog is not None else None
        return ProcedureDocument.model_validate(data, context=context), []
    except ValidationError as error:
        return None, [f"{prefix}{line}" for line in describe_validation_error(error)]
    except RecursionError:
        return None, [f"{name}: not a procedure document: nested too deeply"]


def read_document_file(path: Path, prefix: str = "", catalog: Catalog | None = None) -> Parsed:
    """`parse_document` of the file at `path`, or why it cannot be read."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [f"{name}: no such file"]
    except IsADirectoryError:
        return None, [f"{name}: is a folder, not a file"]
    except OSError as error:
        return None, [f"{name}: cannot be read ({error.strerror or error})"]
    return parse_document(raw, name, prefix, catalog)

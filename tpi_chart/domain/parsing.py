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
        data = json.loads(text, parse_constant=_refuse_constant)
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

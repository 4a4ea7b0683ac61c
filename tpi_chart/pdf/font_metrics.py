"""The shipped fonts' parsed tables, stored once instead of parsed in every process.

reportlab reads a TrueType font's name, head, OS/2, cmap, hmtx and loca tables in pure Python:
about 45 ms of CPU for the note's four DejaVu faces, in every process that draws a note (a
`tpi-chart export` pays it for one page). What the parse leaves on the face is plain data (ints,
floats, strings, bytes, lists, dicts), so ``tools/font_metrics.py`` writes it to
``resources/fonts/metrics.marshal`` and a process restores the faces from it.

A restored face unmarshals its large tables (the glyph maps, widths and metrics) when reportlab
first reads them: tens of thousands of small objects, most of which a note never reads (the
italic face is drawn only for planned sites and reasons; reportlab keeps ``glyphToChar`` only
for its own parse). Made all at once, in a process that has imported the app, they also set off
a full garbage collection of its heap (13 ms measured).

The file is trusted for exactly the font bytes (SHA-256) and the reportlab version it was
written from; any other font file, a reportlab upgrade, or a missing or unreadable metrics file
parses the font as before. It ships inside the installed package beside the fonts (never a
cache in a user-writable folder) and holds marshalled plain data, never pickle.
"""

from __future__ import annotations

import hashlib
import marshal
import threading
from collections.abc import Callable, Mapping
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import reportlab
from reportlab import rl_config
from reportlab.pdfbase.ttfonts import TTEncoding, TTFNameBytes, TTFont, TTFontFace

from tpi_chart.domain.resources import resource_path

METRICS_FILE = "fonts/metrics.marshal"
#: Bump when the layout of the stored data changes (the file then no longer matches).
FORMAT = 1

# Not plain data: the font's bytes (read from the font file itself, which also checks its hash),
# where it was opened from, and the points-to-PDF-units function (rebuilt from unitsPerEm).
_NOT_STORED = frozenset({"_ttf_data", "filename", "_pdfScale"})
#: Unmarshalled on first use (see RestoredFace); everything else is restored at once.
LAZY = ("charToGlyph", "charWidths", "glyphToChar", "hmetrics", "glyphPos")
_PLAIN = frozenset({bool, int, float, str, bytes, type(None), list, tuple, dict})


def _check_plain(value: object, where: str) -> None:
    # marshal refuses most other objects, but stores any buffer (a bytes subclass, an array) as
    # plain bytes: a reportlab that kept one on the face would come back changed. Refuse it here.
    if type(value) not in _PLAIN:
        raise TypeError(f"{where}: {type(value).__name__} is not plain data")
    items: list[object] = []
    if isinstance(value, list | tuple):
        items = list(value)
    elif isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    for item in items:
        _check_plain(item, where)


def face_state(face: TTFontFace) -> dict[str, Any]:
    """The parsed face as plain data: its attributes, with reportlab's name strings as bytes
    and the large tables each marshalled on its own."""
    attributes: dict[str, Any] = {}
    names: dict[str, bytes] = {}
    tables: dict[str, bytes] = {}
    for key, value in vars(face).items():
        if key in _NOT_STORED:
            continue
        if type(value) is TTFNameBytes:
            names[key] = bytes(value)
            continue
        _check_plain(value, key)
        if key in LAZY:
            tables[key] = marshal.dumps(value)
        else:
            attributes[key] = value
    return {"attributes": attributes, "names": names, "tables": tables}


def build_metrics(fonts: Mapping[str, Path]) -> bytes:
    """The metrics file for the fonts (relative resource name -> font file), parsed afresh."""
    faces = {}
    for relative, path in fonts.items():
        data = path.read_bytes()
        face = TTFont(relative, str(path)).face
        faces[relative] = {"sha256": hashlib.sha256(data).hexdigest(), "state": face_state(face)}
    return marshal.dumps({"format": FORMAT, "reportlab": reportlab.Version, "faces": faces})


def _stored_faces() -> dict[str, Any]:
    """The faces of the shipped metrics file, or none if it is missing, damaged or stale."""
    try:
        stored = marshal.loads(resource_path(METRICS_FILE).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if (
        not isinstance(stored, dict)
        or stored.get("format") != FORMAT
        or stored.get("reportlab") != reportlab.Version
    ):
        return {}
    faces = stored.get("faces")
    return faces if isinstance(faces, dict) else {}


def _scale(units_per_em: int) -> Callable[[float], float]:
    # The same arithmetic as reportlab's extractInfo, so widths round alike.
    if units_per_em == 1000:
        return lambda x: x
    factor = 1000 / units_per_em
    return lambda x: x * factor


_RESTORING = threading.Lock()


class RestoredFace(TTFontFace):  # type: ignore[misc]
    """A TTFontFace restored from :func:`face_state`: equal to the parsed face in every
    attribute, the large ones unmarshalled when first read."""

    def __getattr__(self, name: str) -> Any:
        # Only called for what is not yet in the instance dict. Faces are process-wide
        # (reportlab's registry) and the window draws on a worker thread: the lock makes sure
        # one thread restores each table and every reader gets that one object.
        attributes = self.__dict__
        with _RESTORING:
            if name in attributes:
                return attributes[name]
            tables = attributes.get("_tables", {})
            if name not in tables:
                raise AttributeError(name)
            value = attributes[name] = marshal.loads(tables.pop(name))
        return value


def restore_face(state: Mapping[str, Any], path: Path, data: bytes) -> TTFontFace:
    """A face equal to ``TTFontFace(str(path))``, from :func:`face_state` and the font's bytes."""
    face = RestoredFace.__new__(RestoredFace)
    attributes = face.__dict__
    attributes.update(state["attributes"])
    for key, value in state["names"].items():
        attributes[key] = TTFNameBytes(value)
    attributes["_tables"] = dict(state["tables"])
    attributes["_ttf_data"] = data
    attributes["filename"] = str(path)
    attributes["_pdfScale"] = _scale(face.unitsPerEm)
    return face


def _font(name: str, face: TTFontFace) -> TTFont:
    # What TTFont.__init__ sets, with the face it would have parsed (reportlab's version is part
    # of the metrics' key, and test_font_metrics compares the result with a parsed TTFont).
    font = TTFont.__new__(TTFont)
    font.fontName = name
    font.face = face
    font.encoding = TTEncoding()
    font.state = WeakKeyDictionary()
    font._asciiReadable = rl_config.ttfAsciiReadable
    font.shapable = not any(fnmatch(name, glob) for glob in rl_config.unShapedFontGlob)
    return font


def load_fonts(files: Mapping[str, str], *, preparsed: bool = True) -> list[TTFont]:
    """A TTFont per (font name -> resource path), restored from the metrics file where it holds
    these exact font bytes for this reportlab, else parsed (``preparsed=False``: always parsed)."""
    stored = _stored_faces() if preparsed else {}
    fonts = []
    for name, relative in files.items():
        path = resource_path(relative)
        entry = stored.get(relative)
        if isinstance(entry, dict):
            data = path.read_bytes()
            if entry.get("sha256") == hashlib.sha256(data).hexdigest():
                fonts.append(_font(name, restore_face(entry["state"], path, data)))
                continue
        fonts.append(TTFont(name, str(path)))
    return fonts

"""The note's fonts restored from resources/fonts/metrics.marshal instead of parsed (issue 15):
the file is what the fonts give, a restored face is the parsed face, the PDFs are the same bytes,
and anything the file was not made from is parsed as before."""

from __future__ import annotations

import json
import marshal
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFile

from tests.sample_documents import forty_site_document, signed_copy
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.resources import resource_path
from tpi_chart.pdf import font_metrics, fonts
from tpi_chart.pdf.note import NoteOptions, render_note

OPTIONS = NoteOptions(clinic_name="Riverside Pain & Spine Clinic", clinic_phone="(555) 010-2030")


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files reportlab parses while the test runs."""
    parsed: list[str] = []
    extract = TTFontFile.extractInfo

    def counting(self: TTFontFile, *args: Any, **kwargs: Any) -> None:
        parsed.append(Path(self.filename).name)
        extract(self, *args, **kwargs)

    monkeypatch.setattr(TTFontFile, "extractInfo", counting)
    return parsed


def test_the_shipped_metrics_are_what_the_fonts_and_this_reportlab_give() -> None:
    shipped = resource_path(font_metrics.METRICS_FILE).read_bytes()
    assert fonts.shipped_metrics() == shipped, (
        "resources/fonts/metrics.marshal is stale (a font or reportlab changed): "
        "run python tools/font_metrics.py"
    )


def test_the_shipped_faces_are_restored_without_parsing(parses: list[str]) -> None:
    restored = font_metrics.load_fonts(fonts.FONT_FILES)
    assert [font.fontName for font in restored] == list(fonts.FONT_FILES)
    assert parses == []
    font_metrics.load_fonts(fonts.FONT_FILES, preparsed=False)
    assert parses == [Path(relative).name for relative in fonts.FONT_FILES.values()]


def _same(restored: object, parsed: object, where: str) -> None:
    # repr tells 600 from 600.0 and dict order apart; type tells bytes from TTFNameBytes.
    assert type(restored) is type(parsed), where
    assert repr(restored) == repr(parsed), where
    assert getattr(restored, "ustr", None) == getattr(parsed, "ustr", None), where


@pytest.mark.parametrize("name", sorted(fonts.FONT_FILES))
def test_a_restored_font_equals_a_parsed_one_in_every_attribute(name: str) -> None:
    files = {name: fonts.FONT_FILES[name]}
    (restored,) = font_metrics.load_fonts(files)
    (parsed,) = font_metrics.load_fonts(files, preparsed=False)
    assert set(vars(restored)) == set(vars(parsed))
    for key in ("fontName", "_asciiReadable", "_shapable"):
        _same(getattr(restored, key), getattr(parsed, key), key)
    for key in ("encoding", "state"):
        assert type(getattr(restored, key)) is type(getattr(parsed, key)), key
    assert isinstance(restored.face, font_metrics.RestoredFace)
    assert isinstance(restored.face, type(parsed.face))
    assert set(vars(restored.face)) == {"_tables"} | set(vars(parsed.face)) - set(font_metrics.LAZY)
    for key, value in vars(parsed.face).items():
        if key != "_pdfScale":
            _same(getattr(restored.face, key), value, key)
    assert set(vars(restored.face)) == {"_tables"} | set(vars(parsed.face))
    assert vars(restored.face)["_tables"] == {}
    with pytest.raises(AttributeError):
        restored.face.noSuchAttribute  # noqa: B018
    for points in (0, 1, 317, 1229, 2048, 0.5, -40):
        assert restored.face._pdfScale(points) == parsed.face._pdfScale(points)
    text = "Nguyễn-Ødegård — 0.5 mL lidocaine 1 % ✓"
    assert restored.stringWidth(text, 9) == parsed.stringWidth(text, 9)


@pytest.fixture
def font_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fonts read from a copy of resources/fonts (the metrics file still the shipped one)."""
    copies = tmp_path / "fonts"
    shutil.copytree(resource_path("fonts"), copies)
    real = font_metrics.resource_path

    def copied(relative: str) -> Path:
        if relative == font_metrics.METRICS_FILE:
            return real(relative)
        return copies / Path(relative).name

    monkeypatch.setattr(font_metrics, "resource_path", copied)
    return copies


def test_a_font_file_that_changed_is_parsed(font_copies: Path, parses: list[str]) -> None:
    changed = font_copies / "DejaVuSans-Bold.ttf"
    changed.write_bytes(changed.read_bytes() + b"\0")  # trailing bytes: still a valid font
    loaded = font_metrics.load_fonts(fonts.FONT_FILES)
    assert parses == ["DejaVuSans-Bold.ttf"]
    assert [font.face.filename for font in loaded] == [
        str(font_copies / Path(relative).name) for relative in fonts.FONT_FILES.values()
    ]


def test_another_reportlab_parses_every_font(
    parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(font_metrics.reportlab, "Version", "99.0.0")
    font_metrics.load_fonts(fonts.FONT_FILES)
    assert len(parses) == len(fonts.FONT_FILES)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00garbage", marshal.dumps([1, 2]), marshal.dumps({"format": 0})],
    ids=["empty", "garbage", "not a dict", "old format"],
)
def test_a_missing_or_damaged_metrics_file_parses_every_font(
    content: bytes, tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = tmp_path / "metrics.marshal"
    damaged.write_bytes(content)
    real = font_metrics.resource_path
    monkeypatch.setattr(
        font_metrics,
        "resource_path",
        lambda relative: damaged if relative == font_metrics.METRICS_FILE else real(relative),
    )
    font_metrics.load_fonts(fonts.FONT_FILES)
    assert len(parses) == len(fonts.FONT_FILES)
    damaged.unlink()
    font_metrics.load_fonts(fonts.FONT_FILES)
    assert len(parses) == 2 * len(fonts.FONT_FILES)


@pytest.fixture
def registered() -> Iterator[None]:
    fonts.register_fonts()
    fonts._covered.cache_clear()
    yield
    fonts._covered.cache_clear()


def _render(
    document: ProcedureDocument, with_fonts: list[TTFont], monkeypatch: pytest.MonkeyPatch
) -> bytes:
    # registerFont keeps the first font of a name, so the test swaps reportlab's table itself.
    with monkeypatch.context() as swapped:
        for font in with_fonts:
            swapped.setitem(pdfmetrics._fonts, font.fontName, font)
        fonts._covered.cache_clear()
        return render_note(document, OPTIONS)


@pytest.mark.usefixtures("registered")
def test_notes_are_the_same_bytes_with_restored_and_parsed_fonts(
    examples_dir: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    reference = ProcedureDocument.model_validate(
        json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    )
    restored = font_metrics.load_fonts(fonts.FONT_FILES)
    assert parses == []
    parsed = font_metrics.load_fonts(fonts.FONT_FILES, preparsed=False)
    for document in (signed_copy(reference), reference, signed_copy(forty_site_document())):
        assert _render(document, restored, monkeypatch) == _render(document, parsed, monkeypatch)
    # The 40-site note's "李" is set in the CJK fallback font beside the restored DejaVu faces.
    forty = _render(signed_copy(forty_site_document()), restored, monkeypatch)
    assert b"DroidSansFallback" in forty
    assert b"DejaVuSans-Bold" in forty
    # What reportlab keeps only for its own parse is never unmarshalled.
    assert all("glyphToChar" not in vars(font.face) for font in restored)


def test_a_face_holding_what_marshal_would_change_is_refused() -> None:
    (font,) = font_metrics.load_fonts({fonts.SANS: fonts.FONT_FILES[fonts.SANS]})
    font.face.glyphNames = [font.face.name]  # a bytes subclass: marshal keeps only the bytes
    with pytest.raises(TypeError, match="glyphNames: TTFNameBytes is not plain data"):
        font_metrics.face_state(font.face)

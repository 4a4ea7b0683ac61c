"""What a patient search matches, whatever the engine: names folded to lower case without
accents, dates of birth as written on US forms read as ISO dates."""

from __future__ import annotations

import re
import unicodedata

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "þ": "th"})
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def fold(text: str) -> str:
    """Lower case without accents, for searching names ("Nguyễn" → "nguyen", "Ø" → "o")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(_FOLD)


def search_name(family_name: str, given_name: str) -> str:
    """The folded text a patient is found by: "family given family", so that "given family"
    and "family given" both match as one substring."""
    return fold(f"{family_name} {given_name} {family_name}")


def iso_date(token: str) -> str:
    """'5/12/1974' (month/day/year, as on US forms) → '1974-05-12'; anything else unchanged."""
    match = _US_DATE.match(token)
    if match is None:
        return token
    month, day, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"

"""The names of the files a note carries inside its PDF: read by the renderer that embeds them
and by the verifier, which must not import the renderer (and reportlab) to find them."""

from __future__ import annotations

#: The procedure document the note was rendered from.
DOCUMENT_ATTACHMENT = "procedure.json"

#: How the note was rendered (renderer, versions, clinic options).
RENDER_ATTACHMENT = "note-render.json"

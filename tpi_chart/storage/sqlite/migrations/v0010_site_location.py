"""Schema step v0010: a site's location relative to bony landmarks.

`location` holds a short description such as "2 cm medial to the superior angle of the scapula,
right": computed from the nearest landmarks when a site is placed on the diagram, editable by the
clinician, printed on the note. NULL for sites placed before this step (the note then computes it
from the stored coordinates)."""

SQL = """
ALTER TABLE sites ADD COLUMN location TEXT;
"""

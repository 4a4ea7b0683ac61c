"""Patient search by an index (issue 15): a trigram full-text index over the folded name and
the MRN, so "garc" finds García and "1001" finds D1001 without reading every patient.

The index holds no text of its own (`content='patients'`). The repository keeps it in step on
every insert and update of a patient (`tpi_chart.storage.sqlite.search`): triggers cannot, since the
connection runs with `trusted_schema = OFF` and SQLite then refuses a virtual table written
from a trigger. `search_name` is already folded (lower case, no accents) by the repository, so
the tokenizer needs no diacritics option (SQLite's trigram tokenizer only has one from 3.45).
The second index serves the list in its order (name, then date of birth) without sorting it.
"""

SQL = """
CREATE VIRTUAL TABLE patient_search USING fts5(
    search_name, mrn, content = 'patients', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO patient_search (patient_search) VALUES ('rebuild');
CREATE INDEX patients_search_order ON patients (search_name, birth_date);
"""

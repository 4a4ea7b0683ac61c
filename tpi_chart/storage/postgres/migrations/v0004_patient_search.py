"""Patient search by an index on the server (issue 18): the counterpart of SQLite's trigram
index (sqlite migrations v0018_patient_search), with pg_trgm.

Why pg_trgm and not a `text_pattern_ops` prefix index: a search word matches *part* of the name
or the MRN ("garc" finds "Lopez Garcia"; storage/search.py), a LIKE '%word%' that a b-tree
cannot serve; a trigram GIN index serves it for words of three characters or more, as SQLite's
trigram index does, so both engines find the same patients the same way. pg_trgm is in
PostgreSQL's contrib, which Debian's postgresql-15 package and the postgres:15 image ship, and a
trusted extension: the clinic database's owner creates it without a superuser.

`search_name` is already folded (lower case, no accents) by the repository, so no `unaccent`
is needed; the MRN is matched lower-cased; the date of birth by prefix. One index per column, so
that every arm of the search's OR is an index scan (a BitmapOr): the planner costs one GIN index
over the three columns at ten times a table of a few thousand patients, and reads the table.
`fastupdate = off`: patients are added one at a time, and a pending list would be read by every
search until the next vacuum (and costed as such by the planner).
"""

SQL = r"""
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX patients_search_trgm ON patients USING gin (search_name gin_trgm_ops)
    WITH (fastupdate = off);
CREATE INDEX patients_mrn_trgm ON patients USING gin ((lower(mrn)) gin_trgm_ops)
    WITH (fastupdate = off);
CREATE INDEX patients_birth_date_trgm ON patients USING gin (birth_date gin_trgm_ops)
    WITH (fastupdate = off);
"""

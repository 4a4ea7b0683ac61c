"""Schema version (positional): dry-needled sites and the containers drugs are drawn from.

A site may be dry-needled (needle without injectate: CPT 20560/20561, not a TPI); a component may
record its container (`single_dose` or `multi_dose`) and size, which decide JW/JZ on the drug's
claim line (clinical-reference §2.8). Existing rows: not dry-needled, container unknown.
"""

SQL = """
ALTER TABLE sites ADD COLUMN dry_needling INTEGER NOT NULL DEFAULT 0 CHECK (dry_needling IN (0, 1));
ALTER TABLE components ADD COLUMN container TEXT
    CHECK (container IS NULL OR container IN ('single_dose', 'multi_dose'));
ALTER TABLE components ADD COLUMN container_ml REAL;
"""

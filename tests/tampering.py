"""Changing a clinic's file behind TPI Chart's back, as the integrity checks must catch."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def edit_a_signed_site(db: Path, *, newest: bool = False) -> int:
    """Drop the trigger that protects signed sites and change the volume of the first site of
    the oldest (or newest) signed procedure; returns that procedure's id."""
    conn = sqlite3.connect(db)
    try:
        (procedure_id,) = conn.execute(
            f"SELECT {'max' if newest else 'min'}(id) FROM procedures WHERE status = 'signed'"
        ).fetchone()
        conn.execute("DROP TRIGGER sites_signed_no_update")
        conn.execute(
            "UPDATE sites SET volume_ml = volume_ml + 1 WHERE procedure_id = ? AND seq = 1",
            (procedure_id,),
        )
        conn.commit()
    finally:
        conn.close()
    return int(procedure_id)

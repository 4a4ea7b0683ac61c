"""Sites: one row per injection site; each change audited in its transaction. A removed site
keeps its row (`removed = 1`, its place and id) so that a restore gives it back its number."""

from __future__ import annotations

from typing import Any

from tpi_chart.domain.models import Site
from tpi_chart.storage.errors import StaleRecord
from tpi_chart.storage.interfaces import SiteRecord
from tpi_chart.storage.sqlite.audited import stale
from tpi_chart.storage.sqlite.procedure_reads import ProcedureReads


class SiteWrites(ProcedureReads):
    def _site_values(self, site: Site) -> tuple[Any, ...]:
        d = site.model_dump(mode="json")
        f = d["findings"]
        needle = d["needle"] or {}
        return (
            d["muscle"],
            d["side"],
            d["state"],
            d["view"],
            d["x"],
            d["y"],
            d["preparation"],
            d["volume_ml"],
            d["twitch"],
            bool(f["taut_band"]),
            bool(f["referred_pain"]),
            bool(f["jump_sign"]),
            bool(f["negative_aspiration"]),
            d["trigger_points"],
            needle.get("gauge"),
            needle.get("length_in"),
            d["depth_cm"],
            d["notes"],
            d["injected_at"],
            bool(d["dry_needling"]),
            d["location"],
        )

    _SITE_COLUMNS = (
        "muscle, side, state, view, x, y, preparation, volume_ml, twitch, taut_band,"
        " referred_pain, jump_sign, negative_aspiration, trigger_points, needle_gauge,"
        " needle_length_in, depth_cm, notes, injected_at, dry_needling, location"
    )

    def _insert_site(self, procedure_id: int, site: Site) -> int:
        (seq,) = self._conn.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM sites WHERE procedure_id = ?", (procedure_id,)
        ).fetchone()
        cursor = self._conn.execute(
            f"INSERT INTO sites (procedure_id, seq, {self._SITE_COLUMNS})"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (procedure_id, seq, *self._site_values(site)),
        )
        return int(cursor.lastrowid or 0)

    def add_site(self, procedure_id: int, site: Site, user: str) -> SiteRecord:
        with self._writes.audited(
            user, "create", "site", procedure_id=procedure_id, after=site.model_dump(mode="json")
        ) as change:
            change.patient_id = self._patient_of(procedure_id)
            change.entity_id = site_id = self._insert_site(procedure_id, site)
            record = self.get_site(site_id)
        assert record is not None
        return record

    def update_site(
        self, site_id: int, site: Site, user: str, expected_version: int | None = None
    ) -> SiteRecord:
        with self._writes.audited(
            user, "update", "site", entity_id=site_id, after=site.model_dump(mode="json")
        ) as change:
            before = self.get_site(site_id)
            if before is None:
                raise KeyError(site_id)
            if expected_version is not None and before.version != expected_version:
                raise stale("site", site_id, expected_version, before.version)
            self._conn.execute(
                f"UPDATE sites SET ({self._SITE_COLUMNS}) ="
                " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?), version = version + 1 WHERE id = ?",
                (*self._site_values(site), site_id),
            )
            change.patient_id = self._patient_of(before.procedure_id)
            change.procedure_id = before.procedure_id
            change.before = before.site.model_dump(mode="json")
            record = self.get_site(site_id)
        assert record is not None
        return record

    def set_site_removed(self, site_id: int, removed: bool, user: str) -> SiteRecord:
        action = "delete" if removed else "restore"
        with self._writes.audited(
            user, action, "site", entity_id=site_id, after={"removed": removed}
        ) as change:
            before = self.get_site(site_id)
            if before is None:
                raise KeyError(site_id)
            self._conn.execute(
                "UPDATE sites SET removed = ?, version = version + 1 WHERE id = ?",
                (removed, site_id),
            )
            change.patient_id = self._patient_of(before.procedure_id)
            change.procedure_id = before.procedure_id
            change.before = {"removed": before.removed}
            record = self.get_site(site_id)
        assert record is not None
        return record

    # ---- the charting loop (services.operations): one write and its audit row, no read-back.
    # The caller holds the rows it changes; `expected_version` guards against a change made
    # elsewhere meanwhile (then StaleRecord, and only then a read for the message).
    def append_site(self, procedure_id: int, patient_id: int, site: Site, user: str) -> SiteRecord:
        with self._writes.audited(
            user,
            "create",
            "site",
            patient_id=patient_id,
            procedure_id=procedure_id,
            after=site.model_dump(mode="json"),
        ) as change:
            row = self._conn.execute(
                f"INSERT INTO sites (procedure_id, seq, {self._SITE_COLUMNS}) VALUES (?,"
                " (SELECT coalesce(max(seq), 0) + 1 FROM sites WHERE procedure_id = ?),"
                " ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                # The new row's number: the others counted, plus itself (SQLite's subquery sees
                # the new row, PostgreSQL's reads the snapshot from before the statement).
                " RETURNING id, seq, version,"
                " (SELECT count(*) FROM sites AS s WHERE s.procedure_id = sites.procedure_id"
                " AND NOT s.removed AND s.id <> sites.id) + 1",
                (procedure_id, procedure_id, *self._site_values(site)),
            ).fetchone()
            change.entity_id = site_id = int(row[0])
        return SiteRecord(site_id, procedure_id, int(row[1]), int(row[3]), False, site, int(row[2]))

    def _stale_site(self, site_id: int, expected: int) -> StaleRecord:
        row = self._conn.execute("SELECT version FROM sites WHERE id = ?", (site_id,)).fetchone()
        if row is None:
            raise KeyError(site_id)
        return stale("site", site_id, expected, int(row[0]))

    def write_site(
        self,
        before: SiteRecord,
        site: Site,
        patient_id: int,
        user: str,
    ) -> SiteRecord:
        """Store `site` over `before` (as the caller last saw it, at `before.version`)."""
        with self._writes.audited(
            user,
            "update",
            "site",
            entity_id=before.id,
            patient_id=patient_id,
            procedure_id=before.procedure_id,
            before=before.site.model_dump(mode="json"),
            after=site.model_dump(mode="json"),
        ):
            row = self._conn.execute(
                f"UPDATE sites SET ({self._SITE_COLUMNS}) ="
                " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?), version = version + 1"
                " WHERE id = ? AND version = ? RETURNING version",
                (*self._site_values(site), before.id, before.version),
            ).fetchone()
            if row is None:
                raise self._stale_site(before.id, before.version)
        return SiteRecord(
            before.id, before.procedure_id, before.seq, before.number, False, site, int(row[0])
        )

    def mark_site_removed(
        self, before: SiteRecord, removed: bool, patient_id: int, user: str
    ) -> SiteRecord:
        """Remove (or restore) the site `before`; the row keeps its id and place, so a restore
        gives it back its number. Removed rows are never read on the charting path."""
        with self._writes.audited(
            user,
            "delete" if removed else "restore",
            "site",
            entity_id=before.id,
            patient_id=patient_id,
            procedure_id=before.procedure_id,
            before={"removed": before.removed},
            after={"removed": removed},
        ):
            row = self._conn.execute(
                "UPDATE sites SET removed = ?, version = version + 1"
                " WHERE id = ? AND version = ? RETURNING version",
                (removed, before.id, before.version),
            ).fetchone()
            if row is None:
                raise self._stale_site(before.id, before.version)
        return SiteRecord(
            before.id,
            before.procedure_id,
            before.seq,
            before.number,
            removed,
            before.site,
            int(row[0]),
        )

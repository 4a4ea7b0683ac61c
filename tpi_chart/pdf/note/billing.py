"""Medications with their lots and totals, the anesthetic dose against its maximum, the billing
codes and claim lines, and the warnings (open or acknowledged with a reason)."""

from __future__ import annotations

from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, KeepTogether, Spacer

from tpi_chart.domain.diagnoses import load_diagnoses
from tpi_chart.domain.presentation import NOT_DOCUMENTED
from tpi_chart.pdf.fonts import SANS, markup
from tpi_chart.pdf.note.base import NoteBase
from tpi_chart.pdf.note.text import format_number, markup_para, site_ranges, text_para


class BillingSections(NoteBase):
    def _medication_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        procedure = self.procedure
        flow: list[Flowable] = [self._heading("Medications, lots and totals")]
        if not procedure.preparations:
            flow.append(text_para("No preparations recorded.", s.body))
        else:
            use = {u.id: u for u in self.evaluation.preparations}
            header = ["Prep", "Agent", "Strength", "Drawn mL", "Given mL", "Lot", "Expires", "NDC"]
            widths = [58.0, 132.0, 62.0, 48.0, 48.0, 66.0, 62.0]
            widths.append(self.content_width - sum(widths))
            rows: list[list[Flowable | str]] = []
            for preparation in procedure.preparations:
                usage = use.get(preparation.id)
                share_total = preparation.total_volume_ml
                for index, component in enumerate(preparation.components):
                    given = (
                        usage.given_ml * component.volume_ml / share_total
                        if usage is not None
                        else 0.0
                    )
                    label = preparation.label or preparation.id
                    if not label.endswith(preparation.id):
                        label = f"{preparation.id}: {label}"
                    rows.append(
                        [
                            label if index == 0 else "",
                            self.catalog.agents[component.agent].name,
                            component.concentration,
                            format_number(component.volume_ml),
                            format_number(given),
                            component.lot or "not recorded",
                            component.expires.isoformat() if component.expires else "not recorded",
                            component.ndc or "—",
                        ]
                    )
            flow.append(self._grid(header, rows, widths, right_columns=[3, 4]))
        flow.append(Spacer(1, 6))
        flow.append(self._totals_block())
        return flow

    def _totals_block(self) -> Flowable:
        s = self._get_stylesheet()
        evaluation = self.evaluation
        totals = (
            "; ".join(
                f"{t.name} {format_number(t.mg, 1)} mg ({format_number(t.ml)} mL)"
                for t in evaluation.totals
                if t.agent_class != "diluent"
            )
            or "None"
        )
        anesthetic = evaluation.anesthetic
        if anesthetic.agents:
            parts = [
                f"{self._agent_short_name(a.agent)} {format_number(a.mg, 1)} mg of "
                f"{format_number(a.max_mg, 1)} mg maximum"
                + (
                    f" ({format_number(a.mg_per_kg or 0, 1)} mg/kg × "
                    f"{format_number(anesthetic.weight_kg or 0, 1)} kg,"
                    f" cap {format_number(a.cap_mg, 0)} mg)"
                    if a.weight_based
                    else f" (fixed cap {format_number(a.cap_mg, 0)} mg)"
                )
                for a in anesthetic.agents
            ]
            dose = f"<b>{format_number(anesthetic.percent_of_max, 1)} % of maximum</b> — " + markup(
                "; ".join(parts)
            )
        else:
            dose = "No local anesthetic"
        steroid = ""
        if evaluation.steroid_mp_equivalent_mg:
            steroid = (
                f"Corticosteroid: {format_number(evaluation.steroid_mp_equivalent_mg, 1)} mg "
                "methylprednisolone equivalent"
            )
        pairs: list[tuple[str, Flowable | str]] = [
            ("Totals administered", totals),
            ("Local anesthetic dose", markup_para(dose, s.body)),
        ]
        if steroid:
            pairs.append(("Steroid", steroid))
        return self._fields(pairs, columns=3)

    def _billing_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        evaluation = self.evaluation
        if evaluation.cpt is None:
            cpt = "None (no injected sites)"
        elif evaluation.cpt in ("20560", "20561"):
            description = "1 or 2 muscles" if evaluation.cpt == "20560" else "3 or more muscles"
            cpt = (
                f"<b>{evaluation.cpt}</b> — needle insertion(s) without injection (dry "
                f"needling), {description} ({evaluation.dry_needled_muscle_count} muscles "
                "dry-needled); not a trigger point injection"
            )
        else:
            description = "1 or 2 muscles" if evaluation.cpt == "20552" else "3 or more muscles"
            cpt = (
                f"<b>{evaluation.cpt}</b> — trigger point injection(s), {description} "
                f"({evaluation.muscle_count} muscles injected)"
            )
        if evaluation.hcpcs:
            hcpcs = "<br/>".join(
                f"<b>{line.code} × {line.units}</b> — "
                f"{markup(self.catalog.agents[line.agent].name)} "
                f"{format_number(line.mg, 1)} mg, {format_number(line.unit_mg, 1)} mg per unit"
                + ("" if line.verified else " (unit size unverified)")
                for line in evaluation.hcpcs
            )
        else:
            hcpcs = "None"
        names = load_diagnoses()
        icd = (
            "<br/>".join(markup(names.label(code)) for code in self.procedure.diagnoses)
            or NOT_DOCUMENTED
        )
        pairs: list[tuple[str, Flowable | str]] = [
            ("CPT", markup_para(cpt, s.body)),
            ("HCPCS (units)", markup_para(hcpcs, s.body)),
            ("ICD-10-CM", markup_para(icd, s.body)),
        ]
        pairs += self._claim_pairs()
        return [KeepTogether([self._heading("Billing"), self._fields(pairs)])]

    def _claim_pairs(self) -> list[tuple[str, Flowable | str]]:
        """Claim lines with their modifiers (JW/JZ, GA/GZ) and what decided them."""
        s = self._get_stylesheet()
        billing = self.evaluation.billing
        if billing is None:
            return []
        pairs: list[tuple[str, Flowable | str]] = []
        if billing.dry_needled_muscles and self.evaluation.cpt in ("20552", "20553"):
            pairs.append(
                (
                    "Dry needling",
                    "Not part of the TPI code: " + ", ".join(billing.dry_needled_muscles),
                )
            )
        claim = []
        for line in billing.lines:
            modifiers = f"-{'-'.join(line.modifiers)}" if line.modifiers else ""
            pointers = ",".join(str(p) for p in line.diagnosis_pointers) or "—"
            extra = " (discarded, single-dose container)" if line.discarded else ""
            ndc = f", NDC {markup(line.ndc)}" if line.ndc else ""
            claim.append(
                f"<b>{line.code}{modifiers} × {line.units}</b>{extra}{ndc}; "
                f"diagnosis pointer {pointers}"
            )
        if claim:
            pairs.append(("Claim lines", markup_para("<br/>".join(claim), s.body)))
        if billing.coverage_warnings:
            if billing.non_coverage_modifier is not None:
                abn = f"<b>{billing.non_coverage_modifier}</b> — " + (
                    "ABN on file" if self.procedure.abn_on_file else "no ABN on file"
                )
            else:
                abn = "Not recorded (GA if an ABN is on file, GZ if not)"
            abn += " — coverage warnings: " + ", ".join(billing.coverage_warnings)
            pairs.append(("ABN", markup_para(abn, s.body)))
        if billing.problems:
            pairs.append(
                ("Claim problems", markup_para("<br/>".join(map(markup, billing.problems)), s.body))
            )
        return pairs

    def _warnings_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        signature = self.procedure.signature
        acknowledged = {a.code: a for a in signature.acknowledged_warnings} if signature else {}
        messages: dict[str, Any] = {w.code: w for w in self.evaluation.warnings}
        flow: list[Flowable] = [self._heading("Warnings")]
        rows: list[list[Flowable | str]] = []
        for code, ack in acknowledged.items():
            warning = messages.get(code)
            sites = site_ranges(ack.sites)
            text = markup(warning.message if warning else code)
            rows.append(
                [
                    markup_para(
                        f'<font color="#166534"><b>Acknowledged</b></font><br/>{markup(code)}',
                        s.cell,
                    ),
                    sites,
                    markup_para(f"{text}<br/><i>Reason: {markup(ack.reason)}</i>", s.cell),
                ]
            )
        for warning in self.evaluation.warnings:
            if warning.code in acknowledged:
                continue
            rows.append(
                [
                    markup_para(
                        f'<font color="#c2410c"><b>Open</b></font><br/>{markup(warning.code)}',
                        s.cell,
                    ),
                    site_ranges(warning.sites),
                    warning.message,
                ]
            )
        if not rows:
            flow.append(text_para("No warnings.", s.body))
            return [KeepTogether(flow)]
        # Wide enough for the longest code on one line (allergy_cross_reactivity).
        codes = [w.code for w in self.evaluation.warnings] + list(acknowledged)
        longest = max((stringWidth(code, SANS, s.cell.fontSize) for code in codes), default=0.0)
        widths = [max(100.0, longest + 12.0), 48.0]
        widths.append(self.content_width - sum(widths))
        flow.append(self._grid(["Status / code", "Sites", "Warning"], rows, widths))
        return flow

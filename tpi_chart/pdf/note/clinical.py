"""The clinical sections: indication and diagnoses, the session (initial or repeat, with the
relief the payers ask for), consent, safety screen and time-out, and the outcome."""

from __future__ import annotations

from datetime import date

from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from tpi_chart.domain.diagnoses import load_diagnoses
from tpi_chart.domain.models import ConservativeTherapy
from tpi_chart.domain.presentation import COMPLICATION_WORDS, NOT_DOCUMENTED, TOLERANCE_WORDS
from tpi_chart.pdf.fonts import markup
from tpi_chart.pdf.note.base import NoteBase
from tpi_chart.pdf.note.text import (
    format_datetime,
    format_number,
    markup_para,
    relief_text,
    text_para,
)

CHECK = "✓"


CROSS = "✗"


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _therapy_text(item: ConservativeTherapy) -> str:
    dates = " to ".join(part for part in (_day(item.started), _day(item.ended)) if part)
    text = item.therapy + (f" ({dates})" if dates else "")
    return text + (f": {item.response}" if item.response else "")


class ClinicalSections(NoteBase):
    def _indication_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        procedure = self.procedure
        names = load_diagnoses()
        diagnoses = (
            "<br/>".join(markup(names.label(code)) for code in procedure.diagnoses)
            if procedure.diagnoses
            else NOT_DOCUMENTED
        )
        payer = self.catalog.payers.get(procedure.payer_profile)
        coverage = payer.name if payer else procedure.payer_profile
        member = self.document.patient.member_id
        if member and procedure.payer_profile == self.document.patient.payer_profile:
            coverage += f" · member id {member}"
        history = procedure.history
        onset = NOT_DOCUMENTED
        referral = NOT_DOCUMENTED
        therapy = NOT_DOCUMENTED
        rehab = NOT_DOCUMENTED
        if history is not None:
            parts = [part for part in (history.onset, _day(history.onset_date)) if part]
            onset = "; ".join(parts) or NOT_DOCUMENTED
            referral = history.referral_pattern or NOT_DOCUMENTED
            therapy = (
                "<br/>".join(markup(_therapy_text(item)) for item in history.conservative_therapy)
                or NOT_DOCUMENTED
            )
            rehab = history.rehab_program or NOT_DOCUMENTED
        functional = (
            "; ".join(
                f"{score.label} {format_number(score.score, 1)}"
                + (f" ({score.measured_on.isoformat()})" if score.measured_on else "")
                for score in procedure.functional_scores
            )
            or NOT_DOCUMENTED
        )
        pairs: list[tuple[str, Flowable | str]] = [
            ("Diagnoses (ICD-10-CM)", markup_para(diagnoses, s.body)),
            ("Coverage", coverage),
            ("Session", self._session_text()),
            ("Onset", onset),
            ("Referral pattern", referral),
            ("Rehabilitation programme", rehab),
            ("Prior conservative therapy", markup_para(therapy, s.body)),
            ("Functional scale", functional),
        ]
        flow: list[Flowable] = [self._heading("Indication and diagnoses")]
        flow.append(text_para(procedure.indication or "Indication: Not documented", s.body))
        if history is not None and history.notes:
            flow.append(text_para(history.notes, s.body))
        flow.append(Spacer(1, 4))
        flow.append(self._fields(pairs))
        return flow

    def _session_text(self) -> str:
        """Initial or repeat, and for a repeat the relief after the previous session with its
        duration, scale and the date it was measured (the LCDs' repeat criterion)."""
        procedure = self.procedure
        priors = self.document.prior_procedures
        if procedure.prior_relief_percent is not None:
            relief = relief_text(
                procedure.prior_relief_percent,
                procedure.prior_relief_weeks,
                procedure.prior_relief_scale,
                procedure.prior_relief_measured_on,
            )
        elif priors:
            latest = max(priors, key=lambda prior: prior.performed_at)
            if latest.relief_percent is None:
                relief = "relief after it: Not documented"
            else:
                relief = relief_text(
                    latest.relief_percent,
                    latest.relief_weeks,
                    latest.relief_scale,
                    latest.relief_measured_on,
                )
                if latest.functional_change:
                    relief += f"; function: {latest.functional_change}"
        else:
            return "Initial session (no earlier session recorded)"
        if priors:
            latest = max(priors, key=lambda prior: prior.performed_at)
            return f"Repeat; previous session {latest.performed_at.date().isoformat()}: {relief}"
        return f"Repeat: {relief}"

    def _pre_procedure_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        procedure = self.procedure
        patient = self.document.patient

        def line(ok: bool, text: str) -> str:
            mark = (
                f'<font color="#166534">{CHECK}</font>'
                if ok
                else f'<font color="#c2410c">{CROSS}</font>'
            )
            return f"{mark} {markup(text)}"

        consent = procedure.consent
        if consent is None:
            consent_lines = [line(False, "Consent not documented")]
        else:
            method = f" ({consent.method})" if consent.method else ""
            consent_lines = [
                line(
                    consent.obtained,
                    f"Consent obtained{method}" if consent.obtained else "Consent NOT obtained",
                )
            ]
            if consent.risks_discussed:
                consent_lines.append(
                    markup("Risks discussed: " + ", ".join(consent.risks_discussed))
                )
            if consent.obtained_by:
                consent_lines.append(markup(f"By {consent.obtained_by}"))
            if consent.at is not None:
                consent_lines.append(markup(f"At {format_datetime(consent.at)}"))

        screen = procedure.safety_screen
        if screen is None:
            screen_lines = [line(False, "Safety screen not documented")]
        else:
            screen_lines = [
                line(screen.anticoagulation_reviewed, "Anticoagulation reviewed"),
                line(screen.bleeding_disorder_excluded, "Bleeding disorder excluded"),
                line(screen.infection_at_site_excluded, "No infection at sites"),
                line(screen.allergies_reviewed, "Allergies reviewed"),
                line(screen.pregnancy_reviewed, "Pregnancy status reviewed"),
                line(screen.prior_reaction_reviewed, "Prior reactions reviewed"),
            ]
            if screen.notes:
                screen_lines.append(markup(screen.notes))
        facts = [
            f"Weight {format_number(patient.weight_kg, 1)} kg"
            if patient.weight_kg
            else "Weight not recorded",
            "Allergies: "
            + (", ".join(patient.allergies) if patient.allergies else "none recorded"),
            "Anticoagulated: "
            + (
                f"yes ({patient.anticoagulant})"
                if patient.anticoagulated and patient.anticoagulant
                else "yes"
                if patient.anticoagulated
                else "no"
            ),
        ]
        if patient.pregnant is not None:
            facts.append("Pregnant: " + ("yes" if patient.pregnant else "no"))
        screen_lines += [markup(fact) for fact in facts]

        time_out = procedure.time_out
        if time_out is None:
            time_out_lines = [line(False, "Time-out not documented")]
        else:
            time_out_lines = [
                markup(f"Confirmed by {time_out.performed_by}"),
                markup(f"At {format_datetime(time_out.at)}"),
            ]
            if time_out.elements:
                # What was shown and confirmed, word for word.
                time_out_lines += [line(True, element) for element in time_out.elements]
            else:  # recorded before the time-out showed its elements
                time_out_lines += [
                    line(time_out.patient_identity_confirmed, "Correct patient"),
                    line(time_out.procedure_confirmed, "Correct procedure"),
                    line(time_out.site_and_side_confirmed, "Correct sites and sides"),
                    line(time_out.consent_confirmed, "Consent confirmed"),
                    line(time_out.position_confirmed, "Position confirmed"),
                    line(time_out.safety_precautions_confirmed, "Safety precautions"),
                ]
        if time_out is not None and time_out.site_marked is None and not time_out.elements:
            time_out_lines.append(markup("Site marking: Not documented"))

        def column(title: str, lines: list[str]) -> list[Flowable]:
            return [
                text_para(title.upper(), s.label),
                *[markup_para(text, s.small) for text in lines],
            ]

        width = self.content_width / 3
        table = Table(
            [
                [
                    column("Consent", consent_lines),
                    column("Safety screen", screen_lines),
                    column("Time-out (Universal Protocol)", time_out_lines),
                ]
            ],
            colWidths=[width] * 3,
        )
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 10),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return [KeepTogether([self._heading("Consent, safety screen and time-out"), table])]

    def _outcome_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        procedure = self.procedure
        before = "—" if procedure.pain_before is None else str(procedure.pain_before)
        after = "—" if procedure.pain_after is None else str(procedure.pain_after)
        pain = markup_para(
            f'<font size="13"><b>{before} → {after}</b></font>  <font color="#5b6470">'
            "NRS 0–10, before → after</font>",
            s.body,
        )
        if procedure.complications is None:
            complications = NOT_DOCUMENTED
        elif not procedure.complications:
            complications = "None"
        else:
            complications = ", ".join(
                COMPLICATION_WORDS[c] for c in procedure.complications
            ).capitalize()
        if procedure.complication_notes:
            complications += f". {procedure.complication_notes}"
        tolerance = TOLERANCE_WORDS[procedure.tolerance] if procedure.tolerance else NOT_DOCUMENTED
        if procedure.observed_minutes is not None:
            tolerance += f"; observed {procedure.observed_minutes} min after the procedure"
        aftercare = (
            "Written instructions given: activity, soreness, warning signs, when to call"
            if procedure.aftercare_given
            else "Aftercare instructions not documented"
        )
        if procedure.aftercare_notes:
            aftercare += f". {procedure.aftercare_notes}"
        pairs: list[tuple[str, Flowable | str]] = [
            ("Pain score", pain),
            ("Complications", complications),
            ("Tolerance", tolerance),
            ("Aftercare", aftercare),
            ("Follow-up", procedure.follow_up or NOT_DOCUMENTED),
        ]
        flow: list[Flowable] = [
            self._heading("Outcome, aftercare and follow-up"),
            self._fields(pairs),
        ]
        if procedure.notes:
            flow.append(text_para(procedure.notes, s.body))
        return [KeepTogether(flow)]

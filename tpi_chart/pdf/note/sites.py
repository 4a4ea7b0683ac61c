"""The procedure and its sites: the procedure fields, the body diagram with its legend (from
the presentation spec, so it names only what the markers show) and the site table."""

from __future__ import annotations

from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from tpi_chart.domain.catalog import UNSPECIFIED
from tpi_chart.domain.diagram import VIEW_IDS, computed_location, default_position, load_diagram
from tpi_chart.domain.presentation import (
    GUIDANCE_WORDS,
    NOT_DOCUMENTED,
    PNEUMOTHORAX_FLAG,
    POSITION_WORDS,
    RISK_COLOUR,
    SKIN_PREP_WORDS,
    TECHNIQUE_WORDS,
    TWITCH_WORDS,
    UNCODED_COLOUR,
    UNCODED_FLAG,
    MarkerFeature,
    legend_entries,
    marker_specs,
)
from tpi_chart.pdf.diagram import DRAWN_FEATURES, DiagramPanel, Marker
from tpi_chart.pdf.fonts import SANS_BOLD, markup
from tpi_chart.pdf.note.base import NoteBase
from tpi_chart.pdf.note.text import (
    findings_text,
    format_number,
    markup_para,
    needle_text,
    side_name,
    text_para,
)

#: How the printed legend draws each marker feature: a glyph and its colour (pdf.diagram).
LEGEND_GLYPHS: dict[MarkerFeature, tuple[str, str]] = {
    "planned": ("○", "#1f4e79"),
    "injected": ("●", "#1f4e79"),
    "pneumothorax_risk": ("◯", RISK_COLOUR),
    "uncoded": ("◌", UNCODED_COLOUR),
}


MIN_FINDINGS_WIDTH = 90.0


class SiteSections(NoteBase):
    def _procedure_pairs(self) -> list[tuple[str, Flowable | str]]:
        procedure = self.procedure
        technique = (
            ", ".join(TECHNIQUE_WORDS[t] for t in procedure.technique).capitalize()
            if procedure.technique
            else NOT_DOCUMENTED
        )
        pairs: list[tuple[str, Flowable | str]] = [
            (
                "Position",
                POSITION_WORDS[procedure.position] if procedure.position else NOT_DOCUMENTED,
            ),
            (
                "Skin prep",
                SKIN_PREP_WORDS[procedure.skin_prep] if procedure.skin_prep else NOT_DOCUMENTED,
            ),
            ("Needle", needle_text(procedure.needle)),
            ("Technique", technique),
            ("Image guidance", GUIDANCE_WORDS[procedure.image_guidance]),
            ("Sites", self._site_summary()),
        ]
        return pairs

    def _site_summary(self) -> str:
        injected = len(self.procedure.injected_sites)
        planned = len(self.procedure.sites) - injected
        dry = sum(1 for site in self.procedure.injected_sites if site.dry_needling)
        text = f"{injected - dry} injected in {self.evaluation.muscle_count} muscles"
        if dry:
            text += (
                f"; {dry} dry-needled (no injectate) in "
                f"{self.evaluation.dry_needled_muscle_count} muscles"
            )
        if planned:
            text += f"; {planned} planned, not injected"
        return text

    def _markers_by_view(self) -> tuple[dict[str, list[Marker]], list[int]]:
        by_view: dict[str, list[Marker]] = {}
        unplaced: list[int] = []
        specs = marker_specs(self.procedure, self.catalog)
        for spec, site in zip(specs, self.procedure.sites, strict=True):
            approximate = site.view is None or site.x is None or site.y is None
            if not approximate:
                position: tuple[str, float, float] | None = (site.view, site.x, site.y)  # type: ignore[assignment]
            else:
                position = default_position(site.muscle, site.side)
            if position is None:
                unplaced.append(spec.number)
                continue
            view, x, y = position
            by_view.setdefault(view, []).append(
                Marker(spec, x, y, site.muscle, site.side, approximate)
            )
        return by_view, unplaced

    def _diagram_table(self, max_width: float) -> tuple[Table | None, float]:
        """The panels of the views used, side by side, at most ``max_width`` wide."""
        by_view, _ = self._markers_by_view()
        diagram = load_diagram()
        views = [v for v in VIEW_IDS if v in by_view]
        # The patient's pain drawing: its own panels beside the injection map.
        drawing = self.procedure.pain_drawing
        strokes = drawing.strokes if drawing is not None else ()
        pain_views = [v for v in VIEW_IDS if any(s.view == v for s in strokes)]
        if not views and not pain_views:
            return None, 0.0
        height = self.diagram_height
        gap = 14.0
        gaps = gap * (len(views) + len(pain_views) - 1)

        def build(height: float) -> list[DiagramPanel]:
            return [DiagramPanel(diagram.views[v], by_view[v], height) for v in views] + [
                DiagramPanel(
                    diagram.views[v], [], height, strokes, f"PAIN: {diagram.views[v].title.upper()}"
                )
                for v in pain_views
            ]

        panels = build(height)
        total = sum(p.width for p in panels) + gaps
        if total > max_width:
            height = height * (max_width - gaps) / (total - gaps)
            panels = build(height)
        cells: list[Any] = []
        widths: list[float] = []
        for index, panel in enumerate(panels):
            if index:
                cells.append("")
                widths.append(gap)
            cells.append(panel)
            widths.append(panel.width)
        table = Table([cells], colWidths=widths, hAlign="CENTER")
        table.setStyle(
            TableStyle(
                [
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ]
            )
        )
        return table, sum(widths)

    def _legend(self) -> Flowable:
        s = self._get_stylesheet()
        by_view, unplaced = self._markers_by_view()
        specs = [marker.spec for markers in by_view.values() for marker in markers]
        # Only what the diagram shows, named as the screen names it (domain.presentation).
        keys = [
            f'<font color="{LEGEND_GLYPHS[entry.feature][1]}">'
            f"{LEGEND_GLYPHS[entry.feature][0]}</font> {markup(entry.label)}"
            for entry in legend_entries(specs, DRAWN_FEATURES)
        ]
        legend = "&nbsp;&nbsp; ".join(keys) + (". " if keys else "")
        legend += "L / R: the patient's left / right. Numbers match the site table."
        if self.procedure.pain_drawing is not None:
            legend += (
                " Pain drawing: where the patient shaded the pain before the procedure"
                " (light = aching, dark = severe)."
            )
        if unplaced:
            legend += (
                " Not on the diagram (no zone for the muscle): "
                + ", ".join(f"#{n}" for n in unplaced)
                + "."
            )
        return markup_para(legend, s.muted)

    def _agent_columns(self) -> list[str]:
        """Agents shown with a mg column: every non-diluent agent used, in preparation order."""
        agents: list[str] = []
        for preparation in self.procedure.preparations:
            for component in preparation.components:
                agent = self.catalog.agents[component.agent]
                if agent.agent_class != "diluent" and component.agent not in agents:
                    agents.append(component.agent)
        return agents

    def _site_table(self) -> Flowable:
        s = self._get_stylesheet()
        agents = self._agent_columns()
        results = {result.number: result for result in self.evaluation.sites}
        agent_widths = [
            max(42.0, stringWidth(self._agent_short_name(a), SANS_BOLD, 7.5) + 10) for a in agents
        ]
        fixed = [20.0, 118.0, 38.0, 30.0, 28.0, *agent_widths, 38.0]
        if self.content_width - sum(fixed) < MIN_FINDINGS_WIDTH:
            # Too many drugs for a column each (found with five agents in two syringes): one
            # column lists each site's doses, so the table always fits the page.
            return self._site_table_doses_listed()
        header = ["#", "Muscle", "Side", "Prep", "mL"]
        header += [f"{self._agent_short_name(a)} mg" for a in agents]
        header += ["Twitch", "Findings"]
        widths = [*fixed, self.content_width - sum(fixed)]
        right = [4, *range(5, 5 + len(agents))]
        rows: list[list[Flowable | str]] = []
        muted: list[int] = []
        totals_ml = 0.0
        totals_mg = dict.fromkeys(agents, 0.0)
        for number, site in enumerate(self.procedure.sites, start=1):
            result = results.get(number)
            injected = site.state == "injected"
            muscle = markup(self.catalog.muscle_name(site.muscle))
            if result is not None and result.ptx_risk:
                muscle += f' <font color="{RISK_COLOUR}" size="6.5">{PNEUMOTHORAX_FLAG}</font>'
            if site.muscle == UNSPECIFIED:
                muscle += f' <font color="{UNCODED_COLOUR}" size="6.5">{UNCODED_FLAG}</font>'
            location = site.location or computed_location(site.view, site.x, site.y, site.side)
            if location:
                muscle += f'<br/><font color="#5b6470" size="6.5">{markup(location)}</font>'
            doses = {dose.agent: dose.mg for dose in result.doses} if result is not None else {}
            row: list[Flowable | str] = [
                str(number),
                markup_para(muscle, s.cell),
                side_name(site.side),
                site.preparation or "—",
                format_number(site.volume_ml) if injected and site.volume_ml is not None else "—",
            ]
            for agent in agents:
                mg = doses.get(agent) if injected else None
                row.append(format_number(mg, 1) if mg is not None else "—")
                if mg is not None:
                    totals_mg[agent] += mg
            row.append(TWITCH_WORDS[site.twitch] if site.twitch and injected else "—")
            findings = findings_text(site)
            if injected and site.dry_needling:
                findings = f"Dry needling (no injectate). {findings}".strip()
            if not injected:
                row.append(
                    markup_para(f"<i>Planned — not injected.</i> {markup(findings)}", s.muted)
                )
                muted.append(number)
            else:
                row.append(findings or "—")
            if injected and site.volume_ml is not None:
                totals_ml += site.volume_ml
            rows.append(row)
        total_row: list[Flowable | str] = [
            "",
            markup_para("<b>Total injected</b>", s.cell),
            "",
            "",
            markup_para(f"<b>{format_number(totals_ml)}</b>", s.cell_right),
        ]
        exact = {total.agent: total.mg for total in self.evaluation.totals}
        for agent in agents:
            total_row.append(
                markup_para(
                    f"<b>{format_number(exact.get(agent, totals_mg[agent]), 1)}</b>", s.cell_right
                )
            )
        total_row += ["", ""]
        rows.append(total_row)
        return self._grid(
            header, rows, widths, right_columns=right, total_row=True, muted_rows=muted
        )

    def _site_table_doses_listed(self) -> Flowable:
        s = self._get_stylesheet()
        results = {result.number: result for result in self.evaluation.sites}
        header = ["#", "Muscle", "Side", "Prep", "mL", "Doses (mg)", "Twitch", "Findings"]
        fixed = [20.0, 110.0, 38.0, 30.0, 28.0, 130.0, 38.0]
        widths = [*fixed, self.content_width - sum(fixed)]
        rows: list[list[Flowable | str]] = []
        muted: list[int] = []
        totals_ml = 0.0
        for number, site in enumerate(self.procedure.sites, start=1):
            result = results.get(number)
            injected = site.state == "injected"
            doses = result.doses if result is not None and injected else ()
            listed = ", ".join(
                f"{self._agent_short_name(dose.agent)} {format_number(dose.mg, 1)}"
                for dose in doses
                if self.catalog.agents[dose.agent].agent_class != "diluent"
            )
            findings = findings_text(site)
            rows.append(
                [
                    str(number),
                    markup_para(markup(self.catalog.muscle_name(site.muscle)), s.cell),
                    side_name(site.side),
                    site.preparation or "—",
                    format_number(site.volume_ml)
                    if injected and site.volume_ml is not None
                    else "—",
                    text_para(listed or "—", s.cell),
                    TWITCH_WORDS[site.twitch] if site.twitch and injected else "—",
                    (findings or "—")
                    if injected
                    else markup_para(f"<i>Planned — not injected.</i> {markup(findings)}", s.muted),
                ]
            )
            if not injected:
                muted.append(number)
            elif site.volume_ml is not None:
                totals_ml += site.volume_ml
        totals = ", ".join(
            f"{self._agent_short_name(total.agent)} {format_number(total.mg, 1)}"
            for total in self.evaluation.totals
            if self.catalog.agents[total.agent].agent_class != "diluent"
        )
        rows.append(
            [
                "",
                markup_para("<b>Total injected</b>", s.cell),
                "",
                "",
                markup_para(f"<b>{format_number(totals_ml)}</b>", s.cell_right),
                markup_para(f"<b>{markup(totals) or '—'}</b>", s.cell),
                "",
                "",
            ]
        )
        return self._grid(header, rows, widths, right_columns=[4], total_row=True, muted_rows=muted)

    def _procedure_and_sites_section(self) -> list[Flowable]:
        """Procedure details and the diagram side by side when the diagram is narrow (one or two
        views), else stacked; then the site table, which may break across pages (its header
        row repeats)."""
        s = self._get_stylesheet()
        pairs = self._procedure_pairs()
        if not self.procedure.sites and self.procedure.pain_drawing is None:
            return [
                KeepTogether([self._heading("Procedure"), self._fields(pairs)]),
                self._heading("Injection sites"),
                text_para("No sites recorded.", s.body),
            ]
        panels, width = self._diagram_table(self.content_width)
        flow: list[Flowable] = []
        if panels is not None and width <= self.content_width * 0.55:
            gutter = 18.0
            right_width = self.content_width - width - gutter
            right = [
                self._fields(pairs, columns=2, width=right_width),
                Spacer(1, 6),
                self._legend(),
            ]
            combo = Table([[panels, "", right]], colWidths=[width, gutter, right_width])
            combo.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                        ("TOPPADDING", (0, 0), (-1, -1), 4),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                    ]
                )
            )
            head: list[Flowable] = [
                self._heading("Procedure and injection sites"),
                combo,
                Spacer(1, 10),
            ]
        else:
            flow.append(KeepTogether([self._heading("Procedure"), self._fields(pairs)]))
            head = [self._heading("Injection sites")]
            if panels is not None:
                head += [Spacer(1, 4), panels]
            head += [Spacer(1, 3), self._legend(), Spacer(1, 8)]
        table = (
            self._site_table() if self.procedure.sites else text_para("No sites recorded.", s.body)
        )
        flow += [KeepTogether(head), table]
        return flow

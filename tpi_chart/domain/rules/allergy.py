"""Allergies: matching a recorded allergy to an agent (its synonyms, parent and class), the
conflict warning and the chemical-class cross-reactivity warning."""

from __future__ import annotations

import re

from tpi_chart.domain.catalog import Agent, Catalog, load_catalog
from tpi_chart.domain.models import Site
from tpi_chart.domain.rules.context import RuleContext, join_words, site_list, sites_word
from tpi_chart.domain.rules.results import RuleWarning, Unverified

_STOP_WORDS = frozenset(
    {"a", "an", "and", "the", "of", "to", "with", "hcl", "allergy", "allergic", "reaction"}
)


def _tokens(text: str) -> frozenset[str]:
    """Words of a drug or allergy name, lower case, singular, British 'anaesth' folded."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("anaesth", "anesth"))
    tokens: set[str] = set()
    for word in words:
        if word in _STOP_WORDS or word.isdigit():
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.add(word)
    return frozenset(tokens)


def _agent_terms(agent: Agent, catalog: Catalog) -> list[frozenset[str]]:
    names = [agent.id.replace("_", " "), agent.name, *agent.synonyms, *agent.allergy_classes]
    parent = catalog.agents.get(agent.parent) if agent.parent else None
    if parent is not None:
        names += [parent.id.replace("_", " "), parent.name, *parent.synonyms]
    return [terms for terms in (_tokens(name) for name in names) if terms]


def allergy_matches(allergy: str, agent: Agent, catalog: Catalog | None = None) -> bool:
    """Whether a recorded allergy names this agent, a synonym, its parent or its allergy class.

    Whole words are compared, so 'amide' matches 'amide local anesthetic' but 'sulfonamides' does
    not. A match is either every word of the allergy within one name of the agent ('amide
    anesthetics' ⊆ 'amide local anesthetic') or every word of a name within the allergy ('lidocaine
    and latex' ⊇ 'lidocaine').
    """
    words = _tokens(allergy)
    if not words:
        return False
    terms = _agent_terms(agent, catalog or load_catalog())
    return any(words <= term or term <= words for term in terms)


def allergy_warnings(context: RuleContext, numbered: list[tuple[int, Site]]) -> list[RuleWarning]:
    allergies = context.document.patient.allergies
    if not allergies:
        return []
    warnings: list[RuleWarning] = []
    checked: set[str] = set()
    for preparation in context.procedure.preparations:
        for component in preparation.components:
            if component.agent in checked:
                continue
            checked.add(component.agent)
            agent = context.catalog.agents[component.agent]
            matched = [a for a in allergies if allergy_matches(a, agent, context.catalog)]
            if not matched:
                continue
            preparations = [
                p.id
                for p in context.procedure.preparations
                if any(c.agent == component.agent for c in p.components)
            ]
            sites = tuple(number for number, site in numbered if site.preparation in preparations)
            quoted = join_words([f"“{a}”" for a in matched])
            where = f" ({sites_word(sites)} {site_list(sites)})" if sites else ""
            warnings.append(
                RuleWarning(
                    code="allergy_conflict",
                    message=(
                        f"Allergy conflict: recorded allergy {quoted} matches {agent.name} in "
                        f"preparation {join_words(preparations)}{where}."
                    ),
                    sites=sites,
                )
            )
    return warnings


def _agents_in_preparations(context: RuleContext) -> list[str]:
    agents: list[str] = []
    for preparation in context.procedure.preparations:
        for component in preparation.components:
            if component.agent not in agents:
                agents.append(component.agent)
    return agents


def _preparations_with(context: RuleContext, agent: str) -> list[str]:
    return [
        p.id for p in context.procedure.preparations if any(c.agent == agent for c in p.components)
    ]


def cross_reactivity_warnings(
    context: RuleContext, numbered: list[tuple[int, Site]], unverified: list[Unverified]
) -> list[RuleWarning]:
    allergies = context.document.patient.allergies
    rule = context.catalog.formulary_rules.cross_reactivity
    if not allergies:
        return []
    warnings: list[RuleWarning] = []
    for agent_id in _agents_in_preparations(context):
        agent = context.catalog.agents[agent_id]
        klass = agent.chemical_class
        if klass is None or klass not in rule.classes:
            continue
        if any(allergy_matches(a, agent, context.catalog) for a in allergies):
            continue  # the same agent or its class: allergy_conflict says so
        related: list[str] = []
        for allergy in allergies:
            for other in context.catalog.agents.values():
                if (
                    other.id != agent_id
                    and other.chemical_class == klass
                    and allergy_matches(allergy, other, context.catalog)
                ):
                    related.append(f"“{allergy}” ({other.name})")
                    break
        if not related:
            continue
        preparations = _preparations_with(context, agent_id)
        sites = tuple(number for number, site in numbered if site.preparation in preparations)
        where = f" ({sites_word(sites)} {site_list(sites)})" if sites else ""
        warnings.append(
            RuleWarning(
                code="allergy_cross_reactivity",
                message=(
                    f"Possible cross-reactivity: recorded allergy {join_words(related)} is to an "
                    f"{klass} local anesthetic, and {agent.name} in preparation "
                    f"{join_words(preparations)}{where} is an {klass} too ({rule.source})."
                ),
                sites=sites,
            )
        )
        if not rule.verified:
            unverified.append(
                Unverified(
                    kind="cross_reactivity",
                    subject=klass,
                    value=f"allergy to one {klass} anesthetic flags the others",
                    source=rule.source,
                )
            )
    return warnings

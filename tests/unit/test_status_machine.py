"""The procedure's status changes only through `domain.status`: a Hypothesis state machine
drives random events against it and checks the invariants a clinician relies on."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tpi_chart.domain.status import (
    EVENTS,
    STATUSES,
    TRANSITIONS,
    IllegalTransition,
    event_between,
    next_status,
)


class ProcedureLife(RuleBasedStateMachine):
    """A procedure created planned (or imported as external) takes any sequence of events."""

    def __init__(self) -> None:
        super().__init__()
        self.status = "planned"
        self.history = ["planned"]
        self.refused = 0

    @rule(imported=st.booleans())
    def import_or_create(self, imported: bool) -> None:
        if len(self.history) == 1:  # only as the first step: a record is created once
            self.status = "external" if imported else "planned"
            self.history = [self.status]

    @rule(event=st.sampled_from(EVENTS))
    def apply(self, event: str) -> None:
        before = self.status
        if (before, event) not in TRANSITIONS:
            # Refused, naming the field for the clinician; the status stays.
            with pytest.raises(IllegalTransition, match=r"^procedure\.status: "):
                next_status(before, event)  # type: ignore[arg-type]
            self.refused += 1
            return
        after = next_status(before, event)  # type: ignore[arg-type]
        assert (before, event) in TRANSITIONS
        self.status = after
        self.history.append(after)

    @invariant()
    def signed_and_external_are_final(self) -> None:
        for index, status in enumerate(self.history):
            if status in ("signed", "external"):
                assert all(later == status for later in self.history[index:])

    @invariant()
    def only_signing_signs(self) -> None:
        for before, after in zip(self.history, self.history[1:], strict=False):
            if after == "signed":
                assert before in ("planned", "in_progress")

    @invariant()
    def known_status(self) -> None:
        assert self.status in STATUSES


TestProcedureLife = ProcedureLife.TestCase


@pytest.mark.parametrize("before", STATUSES)
@pytest.mark.parametrize("after", STATUSES)
def test_event_between_agrees_with_the_table(before: str, after: str) -> None:
    if before == after:
        assert event_between(before, after) is None  # type: ignore[arg-type]
        return
    events = [e for e in EVENTS if TRANSITIONS.get((before, e)) == after]  # type: ignore[index]
    if events:
        assert event_between(before, after) in events  # type: ignore[arg-type]
    else:
        with pytest.raises(IllegalTransition):
            event_between(before, after)  # type: ignore[arg-type]


def test_nothing_leaves_signed_or_external() -> None:
    for status in ("signed", "external"):
        for event in EVENTS:
            with pytest.raises(IllegalTransition, match="cannot"):
                next_status(status, event)  # type: ignore[arg-type]


def test_start_is_idempotent_once_in_progress() -> None:
    assert next_status("planned", "start") == "in_progress"
    assert next_status("in_progress", "start") == "in_progress"
    assert next_status("in_progress", "unstart") == "planned"

"""A batch of absence events applies exactly as the same events one by one would.

The rules (DESIGN.md §5, API "idempotent by the source's event id") are written out again
below as a plain model over a dict, and random event sequences are checked against it, in
one batch and one event at a time.
"""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.attendance.services import (
    PRESENT,
    AbsenceEvent,
    AbsenceSpec,
    absence_record,
    absences_record_many,
)
from lastbell.audit.models import AuditEvent

DATES = [dt.date(2026, 11, 16), dt.date(2026, 11, 17), dt.date(2026, 11, 18)]
KINDS = ["absent", "early_departure", PRESENT]

specs = st.builds(
    lambda student, date, kind, excused, reason, event: (student, date, kind, excused, reason,
                                                         event),  # fmt: skip
    st.integers(0, 1), st.sampled_from(DATES), st.sampled_from(KINDS), st.booleans(),
    st.sampled_from(["", "Flu"]), st.sampled_from(["", "e1", "e2", "e3"]),
)  # fmt: skip


def model(state: dict, events) -> list[str]:
    """The rules, written plainly: state maps (student, date) → [kind, excused, reason, id]."""
    outcomes = []
    for student, date, kind, excused, reason, event in events:
        slot = (student, date)
        if kind == PRESENT:
            outcomes.append("withdrawn" if state.pop(slot, None) else "none")
            continue
        named = next((s for s, a in state.items() if event and a[3] == event), None)
        moved = named is not None and named != slot
        if moved:
            state.pop(slot, None)  # the day's own absence gives way to the corrected one
            state[slot] = state.pop(named)
        current = state.get(slot)
        fields = [kind, excused, reason, event or (current[3] if current else "")]
        if current is None:
            state[slot] = fields
            outcomes.append("created")
        elif current == fields and not moved:
            outcomes.append("kept")
        else:
            state[slot] = fields
            outcomes.append("updated")
    return outcomes


def events_of(pupils, raw):
    return [
        AbsenceEvent(pupils[s].pk, pupils[s].school_id, pupils[s].full_name, AbsenceSpec(
            date=date, kind=kind, excused=excused, reason=reason,
            departs_at=dt.time(13, 15) if kind == "early_departure" else None,
        ), event)
        for s, date, kind, excused, reason, event in raw
    ]  # fmt: skip


def stored(pupils) -> dict:
    index = {p.pk: n for n, p in enumerate(pupils)}
    return {
        (index[a.student_id], a.date): [a.kind, a.excused, a.reason, a.external_id]
        for a in Absence.objects.filter(student__in=pupils)
    }


@pytest.fixture
def pupils(school):
    return [testing.make_student(school, first="Ana"), testing.make_student(school, first="Ben")]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(before=st.lists(specs, max_size=6), events=st.lists(specs, max_size=12),
       one_by_one=st.booleans())  # fmt: skip
def test_a_batch_follows_the_rules_event_by_event(school, pupils, before, events, one_by_one):
    district_id = school.district_id
    with transaction.atomic():
        absences_record_many(events_of(pupils, before), district_id=district_id)
        if one_by_one:
            got = [o for e in events_of(pupils, events)
                   for _, o in absences_record_many([e], district_id=district_id)]  # fmt: skip
        else:
            got = [o for _, o in absences_record_many(events_of(pupils, events),
                                                      district_id=district_id)]  # fmt: skip
        state = {}
        model(state, before)
        assert got == model(state, events)
        assert stored(pupils) == state
        transaction.set_rollback(True)


def test_each_change_has_its_audit_event_and_a_kept_one_none(school, student):
    spec = AbsenceSpec(date=DATES[0], reason="Flu")
    event = AbsenceEvent(student.pk, school.pk, student.full_name, spec, "e1")
    with transaction.atomic():
        absences_record_many([event, event], district_id=school.district_id)
    assert list(AuditEvent.objects.values_list("action", "target_id", "student_id")) == [
        ("attendance.absence.created", str(Absence.objects.get().pk), student.pk)
    ]


def test_the_single_event_service_moves_a_corrected_event(school, student):
    first, _ = absence_record(student=student, spec=AbsenceSpec(date=DATES[0]), event_id="e9")
    own, _ = absence_record(student=student, spec=AbsenceSpec(date=DATES[1]), event_id="e10")
    moved, outcome = absence_record(student=student, spec=AbsenceSpec(date=DATES[1]),
                                    event_id="e9")  # fmt: skip
    assert (moved.pk, outcome) == (first.pk, "updated")
    assert list(Absence.objects.values_list("pk", "date")) == [(first.pk, DATES[1])]


@pytest.mark.django_db(transaction=True)
def test_a_batch_needs_a_transaction(school, student):
    event = AbsenceEvent(student.pk, school.pk, "", AbsenceSpec(date=DATES[0]))
    with pytest.raises(RuntimeError, match="transaction"):
        absences_record_many([event], district_id=school.district_id)


@pytest.mark.parametrize("students", [5, 60])
def test_queries_do_not_grow_with_the_batch(school, students, django_assert_max_num_queries):
    pupils = [testing.make_student(school) for _ in range(students)]
    # Half exist already (updated), half are new (created).
    with transaction.atomic():
        absences_record_many(events_of(pupils, [(n, DATES[0], "absent", False, "", "")
                                                for n in range(0, students, 2)]),
                             district_id=school.district_id)  # fmt: skip
    raw = [(n, DATES[0], "absent", True, "Flu", f"e{n}") for n in range(students)]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        absences_record_many(events_of(pupils, raw), district_id=school.district_id)
    # event ids, slots, the update, the insert and the audit insert with its chain head (read
    # locked, written back); savepoints and planner settings aside.
    writes = [
        q
        for q in queries.captured_queries
        if "SAVEPOINT" not in q["sql"]
        and not q["sql"].startswith(("SELECT current_setting(", "SELECT set_config("))
    ]
    assert len(writes) <= 8, [q["sql"][:80] for q in writes]


def test_an_event_id_names_an_absence_of_its_own_district_only(school, student):
    elsewhere = testing.make_school(testing.make_district("Hill County"))
    theirs = testing.make_student(elsewhere)
    absence_record(student=theirs, spec=AbsenceSpec(date=DATES[0]), event_id="e1")
    ours, outcome = absence_record(student=student, spec=AbsenceSpec(date=DATES[1]),
                                   event_id="e1")  # fmt: skip
    assert outcome == "created"
    assert set(Absence.objects.values_list("student_id", "date")) == {
        (theirs.pk, DATES[0]), (student.pk, DATES[1])}  # fmt: skip

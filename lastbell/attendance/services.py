"""Writes of attendance: absences, tardies and early departures from the attendance system or
from staff, each with its audit event.

An absence is keyed by student and date (one per day). A source's event id, kept in
`external_id`, lets the source correct or delete what it sent; sending the same event again
changes nothing. What staff set in Last Bell (source "staff") is theirs: an import or the API
never overwrites or withdraws it (DESIGN.md §2 "Who set it"), and reports it as kept.
"""

import contextlib
import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from lastbell import live
from lastbell.attendance.codes import CodeMap, code_key
from lastbell.attendance.models import Absence, AttendanceCode, Category
from lastbell.audit.models import Via
from lastbell.audit.services import NotInTransaction, audit_event, audit_record, audit_saved
from lastbell.db import insert_rows
from lastbell.people.models import Student
from lastbell.plans.models import Source
from lastbell.schools.models import School

PART_DAY = ("tardy", "early_departure")


@dataclass
class AbsenceSpec:
    date: dt.date
    kind: str = Absence.Kind.ABSENT
    excused: bool = False
    departs_at: dt.time | None = None
    reason: str = ""
    minutes: int | None = None  # late (tardy) or missed (early departure)

    def fields(self) -> dict:
        departs = self.departs_at if self.kind == Absence.Kind.EARLY_DEPARTURE else None
        minutes = self.minutes if self.kind in PART_DAY else None
        return {"kind": self.kind, "excused": self.excused, "departs_at": departs,
                "minutes": minutes, "reason": self.reason.strip()[:200]}  # fmt: skip


def _snapshot(absence: Absence) -> dict:
    return {
        "date": absence.date.isoformat(), "kind": absence.kind, "excused": absence.excused,
        "departs_at": absence.departs_at.strftime("%H:%M") if absence.departs_at else None,
        "minutes": absence.minutes, "reason": absence.reason, "event": absence.external_id,
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class AbsenceEvent:
    """One event of a batch: the student's absence for `spec.date` as the source sends it,
    or (kind "present") the source withdrawing that day's absence."""

    student_id: int
    school_id: int
    name: str  # the student's, for the audit label
    spec: AbsenceSpec
    event_id: str = ""


PRESENT = "present"


def absence_record(
    *, student, spec: AbsenceSpec, event_id: str = "", source_detail: str = "", actor=None,
    via=Via.API, source: str = Source.IMPORT,
) -> tuple[Absence | None, str]:  # fmt: skip
    """Record or correct the student's absence for `spec.date`.

    Returns the absence and what happened: "created", "updated" or "kept" (the same event
    again), or "staff" (staff set that day in Last Bell: nothing changed). An event id that
    already names another day's absence moves it to this day. Staff (source "staff") may
    also send kind "present": the day's absence is withdrawn ("withdrawn", or "none").
    """
    event = AbsenceEvent(student.pk, student.school_id, student.full_name, spec, event_id)
    with transaction.atomic():
        ((row, outcome),) = absences_record_many(
            [event], district_id=student.school.district_id, source_detail=source_detail,
            actor=actor, via=via, source=source,
        )  # fmt: skip
    return (row.absence() if row is not None else None), outcome


def absences_record_many(
    events: list[AbsenceEvent], *, district_id: int, source_detail: str = "", actor=None,
    via=Via.IMPORT, each_audited: bool = True, source: str = Source.IMPORT,
) -> list[tuple["_Row | None", str]]:  # fmt: skip
    """`absence_record` for a batch of events, in a constant number of queries.

    Runs in the caller's transaction. Events apply in order, exactly as one `absence_record`
    after another would, each with its audit event — unless `each_audited` is False: a file
    import audits itself once, with its counts, as a million audit rows would cost more than
    the absences (the absences keep their source file). Each returns its absence (as a plain row:
    `.absence()` makes the model) and "created", "updated" or "kept"; kind "present" returns
    None and "withdrawn", or "none" when there was nothing to withdraw. With `source` other
    than "staff", a day staff set is left alone: its row and "staff".
    """
    if not transaction.get_connection().in_atomic_block:
        raise NotInTransaction("A batch of absences must be recorded in a transaction.")
    batch = _Batch(events, district_id, source_detail, source, actor)
    results = [batch.apply(event) for event in events]
    batch.write()
    # Bulk writes send no model signals: tell each school's open pages, after commit.
    for school_id in {event.school_id for event, *_ in batch.audit}:
        live.board_changed(school_id)
    if not each_audited:
        return results
    audit_saved(
        audit_event(
            action=f"attendance.absence.{action}", actor=actor, via=via,
            district_id=district_id, school_id=event.school_id, student_id=event.student_id,
            target_type="Absence", target_id=row.pk, before=before, after=after,
            label=f"{event.name}, {event.spec.date:%b %-d}", at=batch.now,
        )
        for event, row, action, before, after in batch.audit
    )  # fmt: skip
    return results


_FIELDS = ["kind", "excused", "departs_at", "minutes", "reason", "external_id", "source_detail"]
_COLUMNS = ["id", "student_id", "date", *_FIELDS, "source", "recorded_by_id", "created_at"]
# A staff edit also takes the row over (source and who); an import never changes these.
_UPDATED = [*_FIELDS, "source", "recorded_by_id"]


class _Row:
    """An absence as the batch handles it: a model instance per row would cost more than the
    database does for a million rows."""

    __slots__ = _COLUMNS

    def __init__(self, *values):
        for name, value in zip(_COLUMNS, values, strict=True):
            setattr(self, name, value)

    @property
    def pk(self):
        return self.id

    def absence(self) -> Absence:
        absence = Absence(**{name: getattr(self, name) for name in _COLUMNS})
        absence._state.adding = False
        return absence


class _Batch:
    """The absences a batch touches, changed in memory event by event, then written at once."""

    def __init__(self, events, district_id, source_detail, source, actor):
        self.source_detail = source_detail
        self.source = source
        self.by_staff = source == Source.STAFF
        self.recorded_by_id = actor.pk if self.by_staff and actor is not None else None
        self.dismissals: dict[int, list] | None = None  # school id → dismissal per weekday
        self.school_ids = {e.school_id for e in events}
        self.now = timezone.now()
        ids = sorted({e.event_id for e in events if e.event_id and e.spec.kind != PRESENT})
        # By event id alone, then the district of what was found: joined to the students in
        # one query, a planner that has not yet seen a big import's students walks them all.
        named = []
        with _by_index():
            for chunk in _chunks(ids, 2000):
                named += Absence.objects.filter(external_id__in_array=chunk).order_by() \
                    .values_list("pk", "student_id")  # fmt: skip
            here = set(Student.objects.filter(
                pk__in_array={student for _, student in named},
                school__district_id=district_id,
            ).values_list("pk", flat=True)) if named else set()  # fmt: skip
            found = {pk for pk, student in named if student in here}
            for chunk in _chunks(list({(e.student_id, e.spec.date) for e in events}), 2000):
                found.update(_at_slots(chunk))
        rows = []
        for chunk in _chunks(sorted(found), 2000):
            query = Absence.objects.filter(pk__in_array=chunk).order_by("pk")
            if connection.features.has_select_for_update:
                query = query.select_for_update(no_key=True)
            rows.extend(_Row(*values) for values in query.values_list(*_COLUMNS))
        self.by_slot = {(r.student_id, r.date): r for r in rows}
        self.by_event = {}
        for row in reversed(rows):
            if row.external_id:
                self.by_event[row.external_id] = row  # the lowest id wins, as .first()
        self.original = {r.pk: (r.student_id, _snapshot(r), r.source_detail, r.source)
                         for r in rows}  # fmt: skip
        self.created: dict[int, _Row] = {}  # id() → new absence not yet saved
        self.deleted: list[_Row] = []
        self.moves: list[tuple[int, int, dt.date]] = []
        self.audit: list[tuple] = []  # (event, row, action, before, after)

    def apply(self, event: AbsenceEvent) -> tuple[_Row | None, str]:
        spec, slot = event.spec, (event.student_id, event.spec.date)
        if spec.kind == PRESENT:
            row = self.by_slot.get(slot)
            if row is None:
                return None, "none"
            if self._staffs(row):
                return row, "staff"
            self._delete(event, row)
            return None, "withdrawn"
        row = self.by_event.get(event.event_id) if event.event_id else None
        if row is None and (here := self.by_slot.get(slot)) is not None and self._staffs(here):
            return here, "staff"
        if row is not None and self._staffs(row):
            return row, "staff"
        moved = row is not None and (row.student_id, row.date) != slot
        if moved and (other := self.by_slot.get(slot)) is not None and self._staffs(other):
            return other, "staff"
        if moved:
            # The source corrected the student or the day of its event: that day's own
            # absence (if any) gives way to the corrected one.
            if (other := self.by_slot.get(slot)) is not None:
                self._delete(event, other)
            del self.by_slot[(row.student_id, row.date)]
        elif row is None:
            row = self.by_slot.get(slot)
        fields = spec.fields()
        if fields["kind"] == "early_departure" and fields["minutes"] is None:
            fields["minutes"] = self._missed(event.school_id, spec.date, fields["departs_at"])
        if row is None:
            row = _Row(None, event.student_id, spec.date, fields["kind"], fields["excused"],
                       fields["departs_at"], fields["minutes"], fields["reason"],
                       event.event_id, self.source_detail, self.source, self.recorded_by_id,
                       self.now)  # fmt: skip
            self.created[id(row)] = row
            self.by_slot[slot] = row
            self._name(row)
            self.audit.append((event, row, "created", None, _snapshot(row)))
            return row, "created"
        before = _snapshot(row)
        if moved:
            row.student_id, row.date = slot
            self.by_slot[slot] = row
            if row.pk is not None:
                self.moves.append((row.pk, *slot))
        for name, value in fields.items():
            setattr(row, name, value)
        if event.event_id and event.event_id != row.external_id:
            self.by_event.pop(row.external_id, None)
            row.external_id = event.event_id
        after = _snapshot(row)
        if after == before and not moved:
            return row, "kept"
        row.source_detail = self.source_detail or row.source_detail
        if self.by_staff:
            row.source, row.recorded_by_id = self.source, self.recorded_by_id
        self._name(row)
        self.audit.append((event, row, "updated", before, after))
        return row, "updated"

    def _staffs(self, row) -> bool:
        """Staff set this day in Last Bell, and this batch is not staff: leave it."""
        return not self.by_staff and row.source == Source.STAFF

    def _missed(self, school_id, date, departs) -> int | None:
        """Minutes from leaving to the school's usual dismissal that weekday: what an early
        departure missed when its source does not say. One query per batch, when needed."""
        if departs is None:
            return None
        if self.dismissals is None:
            self.dismissals = {
                values[0]: values[1:]
                for values in School.objects.filter(pk__in=self.school_ids)
                .values_list("pk", *School.DISMISSAL_FIELDS)
            }  # fmt: skip
        bell = self.dismissals.get(school_id, [None] * 7)[date.weekday()]
        if bell is None:
            return None
        missed = (bell.hour * 60 + bell.minute) - (departs.hour * 60 + departs.minute)
        return max(missed, 0)

    def _name(self, row):
        if row.external_id:
            self.by_event.setdefault(row.external_id, row)

    def _delete(self, event, row):
        del self.by_slot[(row.student_id, row.date)]
        if self.by_event.get(row.external_id) is row:
            del self.by_event[row.external_id]
        if self.created.pop(id(row), None) is None:
            self.deleted.append(row)
        self.audit.append((event, row, "deleted", _snapshot(row), None))

    def write(self):
        # Deletes first, then moves in the order they happened, so every slot is free when
        # an absence moves in (a slot's absence gives way before another one moves in).
        gone = [row.pk for row in self.deleted]
        for chunk in _chunks(gone, 2000):
            Absence.objects.filter(pk__in=chunk).delete()
        gone = set(gone)
        for pk, student_id, date in self.moves:
            if pk not in gone:
                Absence.objects.filter(pk=pk).update(student_id=student_id, date=date)
        changed = [
            row.absence() for row in self.by_slot.values()
            if row.pk is not None
            and (row.student_id, _snapshot(row), row.source_detail, row.source)
            != self.original[row.pk]
        ]  # fmt: skip
        Absence.objects.bulk_update(changed, _UPDATED, batch_size=1000)
        new = list(self.created.values())
        ids = insert_rows(
            Absence,
            _COLUMNS[1:],
            ([getattr(row, name) for name in _COLUMNS[1:]] for row in new),
            returning=True,
        )
        for row, pk in zip(new, ids, strict=True):
            row.id = pk


_LOOKUP_SETTINGS = {"enable_seqscan": "off", "jit": "off"}


@contextlib.contextmanager
def _by_index():
    """PostgreSQL plans from statistics that a big import's own transaction has outgrown (a
    table analyzed empty holds a million uncommitted rows): its lookups by event id and by
    day would scan the whole table, batch after batch, and its cost estimates would switch on
    JIT compiling, which takes longer than the lookup. They are index lookups; say so."""
    if connection.vendor != "postgresql":
        yield
        return
    names = list(_LOOKUP_SETTINGS)
    set_all = ", ".join(["set_config(%s, %s, true)"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(['current_setting(%s)'] * len(names))}", names)
        before = cursor.fetchone()
        cursor.execute(f"SELECT {set_all}", [x for n in names for x in (n, _LOOKUP_SETTINGS[n])])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {set_all}", [x for n, v in zip(names, before, strict=True) for x in (n, v)]
            )


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _at_slots(slots) -> list[int]:
    """The ids of the absences at these (student id, date) pairs: one join against a VALUES
    list (an OR of thousands of pairs is slow to build and to plan)."""
    if not slots:
        return []
    table = connection.ops.quote_name(Absence._meta.db_table)
    if connection.vendor == "postgresql":  # two array parameters, not thousands
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT a.id FROM {table} a JOIN unnest(%s::bigint[], %s::date[]) AS v(s, d) "  # noqa: S608
                "ON a.student_id = v.s AND a.date = v.d",
                [[s for s, _ in slots], [d for _, d in slots]],
            )
            return [pk for (pk,) in cursor.fetchall()]
    values = ", ".join(["(%s, %s)"] * len(slots))
    sql = (
        f"SELECT a.id FROM {table} a JOIN (VALUES {values}) AS v "  # noqa: S608 — no user text
        "ON a.student_id = v.column1 AND a.date = v.column2"
    )
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [x for student, date in slots for x in (student, adapt(date))])
        return [pk for (pk,) in cursor.fetchall()]


def absence_remove(*, absence: Absence, actor=None, via=Via.API) -> None:
    """Delete an absence the source withdrew: the day's usual plan comes back by itself."""
    with transaction.atomic():
        before = _snapshot(absence)
        audit_record(
            action="attendance.absence.deleted", actor=actor, target=absence,
            school=absence.student.school, student=absence.student, before=before, after=None,
            via=via, label=f"{absence.student.full_name}, {absence.date:%b %-d}",
        )  # fmt: skip
        absence.delete()


def attendance_set(
    *, student, date: dt.date, category: str, actor, minutes: int | None = None,
    departs_at: dt.time | None = None, reason: str = "",
) -> str:  # fmt: skip
    """Staff set the student's attendance for `date` in Last Bell (from the student's page).

    The day becomes staff's: imports and the API leave it alone from then on. "present"
    withdraws what the day had. Returns what happened ("created", "updated", "kept",
    "withdrawn" or "none"); one transaction with its audit event.
    """
    kind, excused = Category.split(category)
    spec = AbsenceSpec(date=date, kind=kind, excused=excused, departs_at=departs_at,
                       reason=reason, minutes=minutes)  # fmt: skip
    _, outcome = absence_record(student=student, spec=spec, actor=actor, via=Via.WEB,
                                source=Source.STAFF, source_detail="set in Last Bell")  # fmt: skip
    return outcome


def attendance_codes_save(*, district, codes: list[tuple[str, str]], actor) -> None:
    """Save the district's whole list of attendance codes ((code, category) pairs); an empty
    list goes back to the defaults. One transaction with its audit event."""
    with transaction.atomic():
        before = CodeMap.for_district(district)
        keys = [code_key(code) for code, _ in codes]
        if len(set(keys)) != len(keys) or not all(keys):
            raise ValueError("Each code once, none empty.")
        AttendanceCode.objects.filter(district=district).delete()
        AttendanceCode.objects.bulk_create(
            AttendanceCode(district=district, code=code.strip(), key=key, category=category)
            for (code, category), key in zip(codes, keys, strict=True)
        )
        after = CodeMap.for_district(district)
        audit_record(
            action="attendance.codes.saved", actor=actor, target=district, district=district,
            before={c: v for c, v in before.codes}, after={c: v for c, v in after.codes},
            via=Via.WEB, label=f"Attendance codes of {district.name}",
        )  # fmt: skip

"""The rules of the dismissal (DESIGN.md §3). Every write is one transaction with its audit
event; screens hear of it after commit (live.board_changed), guardians through the outbox.

A student's state for the day is never stored: it is folded from the day's custody events
(`day_states`), so the log is the only truth and an undo is just another event.
"""

import dataclasses
import datetime as dt
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lastbell import live
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.dismissal import chain
from lastbell.dismissal.models import (
    Arrival,
    CarTag,
    CustodyEvent,
    DismissalDay,
    TagStudent,
    Verification,
)
from lastbell.people.models import AuthorizedAdult, CustodyRestriction, Guardian, GuardianLink
from lastbell.plans import stamps
from lastbell.plans.board import BoardRow, ReuseCache, cached_board, day_board, reused_board
from lastbell.plans.models import PlanType
from lastbell.schools.models import CalendarDay

Kind, To = CustodyEvent.Kind, CustodyEvent.To
EMERGENCY_STATUSES = (Kind.ACCOUNTED, Kind.MISSING, Kind.INJURED)


class Refused(Exception):
    """A dismissal action that must not happen, with the reason in words staff or a guardian
    understand. Nothing was written."""


class Blocked(Refused):
    """A release stopped by a custody restriction: the screens show it as an alert."""

    def __init__(self, message, restriction: CustodyRestriction):
        super().__init__(message)
        self.restriction = restriction


def _time(value: dt.datetime | dt.time, tz=None) -> str:
    if isinstance(value, dt.datetime):
        value = value.astimezone(tz).time() if tz else value.time()
    return value.strftime("%-I:%M %p").lower().replace(" ", "\u202f")


# ---------------------------------------------------------------------------------------------
# The day


def day_of(school, date: dt.date | None = None) -> DismissalDay | None:
    """The school's dismissal day for `date` (today at the school by default), made the first
    time it is asked for; None when there is no school that day."""
    date = date or school.today()
    found = DismissalDay.objects.filter(school=school, date=date).first()
    if found is not None:
        return found
    dismiss_at = school.dismissal_time_on(date)
    if dismiss_at is None or not school.is_school_day(date):
        return None
    early = CalendarDay.objects.filter(
        school=school, date=date, kind=CalendarDay.Kind.EARLY_RELEASE
    ).exists()
    mode = DismissalDay.Mode.EARLY_RELEASE if early else DismissalDay.Mode.NORMAL
    day, _made = DismissalDay.objects.get_or_create(
        school=school, date=date, defaults={"mode": mode, "dismiss_at": dismiss_at}
    )
    return day


def dismissal_moment(day: DismissalDay) -> dt.datetime:
    return dt.datetime.combine(day.date, day.dismiss_at, tzinfo=day.school.tz)


def late_after(day: DismissalDay) -> dt.datetime:
    """From this moment a student still on campus is late."""
    return dismissal_moment(day) + dt.timedelta(minutes=day.school.late_grace_minutes)


def checkin_opens(day: DismissalDay) -> dt.datetime:
    return dismissal_moment(day) - dt.timedelta(minutes=day.school.checkin_opens_minutes)


# ---------------------------------------------------------------------------------------------
# Reading the day: the board's plans with each student's state folded from the events


@dataclasses.dataclass
class StudentState:
    row: BoardRow
    arrival: Arrival | None = None  # checked in for, not undone
    sent: CustodyEvent | None = None
    released: CustodyEvent | None = None
    late: bool = False
    emergency_status: str = ""  # accounted, missing or injured (released wins)
    events: list[CustodyEvent] = dataclasses.field(default_factory=list)

    @property
    def student_id(self) -> int:
        return self.row.student_id

    @property
    def absent(self) -> bool:
        return self.row.plan_type == PlanType.ABSENCE

    @property
    def on_campus(self) -> bool:
        return not self.absent and self.released is None

    @property
    def status(self) -> str:
        if self.absent:
            return "absent"
        if self.released is not None:
            return "released"
        if self.sent is not None:
            return "sent"
        if self.arrival is not None:
            return "waiting"
        return "on_campus"


@dataclasses.dataclass
class DayStates:
    day: DismissalDay
    students: dict[int, StudentState]

    def __iter__(self):
        return iter(self.students.values())

    def counts(self) -> dict[str, dict[str, int]]:
        """{plan type or "none": {"on_campus": n, "released": n}} and an "all" line."""
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"on_campus": 0, "released": 0})
        for state in self:
            if state.absent:
                continue
            key = state.row.plan_type or "none"
            which = "released" if state.released else "on_campus"
            counts[key][which] += 1
            counts["all"][which] += 1
        return dict(counts)


def day_states(day: DismissalDay, *, homeroom_ids=None, student_ids=None) -> DayStates:
    """Every student's plan and dismissal state for the day, in a constant number of queries.

    Outside a transaction the whole school's states are folded once per state of the day
    (the school's stamps and the chain's length) and shared by every screen that asks, each
    getting its own copies of its students' states (views may note things on them); the chain
    itself is read incrementally (chain.py). Some students' states (a family's card, a
    check-in's) are cut from that fold when it is at hand, else folded from the school's reused
    board and the chain as held, and read on their own otherwise. Inside a transaction
    (a write, under its lock) they are read as they are."""
    stamp = stamps.current(day.school_id)  # None inside a transaction
    if stamp is not None:
        events, length = chain.day_events(day.pk)
        key = (connection.alias, connection.settings_dict["NAME"], day.pk, *stamp, length)
        rooms = None if homeroom_ids is None else set(homeroom_ids)
        pupils = None if student_ids is None else set(student_ids)
        whole = (_fold_cache.resolved(key, lambda: _fold_school(day, stamp, events))
                 if pupils is None else _fold_cache.get(key))  # fmt: skip
        if whole is not None:
            return DayStates(day, {
                pk: dataclasses.replace(state) for pk, state in whole.items()
                if (rooms is None or state.row.homeroom_id in rooms)
                and (pupils is None or pk in pupils)
            })  # fmt: skip
        board = cached_board(day.school, day.date, stamp)
        if board is not None:  # some students, before anyone folded this state of the day
            states = {row.student_id: StudentState(row) for row in board.rows
                      if row.student_id in pupils
                      and (rooms is None or row.homeroom_id in rooms)}  # fmt: skip
            _fold(states, [event for event in events if event.student_id in states])
            return DayStates(day, states)
    board = day_board(day.school, day.date, homeroom_ids=homeroom_ids, student_ids=student_ids)
    states = {row.student_id: StudentState(row) for row in board.rows}
    events = CustodyEvent.objects.filter(day=day).select_related("arrival__tag", "by")
    if student_ids is not None or homeroom_ids is not None:
        events = events.filter(student_id__in=list(states))
    _fold(states, list(events))
    return DayStates(day, states)


# The whole school's folded states by state of the day (school stamps, chain length): shared
# by every screen, never changed by readers.
_fold_cache = ReuseCache(size=32)


def _fold_school(day, stamp, events) -> dict[int, StudentState]:
    board = reused_board(day.school, day.date, stamp)
    states = {row.student_id: StudentState(row) for row in board.rows}
    _fold(states, events)
    return states


def _fold(states: dict[int, StudentState], events) -> None:
    """Each student's state from the day's events, oldest first."""
    undone = {e.undoes_id for e in events if e.kind == Kind.UNDONE}
    for event in events:
        state = states.get(event.student_id)
        if state is None:
            continue  # a student who left the school since, or out of the asked scope
        state.events.append(event)
        if event.pk in undone or event.kind == Kind.UNDONE:
            continue
        if event.kind == Kind.CHECKED_IN:
            state.arrival = event.arrival
        elif event.kind == Kind.SENT:
            state.sent = event
        elif event.kind == Kind.RELEASED:
            state.released = event
        elif event.kind == Kind.LATE:
            state.late = True
        elif event.kind in EMERGENCY_STATUSES:
            state.emergency_status = event.kind


def student_timeline(day: DismissalDay, student) -> list[CustodyEvent]:
    """The student's chain of custody for the day, oldest first, undone events marked."""
    events = list(CustodyEvent.objects.filter(day=day, student=student).select_related("by"))
    undone = {e.undoes_id for e in events if e.kind == Kind.UNDONE}
    for event in events:
        event.is_undone = event.pk in undone
    return events


# ---------------------------------------------------------------------------------------------
# Car tags


def tags_assign(school, *, actor=None) -> int:
    """Give every family of the school's active students a car tag: students who share a
    guardian share one. A family keeps its number; a new family gets the next free one.
    Returns how many students got a tag."""
    today = school.today()
    from lastbell.people.models import Student

    students = list(
        Student.objects.filter(school=school).active_on(today).values_list("pk", flat=True)
    )
    links = GuardianLink.objects.filter(student_id__in=students).values_list(
        "guardian_id", "student_id"
    )
    parent = {pk: pk for pk in students}

    def root(pk):
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    by_guardian: dict[int, int] = {}
    for guardian_id, student_id in links:
        if guardian_id in by_guardian:
            parent[root(student_id)] = root(by_guardian[guardian_id])
        else:
            by_guardian[guardian_id] = student_id
    families: dict[int, list[int]] = defaultdict(list)
    for pk in students:
        families[root(pk)].append(pk)
    with transaction.atomic():
        held = dict(TagStudent.objects.filter(student_id__in=students).values_list(
            "student_id", "tag_id"))  # fmt: skip
        next_number = (
            CarTag.objects.filter(school=school).order_by("-number")
            .values_list("number", flat=True).first() or 0
        ) + 1  # fmt: skip
        new_members = []
        for members in families.values():
            tag_id = next((held[m] for m in sorted(members) if m in held), None)
            if tag_id is None:
                tag_id = CarTag.objects.create(school=school, number=next_number).pk
                next_number += 1
            new_members += [TagStudent(tag_id=tag_id, student_id=m) for m in members
                            if m not in held]  # fmt: skip
        TagStudent.objects.bulk_create(new_members)
        if new_members:
            audit_record(
                action="dismissal.tags.assigned", actor=actor, target=school, school=school,
                after={"students": len(new_members)}, via=Via.WEB if actor else Via.SYSTEM,
                label=f"Car tags for {len(new_members)} students",
            )  # fmt: skip
    return len(new_members)


# ---------------------------------------------------------------------------------------------
# Check-in


def _after_commit(day, states=None):
    """Open screens hear of the change after commit. `states`: the students it touched, so that
    the classroom screens of other homerooms need not fetch anything (None: every screen)."""
    homerooms = None if states is None else {s.row.homeroom_id for s in states}
    live.board_changed(day.school_id, homerooms=homerooms)


def _require_today(day: DismissalDay, now: dt.datetime, message: str):
    if day.date != now.astimezone(day.school.tz).date():
        raise Refused(message)


def _require_open(day: DismissalDay, now: dt.datetime, *, window: bool):
    _require_today(day, now, _("Check-in is only for today's dismissal."))
    if window and not day.is_emergency and now < checkin_opens(day):
        raise Refused(
            _("Check-in opens at %(time)s, %(minutes)s minutes before dismissal.")
            % {
                "time": _time(checkin_opens(day), day.school.tz),
                "minutes": day.school.checkin_opens_minutes,
            }  # fmt: skip
        )


def check_in(day: DismissalDay, *, actor, method: str, guardian: Guardian | None = None,
             tag: CarTag | None = None, adult_name: str = "", door: str = "",
             now: dt.datetime | None = None) -> tuple[Arrival, list[int]]:  # fmt: skip
    """A family arrives: each of their students still on campus is checked in for and shows on
    the classroom screens. Returns the arrival and the student ids checked in.

    A guardian's check-in covers their children at the school; a tag's, the tag's family.
    Students already checked in are left as they are (a second tap changes nothing); a student
    whose custody order names the guardian is not called (the release would be blocked).
    """
    now = now or timezone.now()
    _require_open(day, now, window=True)
    if day.is_emergency and method == Arrival.Method.PHONE:
        # Reunification starts at the desk, with a photo ID, not from a phone in the lot.
        raise Refused(_("In an emergency, check in at the reunification desk with a photo ID."))
    if guardian is not None:
        student_ids = set(GuardianLink.objects.filter(
            guardian=guardian, student__school_id=day.school_id).values_list(
            "student_id", flat=True))  # fmt: skip
        adult_name = adult_name or guardian.full_name
    elif tag is not None:
        if tag.school_id != day.school_id:
            raise Refused(_("That car tag is not one of this school's."))
        student_ids = set(tag.members.values_list("student_id", flat=True))
    else:
        raise Refused(_("Say who is here: a guardian or a car tag."))
    states = day_states(day, student_ids=student_ids)
    restricted = set()
    if guardian is not None:
        restricted = {
            r.student_id for r in CustodyRestriction.objects.filter(
                student_id__in=student_ids).in_effect_on(day.date)
            if r.names(guardian.full_name)
        }  # fmt: skip
    wanted = [s for s in states if s.on_campus and s.student_id not in restricted]
    if not wanted:
        gone = [s for s in states if s.released is not None]
        if gone:
            raise Refused(_("Nobody left to pick up: %(names)s already left.") % {
                "names": ", ".join(s.row.first_name for s in gone)})  # fmt: skip
        raise Refused(_("No child to pick up at this school today."))
    fresh = [s for s in wanted if s.arrival is None]
    with transaction.atomic():
        if not fresh:
            return wanted[0].arrival, []
        arrival = Arrival.objects.create(
            day=day, tag=tag, guardian=guardian, adult_name=adult_name[:200], method=method,
            door=door[:50], by=actor if actor is not None and actor.pk else None,
        )  # fmt: skip
        CustodyEvent.objects.bulk_create([
            CustodyEvent(day=day, student_id=s.student_id, kind=Kind.CHECKED_IN, at=now,
                         by=arrival.by, by_label=str(actor or adult_name)[:200],
                         arrival=arrival, door=door[:50], to_label=adult_name[:200])
            for s in fresh
        ])  # fmt: skip
        audit_record(
            action="dismissal.checked_in", actor=actor, target=arrival, school=day.school,
            after={"students": [s.row.name for s in fresh], "method": method,
                   "adult": adult_name},
            via=Via.WEB, label=f"{adult_name or tag} checked in",
        )  # fmt: skip
        _after_commit(day, fresh)
    return arrival, [s.student_id for s in fresh]


# ---------------------------------------------------------------------------------------------
# Sent, released, undone


def _event(day, student_id, kind, actor, now, **fields) -> CustodyEvent:
    return CustodyEvent.objects.create(
        day=day, student_id=student_id, kind=kind, at=now,
        by=actor if actor is not None and actor.pk else None,
        by_label=str(actor or "")[:200], **fields,
    )  # fmt: skip


def mark_sent(day: DismissalDay, student_ids, *, actor, door: str = "",
              now: dt.datetime | None = None) -> list[int]:  # fmt: skip
    """A teacher sends checked-in students to the door. Returns who was sent."""
    now = now or timezone.now()
    _require_today(day, now, _("Only today's students can be sent to the door."))
    plans = _plans(day, student_ids)
    with transaction.atomic():
        states = _locked_states(day, plans)
        ready = [s for s in states if s.on_campus and s.arrival is not None and s.sent is None]
        for state in ready:
            _event(day, state.student_id, Kind.SENT, actor, now,
                   door=door or state.arrival.door, arrival=state.arrival)  # fmt: skip
        if ready:
            audit_record(
                action="dismissal.sent", actor=actor, target=day, school=day.school,
                after={"students": [s.row.name for s in ready]}, via=Via.WEB,
                label=f"Sent {len(ready)} to the door",
            )  # fmt: skip
            _after_commit(day, ready)
    return [s.student_id for s in ready]


@dataclasses.dataclass(frozen=True)
class Adult:
    """Whom a student is released to: a guardian or an authorized adult, as on file."""

    kind: str  # To.GUARDIAN or To.ADULT
    record: Guardian | AuthorizedAdult

    @property
    def name(self) -> str:
        return self.record.full_name


def adult_for(student, kind: str, record_id: int) -> Adult:
    """The guardian or authorized adult `record_id` of `student`; Refused if not on file."""
    if kind == To.GUARDIAN:
        link = GuardianLink.objects.filter(student=student, guardian_id=record_id).select_related(
            "guardian").first()  # fmt: skip
        if link is not None:
            return Adult(To.GUARDIAN, link.guardian)
    elif kind == To.ADULT:
        adult = AuthorizedAdult.objects.active().filter(student=student, pk=record_id).first()
        if adult is not None:
            return Adult(To.ADULT, adult)
    raise Refused(
        _(
            "That person is not on %(name)s's pickup list: release only to a guardian or an "
            "adult on the list."
        )
        % {"name": student.first_name}  # fmt: skip
    )


def release(day: DismissalDay, student, *, adult: Adult, actor, verification: str,
            reunifier: str = "", comfortable: bool | None = None, note: str = "",
            now: dt.datetime | None = None) -> CustodyEvent:  # fmt: skip
    """Hand the student over to an adult on file. Refused for an adult not on file, a
    custody restriction naming the adult (Blocked), a student already released or absent; in
    emergency mode also without a photo ID check, a reunifier, and the student's yes."""
    now = now or timezone.now()
    _require_today(day, now, _("Only today's dismissal can release students."))
    if verification not in Verification.values or verification == Verification.NONE:
        raise Refused(_("Say how you checked who the adult is."))
    restriction = next(
        (r for r in CustodyRestriction.objects.filter(student=student).in_effect_on(day.date)
         if r.names(adult.name)), None,
    )  # fmt: skip
    if restriction is not None:
        # Nothing is released, but the attempt is itself worth knowing about afterwards.
        with transaction.atomic():
            audit_record(
                action="dismissal.release_blocked", actor=actor, target=restriction,
                school=day.school, student=student,
                after={"adult": adult.name, "court_order": restriction.court_order_reference},
                via=Via.WEB, label=f"Stopped the release of {student.full_name} to {adult.name}",
            )  # fmt: skip
        raise Blocked(
            _("Do not release %(student)s to %(adult)s: a court order (%(order)s) forbids "
              "it. Keep the student inside and call the office.") % {
                "student": student.full_name, "adult": adult.name,
                "order": restriction.court_order_reference,
            },
            restriction,
        )  # fmt: skip
    if day.is_emergency:
        if verification != Verification.PHOTO_ID:
            raise Refused(_("In an emergency every adult shows a photo ID before a release."))
        if not reunifier.strip():
            raise Refused(_("Say which staff member brought the student (the reunifier)."))
        if comfortable is not True:
            raise Refused(
                _(
                    "%(name)s must say they are comfortable leaving with %(adult)s. If not, keep "
                    "them and tell the incident commander."
                )
                % {"name": student.first_name, "adult": adult.name}
            )
    plans = _plans(day, [student.pk])
    with transaction.atomic():
        (state,) = _locked_states(day, plans)
        _require_releasable(state, day.school.tz)
        event = _event(
            day, student.pk, Kind.RELEASED, actor, now, to=adult.kind,
            guardian=adult.record if adult.kind == To.GUARDIAN else None,
            adult=adult.record if adult.kind == To.ADULT else None, to_label=adult.name[:200],
            verification=verification, arrival=state.arrival,
            door=state.sent.door if state.sent else "", reunifier=reunifier[:200],
            comfortable=comfortable, late=_late_release(day, now), note=note[:500],
        )  # fmt: skip
        audit_record(
            action="dismissal.released", actor=actor, target=event, school=day.school,
            student=student, after={"to": adult.name, "verification": verification,
                                    "late": event.late},
            via=Via.WEB, label=f"{student.full_name} released to {adult.name}",
        )  # fmt: skip
        _after_commit(day, [state])
    return event


def _late_release(day: DismissalDay, now: dt.datetime) -> bool:
    """A release after dismissal plus the grace minutes is a documented late pickup; not on a
    day with an emergency, whose releases follow the reunification and the all clear."""
    return now > late_after(day) and not day.had_emergency


def _plans(day, student_ids) -> list[BoardRow]:
    """The students' plans for a write, read before it takes its lock (`_locked_states`);
    None is the whole school."""
    ids = None if student_ids is None else {int(pk) for pk in student_ids}
    return day_board(day.school, day.date, student_ids=ids).rows


def _locked_states(day, plans: list[BoardRow], *, everyone=False) -> list[StudentState]:
    """The students' states inside the writing transaction: the day row locked so two staff
    releasing the same student at once are taken one after the other, and their steps read
    under that lock. Their plans come from before it (`_plans`, from the school's reused
    board): what a write checks of a plan (absent) could as well have changed an instant
    later, and resolving plans under the lock was most of a write's queries, which every
    other write of the school waited for (bench/README.md, "Dismissal under load")."""
    DismissalDay.objects.select_for_update(no_key=True).filter(pk=day.pk).first()
    states = {row.student_id: StudentState(row) for row in plans}
    events = CustodyEvent.objects.filter(day=day).select_related("arrival__tag", "by")
    if not everyone:
        events = events.filter(student_id__in=list(states))
    _fold(states, list(events))
    return list(states.values())


def _require_releasable(state: StudentState, tz):
    name = state.row.first_name
    if state.absent:
        raise Refused(_("%(name)s is marked absent today.") % {"name": name})
    if state.released is not None:
        raise Refused(_("%(name)s was already released to %(adult)s at %(time)s.") % {
            "name": name, "adult": state.released.to_label or state.released.get_to_display(),
            "time": _time(state.released.at, tz),
        })  # fmt: skip


GROUPS = {To.BUS: PlanType.BUS, To.WALK: PlanType.WALK, To.BIKE: PlanType.BIKE,
          To.PROGRAM: PlanType.PROGRAM}  # fmt: skip


def release_group(day: DismissalDay, student_ids, *, to: str, label: str, actor,
                  now: dt.datetime | None = None) -> list[CustodyEvent]:  # fmt: skip
    """ "All aboard": release a bus, the walkers, the bikers or a program's students together.
    Students already released or absent are skipped. Returns the new release events."""
    if to not in GROUPS:
        raise Refused(_("A group is a bus, the walkers, the bikers or a program."))
    if day.is_emergency:
        # Each student goes to an adult checked at the reunification desk, never as a group.
        raise Refused(_("In an emergency students are released one by one at the reunification "
                        "desk, not as a group."))  # fmt: skip
    now = now or timezone.now()
    _require_today(day, now, _("Only today's dismissal can release students."))
    plans = _plans(day, student_ids)
    with transaction.atomic():
        states = _locked_states(day, plans)
        ready = [s for s in states if s.on_campus]
        events = CustodyEvent.objects.bulk_create([
            CustodyEvent(day=day, student_id=s.student_id, kind=Kind.RELEASED, at=now,
                         by=actor if actor is not None and actor.pk else None,
                         by_label=str(actor or "")[:200], to=to, to_label=label[:200],
                         late=_late_release(day, now))
            for s in ready
        ])  # fmt: skip
        if events:
            audit_record(
                action="dismissal.group_released", actor=actor, target=day, school=day.school,
                after={"group": label, "students": [s.row.name for s in ready]}, via=Via.WEB,
                label=f"{label}: {len(events)} released",
            )  # fmt: skip
            _after_commit(day, ready)
    return events


UNDOABLE = (Kind.CHECKED_IN, Kind.SENT, Kind.RELEASED, *EMERGENCY_STATUSES)


def undo(event: CustodyEvent, *, actor, reason: str = "",
         now: dt.datetime | None = None) -> CustodyEvent:  # fmt: skip
    """Undo an event of today by a new event (the first stays in the log, marked undone)."""
    (undone,) = undo_many([event], actor=actor, reason=reason, now=now)
    return undone


def undo_many(events: list[CustodyEvent], *, actor, reason: str = "",
              now: dt.datetime | None = None) -> list[CustodyEvent]:  # fmt: skip
    """Undo several events of one day together (a bus's "All aboard"): all or none, with one
    audit event."""
    now = now or timezone.now()
    if not events:
        return []
    day = events[0].day
    if any(e.day_id != day.pk for e in events):
        raise Refused(_("Undo the steps of one day at a time."))
    if any(e.kind not in UNDOABLE for e in events):
        raise Refused(_("That step cannot be undone."))
    _require_today(day, now, _("Only today's steps can be undone; the log of past days is "
                               "final."))  # fmt: skip
    with transaction.atomic():
        DismissalDay.objects.select_for_update(no_key=True).filter(pk=day.pk).first()
        if CustodyEvent.objects.filter(undoes__in=events).exists():
            raise Refused(_("That step was already undone."))
        undone = [
            _event(day, e.student_id, Kind.UNDONE, actor, now, undoes=e, note=reason[:500],
                   to_label=e.to_label)
            for e in events
        ]  # fmt: skip
        first = events[0]
        label = f"Undid {len(events)} steps ({first.to_label})"
        if len(events) == 1:
            label = f"Undid {first.get_kind_display().lower()} of {first.student.full_name}"
        audit_record(
            action="dismissal.undone", actor=actor, target=undone[0], school=day.school,
            student=first.student if len(events) == 1 else None,
            before={"steps": [{"kind": e.kind, "student": e.student_id, "to": e.to_label}
                              for e in events]},
            after={"reason": reason}, via=Via.WEB, label=label,
        )  # fmt: skip
        _after_commit(day)
    return undone


# ---------------------------------------------------------------------------------------------
# Late pickups


def is_late(state: StudentState, day: DismissalDay, now: dt.datetime) -> bool:
    """Still on campus after dismissal plus the grace minutes, or flagged late already. A
    program's students stay on campus by design, and a day with an emergency has its own
    accounting (after the all clear too: the families were told when to come then)."""
    if not state.on_campus:
        return False
    return state.late or (
        now > late_after(day) and not day.had_emergency
        and day.date == now.astimezone(day.school.tz).date()
        and state.row.plan_type != PlanType.PROGRAM
    )  # fmt: skip


def flag_late(day: DismissalDay, *, now: dt.datetime | None = None) -> list[int]:
    """After dismissal plus the grace minutes, flag each student still on campus as late (once)
    and tell their guardians through the outbox. Returns the students flagged now."""
    now = now or timezone.now()
    if now <= late_after(day) or day.had_emergency:
        return []
    from lastbell.messaging.services import queue_for_guardian
    from lastbell.people.models import Student
    from lastbell.people.services import guardians_to_tell

    plans = _plans(day, None)
    with transaction.atomic():
        states = _locked_states(day, plans, everyone=True)
        late = [s for s in states if not s.late and is_late(s, day, now)]
        CustodyEvent.objects.bulk_create([
            CustodyEvent(day=day, student_id=s.student_id, kind=Kind.LATE, at=now,
                         by_label="Last Bell")
            for s in late
        ])  # fmt: skip
        if late:
            audit_record(
                action="dismissal.late", actor=None, target=day, school=day.school,
                after={"students": [s.row.name for s in late]}, via=Via.SYSTEM,
                label=f"{len(late)} still on campus after dismissal",
            )  # fmt: skip
            students = Student.objects.filter(pk__in=[s.student_id for s in late]).prefetch_related(
                "guardians", "custody_restrictions")  # fmt: skip
            for student in students:
                for guardian in guardians_to_tell(student, day.date):
                    queue_for_guardian(
                        guardian=guardian, kind="late_pickup", template="dismissal_late",
                        context={"dismissal": _time(day.dismiss_at),
                                 "phone": day.school.office_phone},
                        school=day.school, student=student,
                    )  # fmt: skip
            _after_commit(day, late)
    return [s.student_id for s in late]


# ---------------------------------------------------------------------------------------------
# Emergency (Standard Reunification Method)


def emergency_start(day: DismissalDay, *, actor, message: str, site: str = "",
                    now: dt.datetime | None = None) -> int:  # fmt: skip
    """Switch the day to emergency and tell every guardian of a student on campus what to do.
    Returns how many messages were queued.

    A day whose emergency ended may be switched again (a second incident): the new switch
    replaces the day's emergency fields; the log keeps both from the audit."""
    from lastbell.messaging.services import queue_for_guardian
    from lastbell.people.models import Student
    from lastbell.people.services import guardians_to_tell

    now = now or timezone.now()
    if not message.strip():
        raise Refused(_("Write the instructions guardians will get (where to go, what to bring)."))
    with transaction.atomic():
        locked = DismissalDay.objects.select_for_update(no_key=True).get(pk=day.pk)
        if locked.is_emergency:
            raise Refused(_("This day is already in emergency mode."))
        before = {"mode": locked.mode}
        if locked.emergency_ended:
            before["ended_at"] = locked.emergency_ended_at.isoformat()
        day.mode, day.emergency_at, day.emergency_by = DismissalDay.Mode.EMERGENCY, now, actor
        day.emergency_message, day.reunification_site = message.strip(), site.strip()[:200]
        day.emergency_ended_at = day.emergency_ended_by = None
        day.emergency_end_note = ""
        day.save(update_fields=["mode", "emergency_at", "emergency_by", "emergency_message",
                                "reunification_site", "emergency_ended_at",
                                "emergency_ended_by", "emergency_end_note"])  # fmt: skip
        audit_record(
            action="dismissal.emergency", actor=actor, target=day, school=day.school,
            before=before, after={"mode": day.mode, "site": day.reunification_site,
                                  "message": day.emergency_message},
            via=Via.WEB, label="Switched to emergency reunification",
        )  # fmt: skip
        on_campus = [s.student_id for s in day_states(day) if s.on_campus]
        queued = 0
        students = Student.objects.filter(pk__in=on_campus).prefetch_related(
            "guardians", "custody_restrictions")  # fmt: skip
        for student in students:
            for guardian in guardians_to_tell(student, day.date):
                queued += len(queue_for_guardian(
                    guardian=guardian, kind="emergency",
                    template="dismissal_emergency",
                    context={"message": day.emergency_message, "site": day.reunification_site},
                    school=day.school, student=student, created_by=actor,
                ))  # fmt: skip
        _after_commit(day)
    return queued


def account(day: DismissalDay, student, *, status: str, actor, note: str = "",
            now: dt.datetime | None = None) -> CustodyEvent:  # fmt: skip
    """In an emergency, record a student as accounted for, missing or injured."""
    if status not in EMERGENCY_STATUSES:
        raise Refused(_("A student is accounted for, missing or injured."))
    if day.emergency_ended:
        raise Refused(
            _("The emergency ended at %(time)s: students are no longer accounted for. Release "
              "them as on a normal day.") % {"time": _time(day.emergency_ended_at, day.school.tz)}
        )  # fmt: skip
    if not day.is_emergency:
        raise Refused(_("Accounting for students is for emergency mode."))
    now = now or timezone.now()
    plans = _plans(day, [student.pk])
    with transaction.atomic():
        (state,) = _locked_states(day, plans)
        if state.released is not None:
            raise Refused(_("%(name)s was already released.") % {"name": student.first_name})
        event = _event(day, student.pk, status, actor, now, note=note[:500])
        audit_record(
            action=f"dismissal.{status}", actor=actor, target=event, school=day.school,
            student=student, after={"status": status, "note": note}, via=Via.WEB,
            label=f"{student.full_name}: {event.get_kind_display().lower()}",
        )  # fmt: skip
        _after_commit(day, [state])
    return event


def all_clear_students(day: DismissalDay, states: DayStates) -> set[int]:
    """Whose guardians hear the all clear: the students whose guardians got the emergency's
    instructions (not absent, not released for good before the switch) and any student on
    campus now."""
    start = day.emergency_at
    undone_before = {e.undoes_id for state in states for e in state.events
                     if e.kind == Kind.UNDONE and e.at <= start}  # fmt: skip
    gone = {
        state.student_id for state in states for e in state.events
        if e.kind == Kind.RELEASED and e.at < start and e.pk not in undone_before
    }  # fmt: skip
    told = {s.student_id for s in states if not s.absent and s.student_id not in gone}
    return told | {s.student_id for s in states if s.on_campus}


def emergency_end(day: DismissalDay, *, actor, note: str,
                  now: dt.datetime | None = None) -> int:  # fmt: skip
    """The all clear: end the day's emergency. The day's normal rules apply again (check-in
    on the phone, a release without the reunification steps) and nobody is flagged late that
    day; the mode stays "emergency", so the log and the reports still say what the day was.

    Every guardian who got the instructions hears the all clear, with `note` (what to do now)
    and where their child is: still at school, or released to whom and when; so do the
    guardians of a student back on campus since. Returns how many messages were queued.
    """
    from lastbell.messaging.models import Kind as MessageKind
    from lastbell.messaging.services import queue_for_guardian
    from lastbell.people.models import Student
    from lastbell.people.services import guardians_to_tell

    now = now or timezone.now()
    note = note.strip()
    with transaction.atomic():
        locked = DismissalDay.objects.select_for_update(no_key=True).get(pk=day.pk)
        if locked.emergency_ended:
            by = locked.emergency_ended_by
            raise Refused(
                _("The emergency already ended at %(time)s (%(by)s). Nothing was sent again.")
                % {"time": _time(locked.emergency_ended_at, day.school.tz),
                   "by": by.get_full_name() if by else _("someone no longer on staff")}
            )  # fmt: skip
        if not locked.is_emergency:
            raise Refused(_("Today's dismissal is not in emergency mode: there is nothing to end."))
        _require_today(day, now, _("Only today's emergency can be ended."))
        if not note:
            raise Refused(_("Write what guardians are told now: where and when to pick up."))
        day.mode, day.emergency_at = locked.mode, locked.emergency_at
        day.emergency_ended_at, day.emergency_ended_by = now, actor
        day.emergency_end_note = note[:1000]
        day.save(update_fields=["emergency_ended_at", "emergency_ended_by",
                                "emergency_end_note"])  # fmt: skip
        audit_record(
            action="dismissal.emergency_ended", actor=actor, target=day, school=day.school,
            before={"mode": day.mode, "since": day.emergency_at.isoformat()},
            after={"ended_at": now.isoformat(), "note": day.emergency_end_note},
            via=Via.WEB, label="Ended emergency reunification (all clear)",
        )  # fmt: skip
        states = day_states(day)
        queued = 0
        students = Student.objects.filter(pk__in=all_clear_students(day, states)).prefetch_related(
            "guardians", "custody_restrictions")  # fmt: skip
        for student in students:
            state = states.students[student.pk]
            released = state.released
            context = {"note": day.emergency_end_note, "at_school": state.on_campus}
            if released is not None:
                context["released_to"] = released.to_label or released.get_to_display()
                context["released_at"] = _time(released.at, day.school.tz)
            for guardian in guardians_to_tell(student, day.date):
                queued += len(queue_for_guardian(
                    guardian=guardian, kind=MessageKind.ALL_CLEAR,
                    template="dismissal_all_clear", context=context,
                    school=day.school, student=student, created_by=actor,
                ))  # fmt: skip
        _after_commit(day)
    return queued

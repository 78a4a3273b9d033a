"""The REST API, version 1: `/api/v1`, with its OpenAPI document at `/api/v1/openapi.json`
and browsable docs at `/api/v1/docs`.

Every call carries a token (`Authorization: Bearer lb_…`) made by a district admin, scoped to
the district or one school, with per-resource permissions. Errors are
`application/problem+json` (RFC 9457) with a sentence for people and field details.
"""

import datetime as dt
from typing import Literal

from django.http import Http404, JsonResponse
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field, field_validator

from lastbell.api.models import ApiToken, Permission
from lastbell.attendance.codes import CodeMap
from lastbell.attendance.models import Absence, Category
from lastbell.attendance.services import AbsenceSpec, absence_record, absence_remove
from lastbell.people.models import Student
from lastbell.plans.board import day_board
from lastbell.plans.models import Source
from lastbell.plans.weekdays import SCHOOL_WEEK
from lastbell.schools.models import School

PROBLEM = "application/problem+json"


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str = "", errors=None):
        self.status, self.title, self.detail, self.errors = status, title, detail, errors or []


def problem_response(status, title, detail="", errors=()):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = list(errors)
    return JsonResponse(body, status=status, content_type=PROBLEM)


class TokenAuth(HttpBearer):
    """A token that exists and is not revoked; for an operation that names a permission, one
    that has it and whose scope holds the school or event in the path. All of it is checked
    before the body is read: a token that may not make the call is refused whatever it sent,
    and never learns from a 422 how its body would have been judged."""

    def __init__(self, permission: str = ""):
        super().__init__()
        self.permission = permission

    def authenticate(self, request, token):
        found = ApiToken.find(token)
        if found is None or not found.active:
            return None
        found.touch()
        request.api_token = found
        if self.permission:
            _require(request, self.permission)
            path = request.resolver_match.kwargs if request.resolver_match else {}
            if "school_id" in path:
                _school(found, path["school_id"])
            if "event_id" in path:
                _event_absence(found, path["event_id"])
        return found


api = NinjaAPI(
    title="Last Bell API",
    version="1",
    description=__doc__,
    urls_namespace="api-v1",
    auth=TokenAuth(),
)


@api.exception_handler(Problem)
def _problem(request, exc: Problem):
    return problem_response(exc.status, exc.title, exc.detail, exc.errors)


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    errors = [{"field": _field(error.get("loc", ())), "message": error.get("msg", "")}
              for error in exc.errors]  # fmt: skip
    return problem_response(
        422, "Some fields are wrong", "Nothing was changed. See the fields below.", errors
    )


def _field(loc) -> str:
    # ("body", "event", "date") → "date"; ("query", "date") → "date"
    parts = [str(p) for p in loc]
    if parts[:1] == ["body"]:
        parts = parts[2:] or parts[1:]
    elif parts[:1] in (["query"], ["path"]):
        parts = parts[1:]
    return ".".join(parts)


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return problem_response(
        401, "Token missing, wrong or revoked",
        "Send `Authorization: Bearer <token>` with a token a district admin made in Last Bell.",
    )  # fmt: skip


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return problem_response(exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem_response(404, "Not found", str(exc) or "")


def _require(request, permission: str):
    token: ApiToken = request.api_token
    if not token.allows(permission):
        raise Problem(
            403, "This token may not do that",
            f"The token “{token.name}” lacks the permission {permission}. A district admin can "
            "make a token that has it.",
        )  # fmt: skip
    return token


def _school(token: ApiToken, school_id: int) -> School:
    school = None
    if str(school_id).isdigit():  # the path's text, when the token is checked before the body
        school = School.objects.select_related("district").filter(pk=school_id).first()
    if school is None or not token.covers(school):
        # The same answer for a school that exists elsewhere: a token learns nothing outside.
        raise Problem(404, "No such school", f"No school {school_id} in this token's scope.")
    return school


# ---------------------------------------------------------------------------------------------
# The day board


class PlanOut(Schema):
    student_id: str = Field(description="The student's id in the student information system")
    first_name: str
    last_name: str
    grade: str
    homeroom: str
    plan: str | None = Field(
        description="bus, pickup, walk, bike, program, early_dismissal, other, absence; "
        "null: no plan yet"
    )
    detail: str
    bus: str
    program: str
    pickup: str
    time: dt.time | None
    comes_from: str | None = Field(description="absence, change, program or default")
    source: str
    why: str


class BoardOut(Schema):
    school_id: int
    school: str
    date: dt.date
    is_school_day: bool
    no_school_reason: str
    total: int
    missing: int
    counts: dict[str, int]
    students: list[PlanOut]


@api.get(
    "/schools/{school_id}/board",
    response=BoardOut,
    tags=["Day board"],
    auth=TokenAuth(Permission.BOARD_READ),
)
def board(request, school_id: int, date: dt.date | None = None):
    """Every active student's plan for a date (today at the school by default)."""
    token = _require(request, Permission.BOARD_READ)
    school = _school(token, school_id)
    date = date or school.today()
    board = day_board(school, date)
    return {
        "school_id": school.pk, "school": school.name, "date": date,
        "is_school_day": board.is_school_day, "no_school_reason": str(board.no_school_reason),
        "total": board.total, "missing": board.missing_count,
        "counts": {kind: n for kind, _, n in board.by_type()},
        "students": [
            {"student_id": r.sis_id, "first_name": r.first_name, "last_name": r.last_name,
             "grade": r.grade, "homeroom": r.homeroom, "plan": r.plan_type, "detail": r.detail,
             "bus": r.bus_number, "program": r.program_name, "pickup": r.pickup, "time": r.time,
             "comes_from": r.layer, "source": r.source, "why": r.why}
            for r in board.rows
        ],
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Attendance events


class In(Schema):
    """What a caller sends. No text may hold a NUL character: PostgreSQL cannot store one,
    and a feed that sends one has garbled its data (Django's forms refuse it the same way)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("Text cannot contain a NUL (0x00) character.")
        return value


class AttendanceEventIn(In):
    """An absence, tardy, early departure or correction from the attendance system."""

    event_id: str = Field(
        min_length=1, max_length=100,
        description="The source's id for this event: sending it again changes nothing, and it "
        "is how you correct or delete it",
    )  # fmt: skip
    student_id: str = Field(min_length=1, max_length=64, description="The SIS student id")
    date: dt.date
    kind: Literal["absent", "tardy", "early_departure", "present"] = Field(
        description="present withdraws an absence the source sent for that day"
    )
    excused: bool = False
    departs_at: dt.time | None = Field(None, description="Required for early_departure")
    minutes: int | None = Field(
        None, ge=0, le=1440,
        description="Minutes late (tardy) or missed (early_departure). For an early departure "
        "without it, the minutes until the school's usual dismissal",
    )  # fmt: skip
    reason: str = Field("", max_length=200)


class EdFiStudentReference(In):
    studentUniqueId: str = Field(min_length=1, max_length=64)


class EdFiSchoolReference(In):
    schoolId: int


class EdFiAttendanceEvent(In):
    """Ed-Fi Data Standard 5.x StudentSchoolAttendanceEvent, as its API sends it."""

    id: str | None = Field(None, max_length=100)
    studentReference: EdFiStudentReference
    schoolReference: EdFiSchoolReference
    eventDate: dt.date
    attendanceEventCategoryDescriptor: str = Field(max_length=300)
    attendanceEventReason: str = Field("", max_length=200)
    arrivalTime: dt.time | None = None
    departureTime: dt.time | None = None
    eventDuration: float | None = None
    schoolAttendanceDuration: int | None = Field(
        None, ge=0, le=1440, description="Minutes late (tardy) or missed (early departure)"
    )


class AbsenceOut(Schema):
    date: dt.date
    kind: str
    excused: bool
    departs_at: dt.time | None
    minutes: int | None
    reason: str


class EventResult(Schema):
    event_id: str
    outcome: Literal["created", "updated", "kept", "removed"]
    student_id: str
    absence: AbsenceOut | None
    note: str = Field("", description="Why nothing changed, when staff set that day by hand")


STAFF_KEPT = ("Staff changed this day's attendance in Last Bell by hand; it stays as they set "
              "it.")  # fmt: skip


def _edfi_event(event: EdFiAttendanceEvent, codes: CodeMap) -> tuple[AttendanceEventIn, int]:
    """Our event from an Ed-Fi one; its category through the district's attendance codes."""
    raw = event.attendanceEventCategoryDescriptor
    category = codes.category(raw)
    if category is None:
        raise Problem(422, "Some fields are wrong", "Nothing was changed.", [{
            "field": "attendanceEventCategoryDescriptor",
            "message": f"Unknown category: {codes.unknown(raw)}.",
        }])  # fmt: skip
    kind, excused = Category.split(category)
    if kind == "absent" and event.eventDuration is not None and event.eventDuration < 1:
        # A part-day absence with a departure time is an early departure.
        kind = "early_departure" if event.departureTime else kind
    key = event.id or (f"edfi:{event.schoolReference.schoolId}:"
                       f"{event.studentReference.studentUniqueId}:{event.eventDate}")  # fmt: skip
    ours = AttendanceEventIn(
        event_id=key, student_id=event.studentReference.studentUniqueId, date=event.eventDate,
        kind=kind, excused=excused, departs_at=event.departureTime,
        minutes=event.schoolAttendanceDuration, reason=event.attendanceEventReason,
    )  # fmt: skip
    return ours, event.schoolReference.schoolId


def _student(token: ApiToken, sis_id: str, edfi_school: int | None = None) -> Student:
    students = Student.objects.select_related("school", "school__district").filter(
        sis_id=sis_id, school__district_id=token.district_id
    )
    if token.school_id:
        students = students.filter(school_id=token.school_id)
    if edfi_school is not None:
        students = students.filter(school__code=str(edfi_school))
    student = students.order_by("-enrolled_on").first()
    if student is None:
        raise Problem(422, "Some fields are wrong", "Nothing was changed.", [{
            "field": "student_id",
            "message": f"No student with id {sis_id} in this token's schools.",
        }])  # fmt: skip
    return student


def _apply(request, event: AttendanceEventIn, edfi_school=None) -> dict:
    token = _require(request, Permission.ATTENDANCE_WRITE)
    student = _student(token, event.student_id, edfi_school)
    via_label = f"API token {token.name}"
    if event.kind == "present":
        absence = Absence.objects.filter(student=student, date=event.date).first()
        if absence is None:
            return {"event_id": event.event_id, "outcome": "kept",
                    "student_id": student.sis_id, "absence": None}  # fmt: skip
        if absence.source == Source.STAFF:
            return {"event_id": event.event_id, "outcome": "kept", "note": STAFF_KEPT,
                    "student_id": student.sis_id, "absence": absence}  # fmt: skip
        absence_remove(absence=absence, actor=None)
        return {"event_id": event.event_id, "outcome": "removed",
                "student_id": student.sis_id, "absence": None}  # fmt: skip
    if event.kind == "early_departure" and event.departs_at is None:
        raise Problem(422, "Some fields are wrong", "Nothing was changed.", [
            {"field": "departs_at", "message": "An early departure needs the time it happens."}
        ])  # fmt: skip
    spec = AbsenceSpec(date=event.date, kind=event.kind, excused=event.excused,
                       departs_at=event.departs_at, reason=event.reason,
                       minutes=event.minutes)  # fmt: skip
    absence, outcome = absence_record(
        student=student, spec=spec, event_id=event.event_id, source_detail=via_label
    )
    note = ""
    if outcome == "staff":
        outcome, note = "kept", STAFF_KEPT
    return {"event_id": event.event_id, "outcome": outcome, "student_id": student.sis_id,
            "absence": absence, "note": note}  # fmt: skip


@api.post("/attendance/events", response={200: EventResult, 201: EventResult},
          tags=["Attendance"], auth=TokenAuth(Permission.ATTENDANCE_WRITE))  # fmt: skip
def attendance_event(request, event: AttendanceEventIn):
    """Record an absence or early departure, or correct one (the same `event_id` again)."""
    result = _apply(request, event)
    return Status(201 if result["outcome"] == "created" else 200, result)


@api.post("/attendance/edfi/studentSchoolAttendanceEvents",
          response={200: EventResult, 201: EventResult}, tags=["Attendance"],
          auth=TokenAuth(Permission.ATTENDANCE_WRITE))  # fmt: skip
def attendance_edfi(request, event: EdFiAttendanceEvent):
    """The same, from an Ed-Fi StudentSchoolAttendanceEvent. The school is matched by its
    code in Last Bell; the event's `id`, or its natural key, makes it idempotent."""
    token = _require(request, Permission.ATTENDANCE_WRITE)
    ours, school_id = _edfi_event(event, CodeMap.for_district(token.district_id))
    result = _apply(request, ours, edfi_school=school_id)
    return Status(201 if result["outcome"] == "created" else 200, result)


def _event_absence(token: ApiToken, event_id: str) -> Absence:
    absences = Absence.objects.select_related("student", "student__school").filter(
        external_id=event_id, student__school__district_id=token.district_id
    )
    if token.school_id:
        absences = absences.filter(student__school_id=token.school_id)
    absence = absences.first()
    if absence is None:
        raise Problem(404, "No such event", f"No attendance event {event_id} in this scope.")
    return absence


@api.put(
    "/attendance/events/{event_id}",
    response=EventResult,
    tags=["Attendance"],
    auth=TokenAuth(Permission.ATTENDANCE_WRITE),
)
def attendance_event_correct(request, event_id: str, event: AttendanceEventIn):
    """Correct an event the source sent before (its id in the path wins)."""
    _event_absence(_require(request, Permission.ATTENDANCE_WRITE), event_id)
    return _apply(request, event.model_copy(update={"event_id": event_id}))


@api.delete(
    "/attendance/events/{event_id}",
    response=EventResult,
    tags=["Attendance"],
    auth=TokenAuth(Permission.ATTENDANCE_WRITE),
)
def attendance_event_delete(request, event_id: str):
    """Withdraw an event: the day's usual plan comes back."""
    absence = _event_absence(_require(request, Permission.ATTENDANCE_WRITE), event_id)
    sis_id = absence.student.sis_id
    if absence.source == Source.STAFF:
        return {"event_id": event_id, "outcome": "kept", "student_id": sis_id,
                "absence": absence, "note": STAFF_KEPT}  # fmt: skip
    absence_remove(absence=absence, actor=None)
    return {"event_id": event_id, "outcome": "removed", "student_id": sis_id, "absence": None}


# ---------------------------------------------------------------------------------------------
# Bus assignments

DAY_NAMES = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class BusAssignmentIn(In):
    student_id: str = Field(min_length=1, max_length=64)
    bus: str = Field(min_length=1, max_length=32, description="The bus number")
    route_name: str = Field("", max_length=200)
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = Field(
        None, description="The days this bus takes the student home; every school day if absent"
    )
    direction: Literal["from_school", "to_and_from_school", "to_school"] = Field(
        "to_and_from_school", description="Only rides home matter at dismissal; to_school rows "
        "are ignored",
    )  # fmt: skip


class BusFeedIn(In):
    starts_on: dt.date | None = Field(None, description="Today at the school if absent")
    assignments: list[BusAssignmentIn] = Field(max_length=20000)


class RejectedRow(Schema):
    item: int
    student_id: str
    reason: str


class BusFeedOut(Schema):
    applied: bool
    counts: dict[str, int]
    created: list[str]
    updated: list[str]
    kept: list[str]
    ended: list[str]
    rejected: list[RejectedRow]
    routes_created: list[str]


@api.put(
    "/schools/{school_id}/bus-assignments",
    response=BusFeedOut,
    tags=["Buses"],
    auth=TokenAuth(Permission.BUSES_WRITE),
)
def bus_assignments(request, school_id: int, feed: BusFeedIn, dry_run: bool = False):
    """The school's whole bus feed. Defaults it made follow it; defaults set by staff or a
    guardian are kept; students who left the feed lose the default it made. `dry_run=true`
    reports the same without changing anything."""
    from lastbell.plans.bus_feed import Assignment, bus_feed_apply

    token = _require(request, Permission.BUSES_WRITE)
    school = _school(token, school_id)
    rows = [
        Assignment(row=n, student_id=item.student_id, bus=item.bus, route_name=item.route_name,
                   weekdays=(sum(1 << DAY_NAMES[d] for d in set(item.weekdays))
                             if item.weekdays is not None else SCHOOL_WEEK))
        for n, item in enumerate(feed.assignments, start=1)
        if item.direction != "to_school"
    ]  # fmt: skip
    report = bus_feed_apply(
        school=school, assignments=rows, starts_on=feed.starts_on, apply=not dry_run,
        source_detail=f"API token {token.name}",
    )  # fmt: skip
    return {
        "applied": report.applied, "counts": report.counts(), "created": report.created,
        "updated": report.updated, "kept": [sis for sis, _ in report.kept],
        "ended": report.ended, "routes_created": report.routes_created,
        "rejected": [{"item": row, "student_id": sis, "reason": why}
                     for row, sis, why in report.rejected],
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Students and guardians


class GuardianUpsert(In):
    guardian_id: str = Field(min_length=1, max_length=64, description="The source's id")
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str = Field("", max_length=254)
    mobile: str = Field("", max_length=40)
    language: Literal["", "en", "es"] = Field("", description="Only for a new guardian")
    relationship: str = Field("", max_length=50)


class StudentUpsert(In):
    student_id: str = Field(min_length=1, max_length=64, description="The SIS id")
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    preferred_name: str = Field("", max_length=100)
    grade: str = Field("", max_length=10)
    homeroom: str = Field("", max_length=100)
    enrolled_on: dt.date | None = None
    withdrawn_on: dt.date | None = None
    guardians: list[GuardianUpsert] = Field(default_factory=list, max_length=20)


class PeopleIn(In):
    students: list[StudentUpsert] = Field(max_length=5000)


class PeopleOut(Schema):
    students: dict[str, str]
    guardians: dict[str, str]
    links_created: int
    rejected: list[RejectedRow]


@api.post(
    "/schools/{school_id}/people",
    response=PeopleOut,
    tags=["Students and guardians"],
    auth=TokenAuth(Permission.PEOPLE_WRITE),
)
def people_upsert(request, school_id: int, people: PeopleIn):
    """Create or update students and their guardians, matched by the source's ids. A
    guardian's own choices (their language) are never overwritten; a school-scoped token
    cannot move or change another school's students or families."""
    from lastbell.people.roster import GuardianIn, StudentIn, roster_upsert

    token = _require(request, Permission.PEOPLE_WRITE)
    school = _school(token, school_id)
    items = [
        StudentIn(sis_id=s.student_id, first_name=s.first_name, last_name=s.last_name,
                  preferred_name=s.preferred_name, grade=s.grade, homeroom=s.homeroom,
                  enrolled_on=s.enrolled_on, withdrawn_on=s.withdrawn_on,
                  guardians=[GuardianIn(source_id=g.guardian_id, first_name=g.first_name,
                                        last_name=g.last_name, email=g.email, mobile=g.mobile,
                                        language=g.language, relationship=g.relationship)
                             for g in s.guardians])
        for s in people.students
    ]  # fmt: skip
    result = roster_upsert(school=school, students=items, source_detail=f"API token {token.name}",
                           whole_district=token.school_id is None)  # fmt: skip
    return {"students": result.students, "guardians": result.guardians,
            "links_created": result.links_created,
            "rejected": [{"item": n, "student_id": key, "reason": why}
                         for n, key, why in result.rejected]}  # fmt: skip

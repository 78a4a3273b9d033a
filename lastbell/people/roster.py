"""Students and guardians from another system (the API's upsert), matched by their ids there:
a student by SIS id within the district, a guardian by the source's id. Set-based: a few
queries per call however many people, bulk writes, one audit event per call."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from lastbell import live
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.people.models import Guardian, GuardianLink, Student
from lastbell.schools.models import Homeroom

STUDENT_FIELDS = ["first_name", "last_name", "preferred_name", "grade", "homeroom_id",
                  "enrolled_on", "withdrawn_on", "school_id"]  # fmt: skip
GUARDIAN_FIELDS = ["first_name", "last_name", "email", "mobile"]


@dataclass
class GuardianIn:
    source_id: str
    first_name: str
    last_name: str
    email: str = ""
    mobile: str = ""
    language: str = ""  # used only for a new guardian: their own choice is never overwritten
    relationship: str = ""


@dataclass
class StudentIn:
    sis_id: str
    first_name: str
    last_name: str
    grade: str = ""
    preferred_name: str = ""
    homeroom: str = ""
    enrolled_on: dt.date | None = None
    withdrawn_on: dt.date | None = None
    guardians: list[GuardianIn] = field(default_factory=list)


@dataclass
class UpsertResult:
    students: dict[str, str] = field(default_factory=dict)  # SIS id → created/updated/kept
    guardians: dict[str, str] = field(default_factory=dict)  # source id → ...
    links_created: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (item, id, why)


def roster_upsert(*, school, students: list[StudentIn], actor=None, via=Via.API,
                  source_detail="", whole_district=False) -> UpsertResult:  # fmt: skip
    """Create or update `students` at `school` with their guardians and links.

    Without `whole_district` (a school-scoped caller) a student or guardian who belongs to
    another school of the district is rejected, not moved or changed.
    """
    result = UpsertResult()
    today = school.today()
    seen: set[str] = set()
    wanted: list[StudentIn] = []
    for n, item in enumerate(students, start=1):
        if item.sis_id in seen:
            result.rejected.append((n, item.sis_id, "this student id is already in the request"))
        elif item.withdrawn_on and item.enrolled_on and item.withdrawn_on < item.enrolled_on:
            result.rejected.append((n, item.sis_id, "withdrawn before being enrolled"))
        else:
            seen.add(item.sis_id)
            wanted.append(item)

    with transaction.atomic():
        existing = {
            s.sis_id: s
            for s in Student.objects.filter(
                school__district_id=school.district_id, sis_id__in=[i.sis_id for i in wanted]
            )  # fmt: skip
        }
        rooms = {h.name: h for h in Homeroom.objects.filter(school=school)}
        new_rooms = sorted({i.homeroom for i in wanted if i.homeroom} - set(rooms))
        for room in Homeroom.objects.bulk_create(
            [Homeroom(school=school, name=n) for n in new_rooms]
        ):
            rooms[room.name] = room
        creates, updates = [], []
        for item in wanted:
            values = {
                "first_name": item.first_name, "last_name": item.last_name,
                "preferred_name": item.preferred_name, "grade": item.grade,
                "homeroom_id": rooms[item.homeroom].pk if item.homeroom else None,
                "withdrawn_on": item.withdrawn_on, "school_id": school.pk,
            }  # fmt: skip
            student = existing.get(item.sis_id)
            if student is not None and student.school_id != school.pk and not whole_district:
                result.rejected.append((wanted.index(item) + 1, item.sis_id,
                                        "this student is at another school"))  # fmt: skip
                continue
            if student is None:
                creates.append(Student(sis_id=item.sis_id, enrolled_on=item.enrolled_on or today,
                                       **values))  # fmt: skip
                result.students[item.sis_id] = "created"
                continue
            if item.enrolled_on:
                values["enrolled_on"] = item.enrolled_on
            if any(getattr(student, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(student, key, value)
                updates.append(student)
                result.students[item.sis_id] = "updated"
            else:
                result.students[item.sis_id] = "kept"
        Student.objects.bulk_create(creates, batch_size=1000)
        Student.objects.bulk_update(updates, STUDENT_FIELDS, batch_size=1000)
        by_sis = {**existing, **{s.sis_id: s for s in creates}}

        placed = set(result.students)
        wanted = [item for item in wanted if item.sis_id in placed]
        payload = {g.source_id: g for item in wanted for g in item.guardians}
        known = {
            g.source_id: g
            for g in Guardian.objects.filter(
                district_id=school.district_id, source_id__in=list(payload)
            )  # fmt: skip
        }
        if not whole_district and known:
            # A family of another school is theirs to change, not this school's feed's.
            here = set(
                GuardianLink.objects.filter(
                    guardian__in=known.values(), student__school=school
                ).values_list("guardian_id", flat=True)
            )
            elsewhere = set(
                GuardianLink.objects.filter(guardian__in=known.values())
                .exclude(student__school=school).values_list("guardian_id", flat=True)
            )  # fmt: skip
            for source_id, guardian in list(known.items()):
                if guardian.pk in elsewhere and guardian.pk not in here:
                    result.rejected.append((0, source_id, "this guardian's children are at "
                                            "another school"))  # fmt: skip
                    del payload[source_id]
                    del known[source_id]
        new_guardians, changed = [], []
        for source_id, g in payload.items():
            values = {"first_name": g.first_name, "last_name": g.last_name, "email": g.email,
                      "mobile": g.mobile}  # fmt: skip
            guardian = known.get(source_id)
            if guardian is None:
                language = g.language if g.language in ("en", "es") else "en"
                new_guardians.append(Guardian(district_id=school.district_id, source_id=source_id,
                                              language=language, **values))  # fmt: skip
                result.guardians[source_id] = "created"
            elif any(getattr(guardian, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(guardian, key, value)
                changed.append(guardian)
                result.guardians[source_id] = "updated"
            else:
                result.guardians[source_id] = "kept"
        Guardian.objects.bulk_create(new_guardians, batch_size=1000)
        Guardian.objects.bulk_update(changed, GUARDIAN_FIELDS, batch_size=1000)
        guardians = {**known, **{g.source_id: g for g in new_guardians}}

        pairs = {
            (by_sis[item.sis_id].pk, guardians[g.source_id].pk): g.relationship
            for item in wanted
            for g in item.guardians
            if g.source_id in guardians
        }
        linked = set(
            GuardianLink.objects.filter(student_id__in=[s for s, _ in pairs]).values_list(
                "student_id", "guardian_id"
            )
        )
        links = [GuardianLink(student_id=s, guardian_id=g, relationship=r or "Guardian")
                 for (s, g), r in pairs.items() if (s, g) not in linked]  # fmt: skip
        GuardianLink.objects.bulk_create(links, batch_size=1000)
        result.links_created = len(links)

        counts = {"students": _count(result.students), "guardians": _count(result.guardians),
                  "links_created": len(links), "rejected": len(result.rejected)}  # fmt: skip
        if creates or updates or new_guardians or changed or links:
            audit_record(
                action="import.people", actor=actor, target=school, school=school,
                after={"source": source_detail, **counts}, via=via,
                label=f"Students and guardians from {source_detail or 'another system'}",
            )  # fmt: skip
            live.board_changed(school.pk)  # bulk writes send no model signals
    return result


def _count(outcomes: dict[str, str]) -> dict[str, int]:
    return {o: sum(1 for v in outcomes.values() if v == o) for o in ("created", "updated", "kept")}

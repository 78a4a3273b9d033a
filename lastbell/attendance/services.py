"""Writes of attendance: absences from the attendance system, each with its audit event.

An absence is keyed by student and date (one per day). A source's event id, kept in
`external_id`, lets the source correct or delete what it sent; sending the same event again
changes nothing.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from lastbell.attendance.models import Absence
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.plans.models import Source


@dataclass
class AbsenceSpec:
    date: dt.date
    kind: str = Absence.Kind.ABSENT
    excused: bool = False
    departs_at: dt.time | None = None
    reason: str = ""

    def fields(self) -> dict:
        departs = self.departs_at if self.kind == Absence.Kind.EARLY_DEPARTURE else None
        return {"kind": self.kind, "excused": self.excused, "departs_at": departs,
                "reason": self.reason.strip()[:200]}  # fmt: skip


def _snapshot(absence: Absence) -> dict:
    return {
        "date": absence.date.isoformat(), "kind": absence.kind, "excused": absence.excused,
        "departs_at": absence.departs_at.strftime("%H:%M") if absence.departs_at else None,
        "reason": absence.reason, "event": absence.external_id,
    }  # fmt: skip


def absence_record(
    *, student, spec: AbsenceSpec, event_id: str = "", source_detail: str = "", actor=None,
    via=Via.API,
) -> tuple[Absence, str]:  # fmt: skip
    """Record or correct the student's absence for `spec.date`.

    Returns the absence and what happened: "created", "updated" or "kept" (the same event
    again). An event id that already names another day's absence moves it to this day.
    """
    with transaction.atomic():
        absence = None
        if event_id:
            absence = (
                Absence.objects.select_for_update()
                .filter(
                    student__school__district_id=student.school.district_id, external_id=event_id
                )  # fmt: skip
                .first()
            )
        if absence is not None and (absence.student_id, absence.date) != (student.pk, spec.date):
            # The source corrected the student or the day of its event: that day's own
            # absence (if any) gives way to the corrected one.
            Absence.objects.filter(student=student, date=spec.date).exclude(pk=absence.pk).delete()
        if absence is None:
            absence = (
                Absence.objects.select_for_update().filter(student=student, date=spec.date).first()
            )
        fields = {**spec.fields(), "student": student, "date": spec.date}
        if absence is None:
            absence = Absence.objects.create(
                **fields, source=Source.IMPORT, source_detail=source_detail,
                external_id=event_id,
            )  # fmt: skip
            outcome, before = "created", None
        else:
            before, before_student = _snapshot(absence), absence.student_id
            for name, value in {**fields, "external_id": event_id or absence.external_id}.items():
                setattr(absence, name, value)
            if _snapshot(absence) == before and before_student == student.pk:
                return absence, "kept"
            absence.source_detail = source_detail or absence.source_detail
            absence.save()
            outcome = "updated"
        audit_record(
            action=f"attendance.absence.{outcome}", actor=actor, target=absence,
            school=student.school, student=student, before=before, after=_snapshot(absence),
            via=via, label=f"{student.full_name}, {spec.date:%b %-d}",
        )  # fmt: skip
    return absence, outcome


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

import json
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from lastbell.audit.chain import CONTENT, LINKED, REDACTED, Links
from lastbell.audit.models import AuditEvent, Via
from lastbell.db import insert_rows


class NotInTransaction(RuntimeError):
    pass


def audit_record(
    *,
    action: str,
    actor,
    target,
    school=None,
    district=None,
    student=None,
    before=None,
    after=None,
    via: str = Via.WEB,
    label: str = "",
) -> AuditEvent:
    """Write the audit event of a change, inside the change's own transaction, as the next link
    of its district's chain (lastbell/audit/chain.py). Call it at the change's last write: the
    chain's head stays locked from here until commit."""
    if not connection.in_atomic_block:
        raise NotInTransaction("An audit event must be written in the change's transaction.")
    if district is None:
        from lastbell.schools.models import District

        if school is not None:
            district = school.district
        elif isinstance(target, District):
            district = target
        else:
            district = target.district
    actor_label = (str(actor) if actor is not None else "") or (
        "Import" if via == Via.IMPORT else "System"
    )
    event = AuditEvent(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label,
        via=via,
        district=district,
        school=school,
        student=student,
        target_type=type(target).__name__,
        target_id=str(target.pk or ""),
        target_label=label or str(target)[:300],
        before=before,
        after=after,
    )
    links = Links()
    links.stamp(event).save(force_insert=True)
    links.save()
    return event


def audit_records(events: list[dict]) -> list[AuditEvent]:
    """Many audit events at once (an import), each as audit_record would write it, in the
    transaction of the changes they describe."""
    if not connection.in_atomic_block:
        raise NotInTransaction("Audit events must be written in the changes' transaction.")
    rows = []
    for event in events:
        target, via, actor = event["target"], event.get("via", Via.WEB), event.get("actor")
        school = event.get("school")
        rows.append(AuditEvent(
            action=event["action"], actor=actor if actor is not None and actor.pk else None,
            actor_label=(str(actor) if actor is not None else "")
            or ("Import" if via == Via.IMPORT else "System"),
            via=via, district=event.get("district") or school.district, school=school,
            student=event.get("student"), target_type=type(target).__name__,
            target_id=str(target.pk or ""), target_label=event.get("label") or str(target)[:300],
            before=event.get("before"), after=event.get("after"),
        ))  # fmt: skip
    links = Links()
    links.lock(row.district_id for row in rows)
    for row in rows:
        links.stamp(row)
    saved = AuditEvent.objects.bulk_create(rows, batch_size=1000)
    links.save()
    return saved


AUDIT_COLUMNS = CONTENT


def audit_event(*, action: str, actor, via: str, district_id: int, school_id=None,
                student_id=None, target_type: str, target_id, label: str, before=None,
                after=None, at=None) -> tuple:  # fmt: skip
    """An audit event as a row of AUDIT_COLUMNS, for writers of many rows (see `audit_saved`)."""
    return (
        at or timezone.now(), action, actor.pk if actor is not None and actor.pk else None,
        (str(actor) if actor is not None else "") or ("Import" if via == Via.IMPORT else "System"),
        via, district_id, school_id, student_id, target_type, str(target_id or ""),
        label[:300], before, after,
    )  # fmt: skip


def audit_saved(events: Iterable[tuple]) -> None:
    """Save events built by `audit_event`, in the transaction of the changes they describe,
    each linked into its district's chain as it streams to the database (no query per row)."""
    if not connection.in_atomic_block:
        raise NotInTransaction("Audit events must be written in the changes' transaction.")
    links = Links()
    insert_rows(AuditEvent, LINKED, links.linked(events))
    links.save()


def audit_redact_student(*, student_id: int, actor=None, names: Iterable[str] = ()) -> int:
    """Replace the personal fields of the events about a student (names in the labels, the
    values in before/after) with a marker, and mark them redacted; returns how many. The chain
    still verifies (the digests stay); the erasure is itself audited, without personal data.

    `names` (the student's, their departing family's): events of the school that name one of
    them in their words go too. A step of several students (a check-in of siblings, a bus's
    "All aboard", a late list) names them there, not by link."""
    from lastbell.people.models import Student

    student = Student.objects.select_related("school__district").get(pk=student_id)
    named = Q(pk__in=[])
    for name in {n.strip() for n in names if len(n.strip()) >= 3}:
        # As written, and as JSON keeps it where it escapes what is not ASCII (SQLite).
        for form in {name, json.dumps(name)[1:-1]}:
            named |= (Q(actor_label__contains=form) | Q(target_label__contains=form)
                      | Q(before_text__contains=form) | Q(after_text__contains=form))  # fmt: skip
    with transaction.atomic():
        events = list(
            AuditEvent.objects.select_for_update(no_key=True)
            .annotate(
                before_text=Cast("before", TextField()), after_text=Cast("after", TextField())
            )
            .filter(
                Q(student_id=student_id) | Q(named, school_id=student.school_id), redacted=False
            )
            .only("pk", "before", "after")
        )
        for event in events:
            event.actor_label = event.target_label = REDACTED
            event.before, event.after = _redacted(event.before), _redacted(event.after)
            event.redacted = True
        AuditEvent.objects.bulk_update(
            events, ["actor_label", "target_label", "before", "after", "redacted"], batch_size=500
        )
        audit_record(
            action="audit.student.redacted", actor=actor, target=student,
            school=student.school, via=Via.SYSTEM if actor is None else Via.WEB,
            label=f"{len(events)} event{'s' if len(events) != 1 else ''} redacted",
            after={"events": len(events)},
        )  # fmt: skip
    return len(events)


def _redacted(values):
    # Keys stay (the History tab still says what kind of change it was); values go.
    if isinstance(values, dict):
        return {key: REDACTED for key in values}
    return None if values is None else REDACTED

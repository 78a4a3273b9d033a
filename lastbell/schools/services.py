from django.db import transaction

from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.schools.models import School


def school_tracker_set(*, school: School, enabled: bool, actor, via=Via.WEB) -> School:
    """Turn the dismissal tracker on or off for a school (district admins only)."""
    with transaction.atomic():
        school = School.objects.select_for_update(no_key=True).get(pk=school.pk)
        if school.tracker_enabled == enabled:
            return school
        school.tracker_enabled = enabled
        school.save(update_fields=["tracker_enabled"])
        audit_record(
            action="school.tracker.enabled" if enabled else "school.tracker.disabled",
            actor=actor, target=school, school=school,
            before={"tracker_enabled": not enabled}, after={"tracker_enabled": enabled},
            via=via,
        )  # fmt: skip
    return school


def _settings_snapshot(school: School) -> dict:
    from django.forms.models import model_to_dict

    data = model_to_dict(school, exclude=["id", "district", "tracker_enabled"])
    return {k: (v.strftime("%H:%M") if hasattr(v, "strftime") else v) for k, v in data.items()}


def school_settings_save(*, school: School, actor, via=Via.WEB) -> School:
    """Save a school's settings form (already validated) with its audit event."""
    with transaction.atomic():
        before = _settings_snapshot(School.objects.select_for_update(no_key=True).get(pk=school.pk))
        school.save()
        after = _settings_snapshot(school)
        changed = {k for k in after if before.get(k) != after[k]}
        if not changed:
            return school
        audit_record(
            action="school.settings.updated", actor=actor, target=school, school=school,
            before={k: before[k] for k in sorted(changed)},
            after={k: after[k] for k in sorted(changed)}, via=via,
        )  # fmt: skip
    return school


def calendar_day_save(*, day, actor, via=Via.WEB):
    with transaction.atomic():
        existing = type(day).objects.filter(school=day.school, date=day.date).first()
        before = None
        if existing is not None:
            before = {"kind": existing.kind, "note": existing.note}
            day.pk = existing.pk
        day.save()
        audit_record(
            action="school.calendar.saved", actor=actor, target=day, school=day.school,
            before=before,
            after={"date": day.date.isoformat(), "kind": day.kind, "note": day.note,
                   "dismissal_time": day.dismissal_time.strftime("%H:%M")
                   if day.dismissal_time else None},
            via=via, label=f"{day.school.name} calendar {day.date:%b %-d, %Y}",
        )  # fmt: skip
    return day


def calendar_day_delete(*, day, actor, via=Via.WEB):
    with transaction.atomic():
        audit_record(
            action="school.calendar.removed", actor=actor, target=day, school=day.school,
            before={"date": day.date.isoformat(), "kind": day.kind, "note": day.note},
            via=via, label=f"{day.school.name} calendar {day.date:%b %-d, %Y}",
        )  # fmt: skip
        day.delete()


def term_save(*, term, actor, via=Via.WEB):
    with transaction.atomic():
        term.save()
        audit_record(
            action="school.term.saved", actor=actor, target=term, school=term.school,
            after={"name": term.name, "starts_on": term.starts_on.isoformat(),
                   "ends_on": term.ends_on.isoformat()},
            via=via,
        )  # fmt: skip
    return term


def bus_route_save(*, route, actor, via=Via.WEB):
    creating = route.pk is None
    with transaction.atomic():
        before = None
        if not creating:
            old = type(route).objects.select_for_update(no_key=True).get(pk=route.pk)
            before = {"number": old.number, "name": old.name, "active": old.active}
        route.save()
        audit_record(
            action="school.bus_route.created" if creating else "school.bus_route.updated",
            actor=actor, target=route, school=route.school, before=before,
            after={"number": route.number, "name": route.name, "active": route.active},
            via=via,
        )  # fmt: skip
    return route

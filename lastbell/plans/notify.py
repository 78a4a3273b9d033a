"""Plan confirmations: every guardian of the student hears of a change a person made
(DESIGN.md §2 "Parents"), by email and text where they have them, in their own language."""

import datetime as dt

from django.utils import formats
from django.utils.translation import gettext as _

from lastbell.plans.models import PlanType, Source
from lastbell.plans.weekdays import days_of

TYPE_NAMES = {
    PlanType.BUS: lambda: _("Bus"),
    PlanType.PICKUP: lambda: _("Pickup"),
    PlanType.WALK: lambda: _("Walks home"),
    PlanType.BIKE: lambda: _("Bikes home"),
    PlanType.EARLY_DISMISSAL: lambda: _("Early dismissal"),
    PlanType.OTHER: lambda: _("Other"),
}


def describe(plan) -> str:
    """One plan (a default's day or a change) in words, in the active language."""
    text = TYPE_NAMES.get(plan.plan_type, lambda: plan.plan_type)()
    if plan.plan_type == PlanType.BUS and plan.bus_route_id:
        text += f" {plan.bus_route.number}"
    if plan.plan_type == PlanType.PICKUP:
        who = plan.pickup_guardian.full_name if plan.pickup_guardian_id else plan.pickup_name
        text = _("Picked up by %(name)s") % {"name": who}
    if plan.dismiss_at:
        text += " " + _("at %(time)s") % {
            "time": formats.time_format(plan.dismiss_at, "TIME_FORMAT")
        }
    if plan.note:
        text += f" — {plan.note}"
    return text


def _day(date) -> str:
    return formats.date_format(date, "D M j")


def _weekday_names(mask) -> str:
    monday = dt.date(2026, 11, 16)
    return ", ".join(formats.date_format(monday + dt.timedelta(days=d), "D") for d in days_of(mask))


def default_lines(default) -> list[str]:
    days = sorted(default.days.all(), key=lambda day: day.weekday)
    start = _("From %(day)s") % {"day": _day(default.starts_on)}
    if len({describe(day) for day in days}) == 1 and len(days) >= 5:
        every = _("every school day")
        return [f"{start}, {every}: {describe(days[0])}"]
    return [start + ":"] + [f"{_weekday_names(1 << day.weekday)}: {describe(day)}" for day in days]


def change_lines(change, *, removed=False) -> list[str]:
    if change.ends_on == change.starts_on:
        span = _day(change.starts_on)
    else:
        span = _("%(first)s to %(last)s") % {
            "first": _day(change.starts_on),
            "last": _day(change.ends_on),
        }
        if change.weekdays & 0b11111 != 0b11111:
            span += f" ({_weekday_names(change.weekdays)})"
    if removed:
        return [_("Removed the change for %(span)s; the usual plan applies.") % {"span": span}]
    return [f"{span}: {describe(change)}"]


def enrollment_lines(enrollment, *, ended_after=None) -> list[str]:
    program = enrollment.program
    if ended_after is not None:
        return [_("%(program)s: no more days after %(day)s.")
                % {"program": program.name, "day": _day(ended_after)}]  # fmt: skip
    return [_("From %(day)s: %(program)s on %(days)s, until %(time)s.") % {
        "day": _day(enrollment.starts_on), "program": program.name,
        "days": _weekday_names(enrollment.weekdays & program.weekdays),
        "time": formats.time_format(program.end_time, "TIME_FORMAT"),
    }]  # fmt: skip


def default_ended_lines(last_day) -> list[str]:
    return [_("No usual plan after %(day)s.") % {"day": _day(last_day)}]


def confirm(*, student, actor, source, lines_of) -> list:
    """Queue a confirmation to each guardian of `student` (inside the change's transaction).

    `lines_of()` describes the change; it is called once per guardian in their language.
    Imports and the system don't confirm: a person did not change anything.
    """
    if source not in (Source.GUARDIAN, Source.STAFF):
        return []
    from lastbell.family.links import child_link
    from lastbell.i18n import guardian_language
    from lastbell.messaging.services import queue_for_guardian
    from lastbell.people.services import guardians_to_tell

    queued = []
    school = student.school
    for guardian in guardians_to_tell(student):
        with guardian_language(guardian):
            if source == Source.STAFF:
                who = _("%(school)s office") % {"school": school.name}
            else:
                who = actor.get_full_name() if actor else _("A guardian")
            context = {
                "lines": lines_of(),
                "actor_name": who,
                "link": child_link(guardian, student),
            }
        queued += queue_for_guardian(
            guardian=guardian, kind="plan_confirmation", template="plan_changed", school=school,
            student=student, context=context, created_by=actor,
        )  # fmt: skip
    return queued

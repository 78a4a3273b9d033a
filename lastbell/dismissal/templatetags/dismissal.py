"""Template tags of the dismissal screens."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

STATE_LABELS = {"waiting": "Family here", "sent": "Sent to the door", "released": "Released",
                "absent": "Absent"}  # fmt: skip
LATE = mark_safe(' <span class="state state-late">Late</span>')  # noqa: S308 — a constant


@register.simple_tag(takes_context=True)
def state_badge(context, state):
    """A student's dismissal state as a badge (`state`: a StudentState), and "Late" when the
    screen's `late_ids` has them. A tag, not an include: the curb draws one for every student
    in its queue at every step of the school, and an include costs ten times as much."""
    badge = format_html('<span class="state state-{}">{}</span>', state.status,
                        STATE_LABELS.get(state.status, "On campus"))  # fmt: skip
    late_ids = context.get("late_ids")
    if late_ids and state.student_id in late_ids:
        badge += LATE
    return badge

"""The dismissal reports of a school, for its office: completion time per day, late pickups
per week, the emergency days with their logs, and who picked up each student. Each has a date
range and a CSV. The figures come from lastbell/dismissal/reports.py."""

import csv
import datetime as dt
import io

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET

from lastbell.dismissal import reports
from lastbell.plans.views import SchoolPage, _safe_cell

DEFAULT_DAYS = 56  # eight weeks
MAX_DAYS = 400  # a school year and a bit
STUDENTS_PER_PAGE = 25


class RangeForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(
        attrs={"type": "date"}))  # fmt: skip
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(
        attrs={"type": "date"}))  # fmt: skip
    q = forms.CharField(label="Student", required=False, max_length=100)

    def __init__(self, data, *, today, **kwargs):
        super().__init__(data, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The first day comes after the last: swap them.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(
                f"Choose at most {MAX_DAYS} days: a school year fits in one report."
            )
        data["start"], data["end"] = start, end
        return data


class Reports:
    """The school, the user's access (office staff and admins) and the chosen range."""

    def __init__(self, request, school_id):
        self.page = SchoolPage(request, school_id)
        self.page.access.require_edit()
        self.school = self.page.school
        self.form = RangeForm(request.GET, today=self.page.today)
        if self.form.is_valid():
            data = self.form.cleaned_data
            self.start, self.end, self.q = data["start"], data["end"], data["q"].strip()
        else:
            self.end = self.page.today
            self.start = self.end - dt.timedelta(days=DEFAULT_DAYS - 1)
            self.q = ""

    def query(self, **extra) -> str:
        values = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.q:
            values["q"] = self.q
        return urlencode({**values, **extra})

    def context(self, report, **extra):
        return self.page.context(
            "reports", screen="reports", report=report, form=self.form, start=self.start,
            end=self.end, q=self.q, range_query=self.query(), **extra,
        )  # fmt: skip

    def csv(self, name: str, header: list[str], rows) -> HttpResponse:
        out = io.StringIO()
        out.write("\ufeff")  # so Excel reads UTF-8 names correctly
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([_cell(value) for value in row] for row in rows)
        dates = f"{self.start.isoformat()} to {self.end.isoformat()}"
        filename = f"{self.school.name} {name} {dates}.csv"
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response


def _cell(value):
    """Text is kept from running as a formula; numbers stay numbers (a negative one too)."""
    return value if isinstance(value, int | float) else _safe_cell(value)


def _bars(items, value, label, text):
    """Rows for a horizontal bar chart (the dashboard's style): each bar's width in percent of
    the largest value."""
    top = max((value(item) for item in items), default=0) or 1
    return [
        {"label": label(item), "text": text(item),
         "width": round(100 * max(value(item), 0) / top, 1), "item": item}
        for item in items
    ]  # fmt: skip


def _late_bars(weeks):
    top = max((max(w.released_late, w.flagged) for w in weeks), default=0) or 1
    return [
        {"week": w, "released_width": round(100 * w.released_late / top, 1),
         "flagged_width": round(100 * w.flagged / top, 1)}
        for w in weeks
    ]  # fmt: skip


@login_required
@require_GET
def overview(request, school_id):
    r = Reports(request, school_id)
    days = reports.completion_by_day(r.school, r.start, r.end)
    weeks = reports.late_by_week(r.school, r.start, r.end)
    completion = _bars(
        days, value=lambda d: d.minutes, label=lambda d: d.date.strftime("%a %b %-d"),
        text=lambda d: f"{d.minutes} min",
    )  # fmt: skip
    context = r.context(
        "overview", days=days, completion=completion, weeks=weeks, late=_late_bars(weeks),
        late_total=sum(w.released_late for w in weeks), flagged_total=sum(w.flagged for w in weeks),
        emergencies=list(reports.emergency_days(r.school, r.start, r.end)),
    )  # fmt: skip
    return render(request, "dismissal/reports.html", context)


@login_required
@require_GET
def pickups(request, school_id):
    r = Reports(request, school_id)
    students = reports.picked_up_students(r.school, r.start, r.end, r.q)
    page_obj = Paginator(students, STUDENTS_PER_PAGE).get_page(request.GET.get("page"))
    blocks = reports.pickups_of(r.school, page_obj.object_list, r.start, r.end)
    context = r.context("pickups", page_obj=page_obj, blocks=blocks)
    template = "dismissal/reports_pickups.html"
    return render(request, f"{template}#results" if request.htmx else template, context)


@login_required
@require_GET
def completion_csv(request, school_id):
    r = Reports(request, school_id)
    header = ["Date", "Mode", "Dismissal time", "First release", "Last release",
              "Minutes first to last", "Last release, minutes after dismissal", "Released",
              "Released late"]  # fmt: skip
    rows = (
        [d.date.isoformat(), d.mode_label, d.dismiss_at.strftime("%H:%M"),
         d.first.strftime("%H:%M:%S"), d.last.strftime("%H:%M:%S"), d.minutes,
         d.last_after_bell, d.released, d.late]
        for d in reports.completion_by_day(r.school, r.start, r.end)
    )  # fmt: skip
    return r.csv("dismissal completion", header, rows)


@login_required
@require_GET
def late_csv(request, school_id):
    r = Reports(request, school_id)
    header = ["ISO week", "Week of", "Released late", "Flagged still on campus"]
    rows = (
        [w.label, w.monday.isoformat(), w.released_late, w.flagged]
        for w in reports.late_by_week(r.school, r.start, r.end)
    )
    return r.csv("late pickups", header, rows)


@login_required
@require_GET
def emergencies_csv(request, school_id):
    r = Reports(request, school_id)
    tz = r.school.tz
    header = ["Date", "Emergency since", "Switched by", "Reunification site", "Instructions",
              "Ended", "Ended by", "Released"]  # fmt: skip
    rows = (
        [d.date.isoformat(),
         d.emergency_at.astimezone(tz).strftime("%H:%M:%S") if d.emergency_at else "",
         str(d.emergency_by or ""), d.reunification_site, d.emergency_message,
         d.emergency_ended_at.astimezone(tz).strftime("%H:%M:%S") if d.emergency_ended_at
         else "", str(d.emergency_ended_by or ""), d.released]
        for d in reports.emergency_days(r.school, r.start, r.end)
    )  # fmt: skip
    return r.csv("emergency days", header, rows)


@login_required
@require_GET
def pickups_csv(request, school_id):
    r = Reports(request, school_id)
    tz = r.school.tz
    header = ["Student ID", "Last name", "First name", "Date", "Time", "Released to",
              "Kind", "Verification", "Reunifier", "Late", "By"]  # fmt: skip
    rows = (
        [e.student.sis_id, e.student.last_name, e.student.preferred_name or e.student.first_name,
         e.day.date.isoformat(), e.at.astimezone(tz).strftime("%H:%M:%S"),
         e.to_label or e.get_to_display(), e.get_to_display(),
         e.get_verification_display() if e.verification else "", e.reunifier,
         "yes" if e.late else "", e.by_label]
        for e in reports.pickup_rows(r.school, r.start, r.end, r.q)
    )  # fmt: skip
    return r.csv("pickups", header, rows)

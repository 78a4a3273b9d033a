"""The staff tabs of a school: dashboard, roster, students, a student's plan, CSV export."""

import csv
import datetime as dt
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_http_methods, require_POST

from lastbell import live as live_updates
from lastbell.accounts.access import (
    SchoolAccess,
    request_access,
    works_at_several_schools,
)
from lastbell.attendance.models import Absence
from lastbell.people.services import active_restrictions
from lastbell.plans import services
from lastbell.plans.board import EXPORT_HEADER, day_board, plan_days
from lastbell.plans.forms import BoardFilterForm, ChangeForm, default_forms
from lastbell.plans.models import LongTermDefault, PlanChange
from lastbell.plans.regions import render_live
from lastbell.schools.models import WEEKDAY_NAMES

STUDENTS_PER_PAGE = 50


class TrackerOff(Exception):
    """Raised for a school whose tracker is off; TrackerOffMiddleware shows the page."""

    def __init__(self, page):
        super().__init__(page.school.name)
        self.page = page


class TrackerOffMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, TrackerOff):
            return exception.page.tracker_off()
        return None


class SchoolPage:
    """The school, the chosen date and the user's access, for every tab.

    A school that has not enabled the tracker shows none of it (DESIGN §1), so every page
    but the school's settings stops here.
    """

    def __init__(self, request, school_id, *, tracker_required=True, live=False):
        self.request = request
        self.access: SchoolAccess = request_access(request, school_id)
        self.school = self.access.school
        self.today = self.school.today()
        raw = request.GET.get("date", "")
        self.date = self.today
        if raw:
            try:
                self.date = dt.date.fromisoformat(raw)
                if not 1900 <= self.date.year <= 2999:
                    raise ValueError(raw)
            except ValueError:
                self.date = self.today
                messages.error(request, f"“{raw}” is not a date; showing today instead.")
        self.live_since = ""
        if tracker_required and not self.school.tracker_enabled:
            raise TrackerOff(self)
        # A live page notes the version before it reads anything: its stream catches up on
        # what changed between this read and the moment it listens (live.version).
        if live and request.method == "GET" and not getattr(request, "htmx", None):
            self.live_since = live_updates.version(self.school)

    def board(self):
        return day_board(self.school, self.date, homeroom_ids=self.access.homeroom_ids)

    def context(self, tab, **extra):
        date = self.date
        return {
            "school": self.school,
            "access": self.access,
            "live_since": self.live_since,
            "tab": tab,
            "date": date,
            "today": self.today,
            "is_today": date == self.today,
            "when": "past" if date < self.today else ("today" if date == self.today else "future"),
            "several_schools": works_at_several_schools(self.request.user),
            "prev_date": date - dt.timedelta(days=1),
            "next_date": date + dt.timedelta(days=1),
            **extra,
        }

    def tracker_off(self):
        return render(self.request, "plans/tracker_off.html", self.context("dashboard"), status=200)


def _date_query(date, today) -> str:
    return "" if date == today else "?" + urlencode({"date": date.isoformat()})


@login_required
def dashboard(request, school_id):
    page = SchoolPage(request, school_id, live=True)

    def context():
        board = page.board()
        by_type = board.by_type()
        top = max((count for _, _, count in by_type), default=0) or 1
        chart = [
            {"type": kind, "label": label, "count": count, "width": round(100 * count / top, 1)}
            for kind, label, count in by_type
        ]
        missing = [row for row in board.rows if row.missing] if board.is_school_day else []
        more = max(0, len(missing) - 12)
        return page.context("dashboard", live=True, board=board, chart=chart,
                            missing=missing[:12], more_missing=more)  # fmt: skip

    return render_live(request, page, "plans/dashboard.html", "live", context)


@login_required
def roster(request, school_id):
    page = SchoolPage(request, school_id, live=True)

    def context():
        board = page.board()
        return page.context("roster", live=True, board=board, groups=board.groups())

    return render_live(request, page, "plans/roster.html", "live", context)


@login_required
def students(request, school_id):
    page = SchoolPage(request, school_id, live=True)

    def context():
        board = page.board()
        grades = sorted({r.grade for r in board.rows},
                        key=lambda g: (not g.isdigit(), g.zfill(3)))  # fmt: skip
        homerooms = sorted(
            {(r.homeroom_id, r.homeroom) for r in board.rows if r.homeroom_id}, key=lambda h: h[1]
        )
        form = BoardFilterForm(request.GET, grades=grades, homerooms=homerooms)
        rows = form.apply(board.rows)
        paginator = Paginator(rows, STUDENTS_PER_PAGE)
        page_obj = paginator.get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return page.context(
            "students", live=True, board=board, form=form, page_obj=page_obj,
            matched=len(rows), query=query.urlencode(),
        )  # fmt: skip

    return render_live(request, page, "plans/students.html", "results", context)


def _student_or_404(page: SchoolPage, student_id):
    students = page.school.students.all()
    if page.access.homeroom_ids is not None:
        students = students.filter(homeroom_id__in=page.access.homeroom_ids)
    return get_object_or_404(students.select_related("homeroom"), pk=student_id)


def _student_url(page, student, date=None):
    url = reverse("plans:student", args=[page.school.id, student.id])
    return url + _date_query(date or page.date, page.today)


@login_required
def student(request, school_id, student_id):
    page = SchoolPage(request, school_id)
    pupil = _student_or_404(page, student_id)
    # The chosen day and the school days of the next three weeks, in one pass of the board.
    boards = plan_days(
        page.school, page.date, page.date + dt.timedelta(days=20), student_ids=[pupil.id]
    )
    upcoming = [
        (day, board.rows[0], board)
        for day, board in boards.items()
        if board.is_school_day and board.rows
    ][:10]
    today_board = boards[page.date]
    row = today_board.rows[0] if today_board.rows else None
    defaults = list(
        LongTermDefault.objects.filter(student=pupil, cancelled_at__isnull=True)
        .exclude(ends_on__lt=page.today - dt.timedelta(days=180))
        .select_related("set_by")
        .prefetch_related("days__bus_route", "days__pickup_guardian")[:5]
    )
    for version in defaults:
        if version.starts_on > page.today:
            version.state = "scheduled"
        elif version.ends_on is not None and version.ends_on < page.today:
            version.state = "ended"
        else:
            version.state = "current"
    changes = (
        PlanChange.objects.filter(student=pupil, cancelled_at__isnull=True,
                                  ends_on__gte=page.today - dt.timedelta(days=30))
        .select_related("bus_route", "pickup_guardian", "set_by")
        .order_by("starts_on", "id")
    )  # fmt: skip
    absences = Absence.objects.filter(student=pupil, date__gte=page.today - dt.timedelta(days=60))
    enrollments = pupil.enrollments.select_related("program").exclude(ends_on__lt=page.today)
    return render(
        request, "plans/student.html",
        page.context("students", student=pupil, row=row, board=today_board, upcoming=upcoming,
                     defaults=defaults, has_standing=any(v.state != "ended" for v in defaults),
                     changes=changes, absences=absences[:10],
                     enrollments=enrollments, guardians=pupil.guardians.all(),
                     restrictions=active_restrictions(pupil, page.today).exists(),
                     weekday_names=WEEKDAY_NAMES),
    )  # fmt: skip


def _plan_forms(request, page, pupil, current=None):
    data = request.POST if request.method == "POST" else None
    return default_forms(data, school=page.school, student=pupil, current=current,
                         starts_on=page.today)  # fmt: skip


FIX_BELOW = "Some answers need a fix: see the messages in red below. Nothing was saved."


def form_invalid(request) -> int:
    """Say so at the top of a form that was sent back, and answer 400."""
    messages.error(request, FIX_BELOW)
    return 400


def apply_errors(exc: ValidationError, form):
    for field, messages_ in exc.message_dict.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


@login_required
@require_http_methods(["GET", "POST"])
def default_edit(request, school_id, student_id):
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    pupil = _student_or_404(page, student_id)
    current = (
        LongTermDefault.objects.filter(student=pupil, cancelled_at__isnull=True)
        .in_effect_on(page.today)
        .prefetch_related("days")
        .first()
    )
    start, every, by_day = _plan_forms(request, page, pupil, current)
    if request.method == "POST" and start.is_valid():
        pattern = start.cleaned_data["pattern"]
        forms_ok = (
            every.is_valid() if pattern == "same" else all(f.is_valid() for _, _, f in by_day)
        )
        if forms_ok:
            if pattern == "same":
                days = dict.fromkeys(range(5), every.spec())
            else:
                days = {d: f.spec() for d, _, f in by_day if f.spec() is not None}
            try:
                services.default_set(
                    student=pupil, starts_on=start.cleaned_data["starts_on"], days=days,
                    actor=request.user,
                )  # fmt: skip
            except ValidationError as exc:
                apply_errors(exc, start)
            else:
                messages.success(request, f"Saved the long-term default for {pupil.full_name}.")
                return redirect(_student_url(page, pupil))
    return render(
        request, "plans/default_form.html",
        page.context("students", student=pupil, start=start, every=every, by_day=by_day,
                     current=current),
        status=form_invalid(request) if request.method == "POST" else 200,
    )  # fmt: skip


@login_required
@require_POST
def default_end(request, school_id, student_id):
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    pupil = _student_or_404(page, student_id)
    yesterday = page.today - dt.timedelta(days=1)
    if services.default_end(student=pupil, last_day=yesterday, actor=request.user):
        messages.success(request, f"{pupil.full_name} has no long-term default from today.")
    else:
        messages.info(request, f"{pupil.full_name} had no long-term default to end.")
    return redirect(_student_url(page, pupil))


@login_required
@require_http_methods(["GET", "POST"])
def change_new(request, school_id, student_id):
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    pupil = _student_or_404(page, student_id)
    initial = {"starts_on": max(page.date, page.today)}
    form = ChangeForm(request.POST or None, school=page.school, student=pupil, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            change = services.change_create(
                student=pupil, starts_on=form.cleaned_data["starts_on"],
                ends_on=form.cleaned_data["ends_on"], weekday_mask=form.weekday_mask(),
                plan=form.spec(), actor=request.user,
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"Added a change for {pupil.full_name}: {change.span_label}.")
            return redirect(_student_url(page, pupil))
    return render(
        request,
        "plans/change_form.html",
        page.context("students", student=pupil, form=form),
        status=form_invalid(request) if request.method == "POST" else 200,
    )


@login_required
@require_POST
def change_cancel(request, school_id, student_id, change_id):
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    pupil = _student_or_404(page, student_id)
    change = get_object_or_404(PlanChange, pk=change_id, student=pupil)
    try:
        change = services.change_cancel(change=change, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if change.cancelled_at:
            messages.success(request, f"Removed the change for {change.span_label}.")
        else:
            messages.success(
                request,
                f"Ended the change after yesterday ({change.span_label}); "
                "the days already past keep it.",
            )
    return redirect(_student_url(page, pupil))


def _safe_cell(value: str) -> str:
    """Spreadsheets run a cell that starts like a formula; a leading quote keeps it text."""
    value = str(value)
    if value and value[0] in "=+-@\t\r|%":
        return "'" + value
    return value


@login_required
def export(request, school_id):
    page = SchoolPage(request, school_id)
    board = page.board()
    filename = f"{page.school.name} plans {page.date.isoformat()}.csv"
    # Built in memory and handed over once: writing row by row into the response re-reads
    # its charset for every row.
    out = io.StringIO()
    out.write("\ufeff")  # so Excel reads UTF-8 names correctly
    writer = csv.writer(out)
    writer.writerow(["Date", *EXPORT_HEADER])
    day = page.date.isoformat()
    if not board.is_school_day:
        writer.writerow([day, board.no_school_reason])
    else:
        tz = page.school.tz
        writer.writerows([day, *map(_safe_cell, row.export_values(tz))] for row in board.rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response

"""Letters (issue 6 §4, §6–§8): issue with a confirmation, the runs and their PDFs, the
letters issued (CSV too), voiding, the review list, conferences and referrals, and chronic
absence.

Every page exists for a school (its office: school admins, dismissal staff, district admins;
a teacher is refused, anyone else finds no such school) and for the district (district
admins only; anyone else finds no such district). A letter's own page is the school's: a
district admin reaches it there.
"""

import csv
import dataclasses
import functools
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lastbell.accounts.access import district_admin_or_404
from lastbell.plans.views import SchoolPage, apply_errors, form_invalid
from lastbell.truancy import chronic as chronic_absence
from lastbell.truancy import services, tracker
from lastbell.truancy.forms import ConferenceForm, IssueForm, ReferralForm, VoidForm
from lastbell.truancy.models import Conference, Letter, LetterBatch, Referral, TruancyPolicy

PER_PAGE = 50
SHOWN_ON_CONFIRM = 100


@dataclasses.dataclass
class Scope:
    """Where a page works: one school (its office) or the whole district (its admins)."""

    request: object
    district: object
    school: object = None
    page: SchoolPage | None = None

    @property
    def name(self) -> str:
        return "school" if self.school is not None else "district"

    @property
    def owner_id(self) -> int:
        return self.school.pk if self.school is not None else self.district.pk

    @property
    def title(self) -> str:
        return self.school.name if self.school is not None else self.district.name

    @property
    def layout(self) -> str:
        return "plans/_layout.html" if self.school is not None else "base.html"

    @property
    def is_district(self) -> bool:
        return self.school is None

    @property
    def timezone(self) -> str:
        return self.school.timezone if self.school is not None else self.district.timezone

    @property
    def today(self):
        return self.page.today if self.page else tracker.district_today(self.district)

    def url(self, view: str = "", *args) -> str:
        name = f"truancy:{self.name}_{view}" if view else f"truancy:{self.name}"
        return reverse(name, args=[self.owner_id, *args])

    @functools.cached_property
    def links(self) -> dict[str, str]:
        """The scope's truancy pages, for templates (a run's page is runs + "<id>/")."""
        names = ["issue", "batches", "letters", "letters_csv", "review", "followup", "chronic",
                 "policy"] + (["templates"] if self.is_district else [])  # fmt: skip
        return {"due": self.url(), **{name: self.url(name) for name in names}}

    def context(self, **extra) -> dict:
        if self.page is not None:
            return self.page.context("truancy", scope=self, **extra)
        return {"district": self.district, "scope": self, **extra}

    def policy(self) -> TruancyPolicy:
        """The policy whose letters the page names: the school's, or the district's."""
        if self.school is not None:
            return tracker.policy_for(self.school, self.today)
        saved = TruancyPolicy.objects.filter(district=self.district, school__isnull=True).first()
        return saved or TruancyPolicy.california(self.district, self.today)

    def letters(self):
        letters = Letter.objects.filter(school__district=self.district)
        return letters.filter(school=self.school) if self.school is not None else letters

    def batches(self):
        # A school's office sees its own runs; a district run holds other schools' letters.
        return (
            LetterBatch.objects.filter(district=self.district, school=self.school)
            if self.school is not None
            else LetterBatch.objects.filter(district=self.district)
        )


def _school_scope(request, school_id) -> Scope:
    page = SchoolPage(request, school_id)
    if not page.access.can_edit:
        raise PermissionDenied(
            "Truancy letters are for the school office and administrators. Ask the front office."
        )
    return Scope(request, page.school.district, page.school, page)


def _district_scope(request, district_id) -> Scope:
    return Scope(request, district_admin_or_404(request.user, district_id))


def _both(view):
    """A view of a Scope as a school's page and as the district's."""

    @login_required
    def for_school(request, school_id, *args, **kwargs):
        return view(request, _school_scope(request, school_id), *args, **kwargs)

    @login_required
    def for_district(request, district_id, *args, **kwargs):
        return view(request, _district_scope(request, district_id), *args, **kwargs)

    return for_school, for_district


def _level_from(raw: str, policy: TruancyPolicy) -> int | None:
    level = int(raw) if raw and raw.isdigit() else 1
    return level if 1 <= level <= policy.level_count else None


# --- issue -------------------------------------------------------------------------------------


def _issued_message(outcome: services.IssueOutcome) -> str:
    said = f"Issued {outcome.issued} letter{'s' if outcome.issued != 1 else ''}."
    if outcome.dropped:
        n = len(outcome.dropped)
        said += (f" {n} student{'s' if n != 1 else ''} from the list were not issued one: "
                 f"{outcome.dropped_summary()}. They are listed on this page.")  # fmt: skip
    if outcome.newly_due:
        n = outcome.newly_due
        said += (f" {n} more student{'s' if n != 1 else ''} became due since you looked at "
                 "the list: issue them in a next run.")  # fmt: skip
    return said


def _nothing_issued(outcome: services.IssueOutcome) -> str:
    names = ", ".join(row["name"] for row in outcome.dropped[:10])
    more = len(outcome.dropped) - 10
    said = "Nobody was issued a letter: everyone on the list "
    if {row["reason"] for row in outcome.dropped} == {"issued"}:
        said = (
            "Nobody was issued a letter: someone else issued these letters while you were "
            f"confirming ({names}{f' and {more} more' if more > 0 else ''}). See Runs."
        )
    else:
        said += (f"is no longer due ({outcome.dropped_summary()}): "
                 f"{names}{f' and {more} more' if more > 0 else ''}.")  # fmt: skip
    return said


@require_http_methods(["GET", "POST"])
def _issue(request, scope: Scope):
    on, policy = scope.today, scope.policy()
    level = _level_from(request.POST.get("level") or request.GET.get("level", ""), policy)
    if level is None:
        messages.error(request, "This truancy policy has no such letter. Choose one below.")
        return redirect(scope.url())
    back = f"{scope.url()}?{urlencode({'level': level})}"
    status = 200
    if request.method == "POST":
        form = IssueForm(request.POST, level=level, today=on)
        if form.is_valid():
            try:
                outcome = services.letters_issue(
                    district=scope.district, school=scope.school, level=level,
                    student_ids=form.cleaned_data["students"], actor=request.user,
                    delivery=form.cleaned_data["delivery"], details=form.details(), on=on,
                )  # fmt: skip
            except services.CannotIssue as refused:
                messages.error(request, str(refused))
                return redirect(back)
            if outcome.batch is None:
                messages.error(request, _nothing_issued(outcome))
                return redirect(back)
            messages.success(request, _issued_message(outcome))
            return redirect(scope.url("batch", outcome.batch.pk))
        status = form_invalid(request)
        rows = tracker.due(district=scope.district, school=scope.school, level=level, on=on)
    else:
        rows = tracker.due(district=scope.district, school=scope.school, level=level, on=on)
        if not rows:
            messages.info(request, f"Nobody is due for {policy.level_name(level)} right now.")
            return redirect(back)
        form = IssueForm(
            initial={"students": ",".join(str(r.student_id) for r in rows), "level": level},
            level=level, today=on,
        )  # fmt: skip
    return render(request, "truancy/issue.html", scope.context(
        form=form, rows=rows[:SHOWN_ON_CONFIRM], total=len(rows),
        more=max(0, len(rows) - SHOWN_ON_CONFIRM), level=level,
        level_name=policy.level_name(level), back=back,
        conference_fields=[f for f in form if f.name.startswith("conference_")],
        board_fields=[f for f in form if f.name.startswith("board_")],
    ), status=status)  # fmt: skip


school_issue, district_issue = _both(_issue)


# --- runs --------------------------------------------------------------------------------------


@require_GET
def _batches(request, scope: Scope):
    batches = scope.batches().select_related("school", "created_by")
    page_obj = Paginator(batches, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "truancy/batches.html", scope.context(page_obj=page_obj))


school_batches, district_batches = _both(_batches)


def _batch_or_404(scope: Scope, batch_id) -> LetterBatch:
    return get_object_or_404(scope.batches().select_related("school", "created_by"), pk=batch_id)


@require_GET
def _batch(request, scope: Scope, batch_id):
    from django.utils import timezone

    batch = _batch_or_404(scope, batch_id)
    letters = batch.letters.select_related("student", "school").order_by(
        "school__name", "student__last_name", "student__first_name")  # fmt: skip
    page_obj = Paginator(letters, PER_PAGE).get_page(request.GET.get("page"))
    context = scope.context(
        batch=batch, page_obj=page_obj, percent=batch.percent,
        waiting_long=batch.status == LetterBatch.Status.QUEUED
        and (timezone.now() - batch.created_at).total_seconds() > 60,
    )  # fmt: skip
    template = "truancy/batch.html#status" if request.htmx else "truancy/batch.html"
    return render(request, template, context)


school_batch, district_batch = _both(_batch)


@require_GET
def _batch_pdf(request, scope: Scope, batch_id):
    batch = _batch_or_404(scope, batch_id)
    if not batch.has_pdf():
        raise Http404("This run's PDF is not ready.")
    where = slugify(batch.school.name if batch.school_id else batch.district.name) or "letters"
    name = f"truancy-letter-{batch.level}-{where}-{batch.created_at:%Y-%m-%d}-run-{batch.pk}.pdf"
    return FileResponse(batch.pdf_path.open("rb"), as_attachment=True, filename=name,
                        content_type="application/pdf")  # fmt: skip


school_batch_pdf, district_batch_pdf = _both(_batch_pdf)


@require_POST
def _batch_retry(request, scope: Scope, batch_id):
    batch = _batch_or_404(scope, batch_id)
    try:
        services.batch_retry(batch=batch, actor=request.user)
        messages.success(request, "Making the PDF again.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(scope.url("batch", batch.pk))


school_batch_retry, district_batch_retry = _both(_batch_retry)


# --- letters issued ----------------------------------------------------------------------------


def _filtered_letters(request, scope: Scope):
    """The scope's letters of this school year (or all years), filtered by ?q, ?level and
    ?status; newest first."""
    letters = scope.letters().select_related("student", "school", "issued_by", "voided_by",
                                             "batch", "conference", "referral")  # fmt: skip
    year = request.GET.get("year", "this")
    if year != "all":
        letters = letters.filter(year_starts_on__gte=scope.policy().year_starts_on)
    query = request.GET.get("q", "").strip()[:100]
    for word in query.split():
        letters = letters.filter(Q(student__first_name__icontains=word)
                                 | Q(student__last_name__icontains=word)
                                 | Q(student__sis_id__iexact=word))  # fmt: skip
    level = request.GET.get("level", "")
    if level.isdigit():
        letters = letters.filter(level=int(level))
    status = request.GET.get("status", "")
    if status == "voided":
        letters = letters.filter(voided_at__isnull=False)
    elif status == "in_force":
        letters = letters.filter(voided_at__isnull=True)
    filters = {"q": query, "level": level, "status": status, "year": year}
    return letters.order_by("-issued_at", "-pk"), filters


@require_GET
def _letters(request, scope: Scope):
    letters, filters = _filtered_letters(request, scope)
    page_obj = Paginator(letters, PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    context = scope.context(page_obj=page_obj, filters=filters, query=query,
                            levels=list(enumerate(scope.policy().levels, start=1)))  # fmt: skip
    template = "truancy/letters.html#results" if request.htmx else "truancy/letters.html"
    return render(request, template, context)


school_letters, district_letters = _both(_letters)

CSV_HEADER = [
    "Issued", "School", "Student ID", "Last name", "First name", "Grade", "Letter", "Letter name",
    "Count", "Days that counted", "Issued by", "Run", "Status", "Voided", "Voided by",
    "Why voided", "Conference", "Conference time", "Referral", "Referral outcome",
]  # fmt: skip


def _cell(value) -> str:
    """Spreadsheets run a cell that starts like a formula; a leading quote keeps it text."""
    value = "" if value is None else str(value)
    return "'" + value if value and value[0] in "=+-@\t\r|%" else value


@require_GET
def _letters_csv(request, scope: Scope):
    letters, _filters = _filtered_letters(request, scope)
    out = io.StringIO()
    out.write("\ufeff")  # so Excel reads UTF-8 names correctly
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for letter in letters.iterator(chunk_size=1000):
        tz = letter.school.tz
        conference = getattr(letter, "conference", None)
        referral = getattr(letter, "referral", None)
        when = conference.scheduled_at.astimezone(tz) if conference and \
            conference.scheduled_at else None  # fmt: skip
        writer.writerow([_cell(v) for v in (
            f"{letter.issued_at.astimezone(tz):%Y-%m-%d %H:%M}", letter.school.name,
            letter.student.sis_id, letter.student.last_name, letter.student.first_name,
            letter.student.grade, letter.level, letter.level_name, letter.count,
            " ".join(letter.dates), letter.issued_by or "", letter.batch_id or "",
            "Voided" if letter.voided_at else "In force",
            f"{letter.voided_at.astimezone(tz):%Y-%m-%d %H:%M}" if letter.voided_at else "",
            letter.voided_by or "", letter.void_reason,
            conference.get_status_display() if conference else "",
            f"{when:%Y-%m-%d %H:%M}" if when else "",
            referral.get_status_display() if referral else "",
            referral.outcome if referral else "",
        )])  # fmt: skip
    name = f"truancy-letters-{slugify(scope.title) or scope.owner_id}-{scope.today}.csv"
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


school_letters_csv, district_letters_csv = _both(_letters_csv)


# --- one letter (the school's page) ------------------------------------------------------------


def _letter_or_404(request, school_id, letter_id) -> tuple[Scope, Letter]:
    scope = _school_scope(request, school_id)
    letter = get_object_or_404(
        Letter.objects.filter(school=scope.school).select_related(
            "student", "school", "issued_by", "voided_by", "reviewed_by", "batch",
            "conference", "referral"),
        pk=letter_id,
    )  # fmt: skip
    return scope, letter


def _letter_page(request, scope, letter, *, status=200, **forms_):
    tz = scope.school.tz
    conference = getattr(letter, "conference", None)
    referral = getattr(letter, "referral", None)
    if letter.level == 2 and "conference_form" not in forms_:
        forms_["conference_form"] = ConferenceForm.for_conference(conference, tz=tz)
    if letter.level >= 3 and "referral_form" not in forms_:
        forms_["referral_form"] = ReferralForm.for_referral(referral, tz=tz)
    forms_.setdefault("void_form", VoidForm())
    standing_policy, counted_now = tracker.standing(letter.student, scope.today)
    return render(request, "truancy/letter.html", scope.context(
        letter=letter, conference=conference, referral=referral, counted_now=len(counted_now),
        under_review=letter.voided_at is None and letter.reviewed_at is None
        and letter.threshold is not None and len(counted_now) < letter.threshold
        and letter.year_starts_on == standing_policy.year_starts_on, **forms_,
    ), status=status)  # fmt: skip


@login_required
@require_GET
def letter(request, school_id, letter_id):
    scope, found = _letter_or_404(request, school_id, letter_id)
    return _letter_page(request, scope, found)


def _letter_url(scope, letter) -> str:
    return scope.url("letter", letter.pk)


@login_required
@require_POST
def letter_void(request, school_id, letter_id):
    scope, found = _letter_or_404(request, school_id, letter_id)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            services.letter_void(letter=found, reason=form.cleaned_data["reason"],
                                 actor=request.user)  # fmt: skip
        except ValidationError as error:
            apply_errors(error, form)
        else:
            messages.success(
                request,
                f"Voided {found.level_name or 'the letter'} to "
                f"{found.student}. It stays on record with the reason.",
            )
            return redirect(_letter_url(scope, found))
    return _letter_page(request, scope, found, status=form_invalid(request), void_form=form)


@login_required
@require_POST
def letter_keep(request, school_id, letter_id):
    scope, found = _letter_or_404(request, school_id, letter_id)
    try:
        services.letter_keep(letter=found, actor=request.user)
        messages.success(
            request,
            f"Kept {found.level_name or 'the letter'} to {found.student}; "
            "it is off the review list.",
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    back_to_review = request.POST.get("next") == "review"
    return redirect(scope.url("review") if back_to_review else _letter_url(scope, found))


@login_required
@require_POST
def letter_conference(request, school_id, letter_id):
    scope, found = _letter_or_404(request, school_id, letter_id)
    if found.level != 2:
        raise Http404("Only a letter 2 has a conference.")
    form = ConferenceForm(request.POST, tz=scope.school.tz)
    if form.is_valid():
        services.conference_save(letter=found, values=form.values(), actor=request.user)
        messages.success(request, f"Saved the conference about {found.student}.")
        return redirect(_letter_url(scope, found))
    return _letter_page(request, scope, found, status=form_invalid(request),
                        conference_form=form)  # fmt: skip


@login_required
@require_POST
def letter_referral(request, school_id, letter_id):
    scope, found = _letter_or_404(request, school_id, letter_id)
    if found.level < 3:
        raise Http404("Only a letter 3 has a referral.")
    form = ReferralForm(request.POST, tz=scope.school.tz)
    if form.is_valid():
        services.referral_save(letter=found, values=form.values(), actor=request.user)
        messages.success(request, f"Saved the referral of {found.student}.")
        return redirect(_letter_url(scope, found))
    return _letter_page(request, scope, found, status=form_invalid(request),
                        referral_form=form)  # fmt: skip


# --- review, follow-up, chronic absence --------------------------------------------------------


@require_GET
def _review(request, scope: Scope):
    rows = tracker.for_review(district=scope.district, school=scope.school, on=scope.today)
    page_obj = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "truancy/review.html", scope.context(page_obj=page_obj,
                                                               total=len(rows)))  # fmt: skip


school_review, district_review = _both(_review)


@require_GET
def _followup(request, scope: Scope):
    year = scope.policy().year_starts_on
    letters = scope.letters().filter(voided_at__isnull=True, year_starts_on__gte=year)
    open_first = ["scheduled", "referred", "hearing_set"]
    conferences = (
        Conference.objects.filter(letter__in=letters)
        .select_related("letter__student", "letter__school")
        .order_by(F("scheduled_at").asc(nulls_last=True), "pk")
    )  # fmt: skip
    status = request.GET.get("status", "open")
    if status == "open":
        conferences = conferences.filter(status__in=open_first)
    referrals = Referral.objects.filter(letter__in=letters).select_related(
        "letter__student", "letter__school").order_by("letter__issued_at", "pk")  # fmt: skip
    if status == "open":
        referrals = referrals.filter(status__in=open_first)
    return render(request, "truancy/followup.html", scope.context(
        status=status,
        conferences=Paginator(conferences, PER_PAGE).get_page(request.GET.get("cpage")),
        referrals=Paginator(referrals, PER_PAGE).get_page(request.GET.get("rpage")),
    ))  # fmt: skip


school_followup, district_followup = _both(_followup)


def _chart(points) -> list[dict]:
    """Bars for the chronic-absence chart: each moment's students per tier, as widths of the
    largest total (the SVG's viewBox is 100 wide)."""
    top = max((sum(p.counts.values()) for p in points), default=0) or 1
    bars = []
    for point in points:
        x, parts = 0.0, []
        for key, _label, _pct in reversed(chronic_absence.TIERS):  # at risk, moderate, severe
            width = round(100 * point.counts[key] / top, 2)
            parts.append({"key": key, "x": round(x, 2), "width": width})
            x += width
        bars.append({"point": point, "parts": parts, "total": sum(point.counts.values())})
    return bars


@require_GET
def _chronic(request, scope: Scope):
    found = chronic_absence.report(district=scope.district, school=scope.school, on=scope.today)
    tier = request.GET.get("tier", "")
    rows = [r for r in found.rows if r.tier == tier] if tier in chronic_absence.TIER_LABELS \
        else found.rows  # fmt: skip
    page_obj = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "truancy/chronic.html", scope.context(
        report=found, page_obj=page_obj, tier=tier, tiers=chronic_absence.TIERS,
        tier_counts=[(key, label, found.now.counts[key]) for key, label, _ in
                     chronic_absence.TIERS],
        bars=_chart(found.months), min_days=chronic_absence.MIN_DAYS,
        query=urlencode({"tier": tier}) if tier else "",
    ))  # fmt: skip


school_chronic, district_chronic = _both(_chronic)

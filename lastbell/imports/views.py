"""Upload pages: check a file (a dry run with a per-row report), then import it.

"Check" keeps the upload and starts an ImportRun that the task worker carries out; the run's
page shows how far it has got, then its report and, for a clean check, "Import this file",
which imports exactly the file that was checked, without choosing it again. A school's
attendance and bus files are on its Imports tab; the district's roster files on the district's
roster page, for district admins only.
"""

import dataclasses
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from lastbell.accounts.access import district_admin_or_404
from lastbell.imports import csvfeeds
from lastbell.imports.models import ImportRun
from lastbell.imports.services import CannotApply, import_run_apply, import_run_check
from lastbell.plans.views import SchoolPage

Kind = ImportRun.Kind
MAX_UPLOAD = 200 * 1024**2
RUNS_PER_PAGE = 20
ROWS_SHOWN = 500
# A run still waiting after this long probably has no task worker to run it.
WORKER_PATIENCE = dt.timedelta(minutes=1)


@dataclasses.dataclass
class Place:
    """Where runs are started and listed: a school's Imports tab or the district roster page."""

    name: str  # "school" or "roster": the prefix of its URL names
    owner_id: int  # the school's or the district's id in its URLs
    district: object
    school: object
    kinds: dict[str, str]  # kind -> what the page calls it
    title: str
    layout: str
    context: dict
    timezone: str

    def runs(self):
        return ImportRun.objects.filter(
            district=self.district, school=self.school, kind__in=self.kinds
        ).select_related("created_by")

    def url(self, view: str = "", *args) -> str:
        return reverse(f"imports:{self.name}{'_' + view if view else ''}",
                       args=[self.owner_id, *args])  # fmt: skip

    @property
    def run_view(self) -> str:
        return f"imports:{self.name}_run"


def _school_place(request, school_id) -> Place:
    page = SchoolPage(request, school_id, tracker_required=False)
    page.access.require_edit()
    school = page.school
    return Place(
        name="school", owner_id=school.pk, district=school.district, school=school,
        kinds={Kind.ATTENDANCE: "Attendance", Kind.BUS: "Bus assignments"},
        title=school.name, layout="plans/_layout.html", context=page.context("imports"),
        timezone=school.timezone,
    )  # fmt: skip


def _roster_place(request, district_id) -> Place:
    district = district_admin_or_404(request.user, district_id)
    return Place(
        name="roster", owner_id=district.pk, district=district, school=None,
        kinds={Kind.ONEROSTER: "OneRoster", Kind.EDFI: "Ed-Fi"}, title=district.name,
        layout="base.html", context={"district": district}, timezone=district.timezone,
    )  # fmt: skip


def _go(request, url):
    """A redirect; htmx (which posts the upload forms) is told to go there itself."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _upload_page(request, place: Place, template: str):
    if request.method == "POST":
        kind = request.POST.get("kind")
        if kind not in place.kinds:
            raise Http404("No such import.")
        upload = request.FILES.get("upload")
        if upload is None:
            messages.error(request, "Choose the file to check.")
            return _go(request, place.url())
        if upload.size > MAX_UPLOAD:
            messages.error(request, f"{upload.name} is larger than 200 MB. Split it and try again.")
            return _go(request, place.url())
        run = import_run_check(upload=upload, kind=kind, district=place.district,
                               school=place.school, actor=request.user)  # fmt: skip
        return _go(request, place.url("run", run.pk))
    page_obj = Paginator(place.runs(), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, f"{template}#runs" if request.htmx else template,
        {**place.context, "place": place, "kinds": place.kinds, "page_obj": page_obj},
    )  # fmt: skip


def _run_page(request, place: Place, run_id):
    run = get_object_or_404(place.runs().select_related("check_run"), pk=run_id)
    progress = run.progress()
    fraction = progress["fraction"]
    report = run.report or {}
    context = {
        **place.context, "place": place, "run": run, "layout": place.layout,
        "progress": progress, "percent": None if fraction is None else int(fraction * 100),
        "waiting_long": run.status == ImportRun.Status.QUEUED
        and timezone.now() - run.created_at > WORKER_PATIENCE,
        "report": report, "rows": _in_file_order(report.get("rows", []))[:ROWS_SHOWN],
        "row_total": run.row_total(),
        "counts": [(kind, ", ".join(f"{n:,} {outcome}" for outcome, n in outcomes.items() if n))
                   for kind, outcomes in report.get("counts", {}).items()],
        "can_apply": run.is_finished and run.can_apply(),
        "apply_run": run.applied_by() if run.is_check and run.is_finished else None,
        "rows_kept": run.status == ImportRun.Status.DONE and run.rows_path.exists(),
    }  # fmt: skip
    template = "imports/run.html#status" if request.htmx else "imports/run.html"
    return render(request, template, context)


def _in_file_order(rows: list[dict]) -> list[dict]:
    """Rows by file (in the order the import read them), then by row: importers that work in
    batches report a batch's rows late."""
    files: dict[str, int] = {}
    for row in rows:
        files.setdefault(row["file"], len(files))
    return sorted(rows, key=lambda row: (files[row["file"]], row["row"]))


def _run_apply(request, place: Place, run_id):
    check = get_object_or_404(place.runs(), pk=run_id, mode=ImportRun.Mode.CHECK)
    try:
        run = import_run_apply(check_run=check, actor=request.user)
    except CannotApply as refused:
        earlier = refused.args[0]
        if earlier is not None:
            messages.info(request, f"{check.file_name} is already imported, or being imported.")
            return redirect(place.url("run", earlier.pk))
        messages.error(
            request, "This file can't be imported: its check did not finish cleanly, or the "
            "file is no longer kept. Choose the file and check it again.",
        )  # fmt: skip
        return redirect(place.url("run", check.pk))
    return redirect(place.url("run", run.pk))


def _run_rows(request, place: Place, run_id):
    run = get_object_or_404(place.runs(), pk=run_id, status=ImportRun.Status.DONE)
    if not run.rows_path.exists():
        raise Http404("The full report of this file is no longer kept.")
    stem = run.file_name.rsplit(".", 1)[0] or "import"
    return FileResponse(
        run.rows_path.open("rb"), as_attachment=True, content_type="text/csv; charset=utf-8",
        filename=f"{stem} {'check' if run.is_check else 'import'} rows.csv",
    )  # fmt: skip


# A school's Imports tab ----------------------------------------------------------------------


@login_required
def template(request, school_id, kind):
    SchoolPage(request, school_id, tracker_required=False).access.require_edit()
    if kind not in csvfeeds.TEMPLATES:
        raise Http404("No such template.")
    response = HttpResponse(csvfeeds.template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{kind}-template.csv")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def school_imports(request, school_id):
    return _upload_page(request, _school_place(request, school_id), "imports/school.html")


@login_required
def school_run(request, school_id, run_id):
    return _run_page(request, _school_place(request, school_id), run_id)


@login_required
@require_POST
def school_run_apply(request, school_id, run_id):
    return _run_apply(request, _school_place(request, school_id), run_id)


@login_required
def school_run_rows(request, school_id, run_id):
    return _run_rows(request, _school_place(request, school_id), run_id)


# The district's roster page ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def district_roster(request, district_id):
    """District admins: a OneRoster zip or an Ed-Fi interchange XML file, checked first."""
    return _upload_page(request, _roster_place(request, district_id), "imports/roster.html")


@login_required
def roster_run(request, district_id, run_id):
    return _run_page(request, _roster_place(request, district_id), run_id)


@login_required
@require_POST
def roster_run_apply(request, district_id, run_id):
    return _run_apply(request, _roster_place(request, district_id), run_id)


@login_required
def roster_run_rows(request, district_id, run_id):
    return _run_rows(request, _roster_place(request, district_id), run_id)

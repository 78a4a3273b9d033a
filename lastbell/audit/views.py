"""The History tab: the school's audit log."""

import datetime as dt

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render

from lastbell.audit.models import AuditEvent
from lastbell.plans.forms import DateInput
from lastbell.plans.views import SchoolPage

EVENTS_PER_PAGE = 50


class HistoryFilter(forms.Form):
    student = forms.CharField(label="Student (name or id)", required=False)
    person = forms.CharField(label="Changed by", required=False)
    date_from = forms.DateField(
        label="From",
        required=False,
        widget=DateInput(),
        error_messages={"invalid": "Enter a date such as 2026-11-30."},
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        widget=DateInput(),
        error_messages={"invalid": "Enter a date such as 2026-11-30."},
    )

    def clean(self):
        data = super().clean()
        for field in ("date_from", "date_to"):
            value = data.get(field)
            if value and not 1900 <= value.year <= 2999:
                self.add_error(field, "Enter a date between 1900 and 2999.")
                data[field] = None
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def apply(self, events, tz):
        if not self.is_valid():
            return events.none()
        data = self.cleaned_data
        if term := data["student"].strip():
            name = Q()
            for word in term.split():
                name &= Q(student__first_name__icontains=word) | Q(
                    student__last_name__icontains=word
                )
            events = events.filter(name | Q(student__sis_id__iexact=term))
        if person := data["person"].strip():
            events = events.filter(actor_label__icontains=person)
        if data["date_from"]:
            start = dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=tz)
            events = events.filter(at__gte=start)
        if data["date_to"]:
            end = dt.datetime.combine(
                data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz
            )
            events = events.filter(at__lt=end)
        return events


@login_required
def history(request, school_id):
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    events = AuditEvent.objects.filter(school=page.school).select_related("student")
    form = HistoryFilter(request.GET or None)
    if request.GET:
        events = form.apply(events, page.school.tz)
    paginator = Paginator(events, EVENTS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "audit/history.html#results" if request.htmx else "audit/history.html"
    return render(
        request,
        template,
        page.context("history", form=form, page_obj=page_obj, query=query.urlencode()),
    )

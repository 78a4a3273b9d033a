"""The school's Messages page: what went out to families, and what could not."""

import datetime as dt
import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from lastbell.messaging import services
from lastbell.messaging.models import Kind, Message, Status
from lastbell.plans.forms import DateInput
from lastbell.plans.views import SchoolPage

MESSAGES_PER_PAGE = 50
DATE_ERRORS = {"invalid": "Enter a date such as 2026-11-30."}


class MessageFilter(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All"), *Status.choices], required=False,
        error_messages={"invalid_choice": "Choose a status from the list."},
    )  # fmt: skip
    kind = forms.ChoiceField(
        label="About", choices=[("", "All"), *Kind.choices], required=False,
        error_messages={"invalid_choice": "Choose what the message is about from the list."},
    )  # fmt: skip
    to = forms.CharField(label="To (address, phone or name)", required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=DateInput(), error_messages=DATE_ERRORS
    )
    date_to = forms.DateField(
        label="To date", required=False, widget=DateInput(), error_messages=DATE_ERRORS
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

    def apply(self, outbox, tz):
        if not self.is_valid():
            return outbox.none()
        data = self.cleaned_data
        if data["status"]:
            outbox = outbox.filter(status=data["status"])
        if data["kind"]:
            outbox = outbox.filter(kind=data["kind"])
        if to := data["to"].strip():
            outbox = outbox.filter(
                Q(to__icontains=to)
                | Q(guardian__first_name__icontains=to)
                | Q(guardian__last_name__icontains=to)
            )
        if data["date_from"]:
            start = dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=tz)
            outbox = outbox.filter(created_at__gte=start)
        if data["date_to"]:
            end = dt.datetime.combine(
                data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz
            )
            outbox = outbox.filter(created_at__lt=end)
        return outbox


def _messages_page(request, school_id) -> SchoolPage:
    page = SchoolPage(request, school_id)
    if not page.access.can_edit:
        raise PermissionDenied(
            "Messages to families are for the office and dismissal staff. "
            "Ask the front office about a message."
        )
    return page


@login_required
def message_list(request, school_id):
    page = _messages_page(request, school_id)
    outbox = Message.objects.filter(school=page.school).select_related("guardian")
    # The office should see at a glance what did not go out.
    by_status = dict(outbox.values_list("status").annotate(n=Count("id")).order_by())
    form = MessageFilter(request.GET or None)
    if request.GET:
        outbox = form.apply(outbox, page.school.tz)
    page_obj = Paginator(outbox, MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = page.context(
        "messages", form=form, page_obj=page_obj, query=query.urlencode(),
        failed=by_status.get(Status.FAILED, 0), waiting=by_status.get(Status.QUEUED, 0),
    )  # fmt: skip
    template = "messaging/list.html#results" if request.htmx else "messaging/list.html"
    return render(request, template, context)


SIGN_IN_TOKEN = re.compile(r"sesame=[^\s&\"'<>]+")


def _message_or_404(page, message_id):
    outbox = Message.objects.select_related("student", "guardian", "created_by")
    return get_object_or_404(outbox, pk=message_id, school=page.school)


@login_required
def message_detail(request, school_id, message_id):
    page = _messages_page(request, school_id)
    message = _message_or_404(page, message_id)
    # Sign-in links are the family's key: staff see that a link was sent, never the link.
    body = SIGN_IN_TOKEN.sub("sesame=…", message.body)
    return render(
        request, "messaging/detail.html", page.context("messages", message=message, body=body)
    )


@login_required
@require_POST
def message_retry(request, school_id, message_id):
    page = _messages_page(request, school_id)
    message = _message_or_404(page, message_id)
    try:
        services.message_retry(message=message, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Sending the {message.get_channel_display().lower()} to {message.to} again now. "
            "Reload this page in a minute to see if it went out.",
        )
    return redirect("messaging:detail", page.school.id, message.id)

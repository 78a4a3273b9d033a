"""A school's scheduled bus feed: its setup, "Pull now", and the history of its pulls.

Staff who may import files (the Imports tab) see the feed and may pull it; only the
school's admins and district admins change where it comes from and when.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from lastbell.feeds import services
from lastbell.feeds.forms import BusFeedForm
from lastbell.feeds.models import BusFeed, FeedPull
from lastbell.plans.views import SchoolPage, form_invalid

PULLS_PER_PAGE = 20


def _feed_page(request, school_id) -> SchoolPage:
    page = SchoolPage(request, school_id, tracker_required=False)
    page.access.require_edit()
    return page


@login_required
@require_http_methods(["GET", "POST"])
def bus_feed(request, school_id):
    page = _feed_page(request, school_id)
    feed = BusFeed.objects.filter(school=page.school).select_related("pull_requested_by").first()
    form, status = None, 200
    if request.method == "POST":
        page.access.require_admin()
        form = BusFeedForm(request.POST, instance=feed or BusFeed(school=page.school))
        if form.is_valid():
            saved = services.bus_feed_save(feed=form.save(commit=False), actor=request.user)
            messages.success(request, "Saved the bus feed." if saved.enabled else
                             "Saved the bus feed. Scheduled pulls are off.")  # fmt: skip
            return redirect("feeds:page", page.school.id)
        status = form_invalid(request)
    elif page.access.can_administer:
        form = BusFeedForm(instance=feed or BusFeed(school=page.school))
    pulls = feed.pulls.select_related("requested_by") if feed else FeedPull.objects.none()
    page_obj = Paginator(pulls, PULLS_PER_PAGE).get_page(request.GET.get("page"))
    last_pull = feed.pulls.first() if feed and feed.last_pull_at else None
    context = page.context("imports", feed=feed, form=form, page_obj=page_obj,
                           last_pull=last_pull)  # fmt: skip
    return render(request, "feeds/bus_feed.html", context, status=status)


@login_required
@require_POST
def pull_now(request, school_id):
    page = _feed_page(request, school_id)
    feed = get_object_or_404(BusFeed, school=page.school)
    services.bus_feed_pull_request(feed=feed, actor=request.user)
    messages.success(
        request, "Last Bell pulls the feed in a moment. Reload this page to see how it went."
    )
    return redirect("feeds:page", page.school.id)

"""A web-address feed: fetched over HTTPS only, trusting the district's own certificate
authority when LASTBELL_FEED_CA_BUNDLE names it."""

import pytest

from lastbell.conftest import SCHOOL_DAY
from lastbell.feeds.models import BusFeed
from lastbell.feeds.tests.support import bus_csv, bus_defaults, pull_now
from lastbell.plans.board import day_board

pytestmark = pytest.mark.django_db

SECRET = "Bearer district-transport-7f3a9c"


def url_feed(school, url, **fields):
    return BusFeed.objects.create(school=school, kind=BusFeed.Kind.URL, url=url, enabled=False,
                                  **fields)  # fmt: skip


@pytest.fixture
def trusted(settings, ca_bundle):
    settings.LASTBELL_FEED_CA_BUNDLE = str(ca_bundle)


def test_it_downloads_and_applies_over_https(https_server, trusted, school, riders, on_school_day):
    base, routes = https_server
    ana, ben = riders
    routes.answers["/export/lincoln-buses.csv"] = (
        200,
        bus_csv((ana.sis_id, "12", ""), (ben.sis_id, "4", "Mon-Fri")).encode(),
    )
    feed = url_feed(school, f"{base}/export/lincoln-buses.csv", authorization=SECRET)

    pull = pull_now(feed)

    assert (pull.outcome, pull.file_name) == ("applied", "lincoln-buses.csv"), pull.message
    assert routes.requests[0]["headers"]["Authorization"] == SECRET
    rows = {r.student_id: r for r in day_board(school, SCHOOL_DAY).rows}
    assert (rows[ana.pk].bus_number, rows[ben.pk].bus_number) == ("12", "4")


def test_without_the_districts_authority_the_certificate_is_refused(
    https_server, settings, school, riders, on_school_day
):
    settings.LASTBELL_FEED_CA_BUNDLE = ""
    base, routes = https_server
    routes.answers["/buses.csv"] = (200, bus_csv((riders[0].sis_id, "12", "")).encode())
    feed = url_feed(school, f"{base}/buses.csv")

    pull = pull_now(feed)

    assert pull.outcome == "failed"
    assert "could not verify the certificate of 127.0.0.1" in pull.message
    assert "LASTBELL_FEED_CA_BUNDLE" in pull.message
    assert routes.requests == [] and bus_defaults() == []


def test_a_plain_http_address_is_refused(http_server, school, riders, on_school_day):
    base, routes = http_server
    routes.answers["/buses.csv"] = (200, bus_csv((riders[0].sis_id, "12", "")).encode())
    feed = url_feed(school, f"{base}/buses.csv")  # stored around the form, which refuses it

    pull = pull_now(feed)

    assert pull.outcome == "failed"
    assert pull.message.startswith("The address must start with https://.")
    assert routes.requests == [] and bus_defaults() == []


def test_a_redirect_is_followed_only_to_https_and_without_the_sign_in(
    https_server, http_server, trusted, school, riders, on_school_day
):
    base, routes = https_server
    plain_base, plain_routes = http_server
    body = bus_csv((riders[0].sis_id, "12", "")).encode()
    routes.answers["/moved.csv"] = (302, b"", {"Location": f"{base}/buses.csv"})
    routes.answers["/buses.csv"] = (200, body)
    routes.answers["/downgrade.csv"] = (302, b"", {"Location": f"{plain_base}/buses.csv"})
    plain_routes.answers["/buses.csv"] = (200, body)
    feed = url_feed(school, f"{base}/downgrade.csv", authorization=SECRET)

    refused = pull_now(feed)

    assert refused.outcome == "failed" and "not an https address" in refused.message
    assert plain_routes.requests == [] and bus_defaults() == []

    feed.url = f"{base}/moved.csv"
    feed.save(update_fields=["url"])
    followed = pull_now(feed)

    assert followed.outcome == "applied", followed.message
    assert [r["path"] for r in routes.requests[-2:]] == ["/moved.csv", "/buses.csv"]
    assert "Authorization" not in routes.requests[-1]["headers"]

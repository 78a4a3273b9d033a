"""Browser tests of the pickup page reuse the Chromium fixtures of the staff tabs' tests."""

from lastbell.plans.tests.browser.conftest import (  # noqa: F401 — fixtures
    _fast_passwords,
    sign_in,
)

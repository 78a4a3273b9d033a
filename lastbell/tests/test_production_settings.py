"""Production settings: `lastbell check --deploy` is clean with the production environment,
and every page's Content-Security-Policy is strict (no inline script or style but by nonce)."""

import os
import re
import subprocess
import sys

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

PRODUCTION = {
    "SECRET_KEY": "a-production-secret-" + "x7Qm2pL9vR4tZ8wK1nB6" * 3,
    "HTTPS": "1",
    "ALLOWED_HOSTS": "lastbell.riverside.example",
    "DEBUG": "0",
}


def _deploy_check(tmp_path, **overrides):
    env = {k: v for k, v in os.environ.items() if k != "LASTBELL_TESTING"}
    env.update(PRODUCTION, LASTBELL_DATA_DIR=str(tmp_path), **overrides)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(  # noqa: S603 — our own command, fixed arguments
        [sys.executable, "-m", "lastbell.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_deploy_check_is_clean_in_production(tmp_path):
    done = _deploy_check(tmp_path)

    assert done.returncode == 0, done.stderr + done.stdout
    assert "System check identified no issues" in done.stdout + done.stderr


def test_the_deploy_check_finds_what_is_missing_without_https(tmp_path):
    done = _deploy_check(tmp_path, HTTPS="0")

    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr


# --- Content-Security-Policy ------------------------------------------------------------------

SCRIPT = re.compile(r"<script\b[^>]*>", re.I)


def _assert_strict(response):
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    nonces = [s for s in directives["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == 1, policy
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    nonce = nonces[0][len("'nonce-") : -1]
    page = response.content.decode()
    scripts = SCRIPT.findall(page)
    assert scripts, "every page loads app.js"
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag
    # Inline style is refused by the policy: no page may rely on it.
    assert "<style" not in page and not re.search(r"\sstyle=", page)
    return nonce


def test_pages_carry_a_strict_policy_with_a_fresh_nonce(
    client, on_school_day, school, staff, guardian
):
    first = _assert_strict(client.get(reverse("accounts:login")))
    assert _assert_strict(client.get(reverse("accounts:login"))) != first  # new on each page

    client.force_login(staff)
    for name in ("plans:dashboard", "plans:students", "dismissal:curb", "dismissal:groups"):
        _assert_strict(client.get(reverse(name, args=[school.id])))
    _assert_strict(client.get(reverse("accounts:account")))
    _assert_strict(client.get(reverse("accounts:two_step_enrol")))  # its QR code is an <img>
    assert TOTPDevice.objects.filter(user=staff).exists()

    client.force_login(guardian.user)
    _assert_strict(client.get(reverse("family:home")))

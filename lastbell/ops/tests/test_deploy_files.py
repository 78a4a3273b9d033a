"""The operations page and compose.yaml keep up with settings.py: a setting added without its
line in docs/operations.md, or a misspelt variable in compose.yaml, fails here."""

import re

import yaml
from django.conf import settings

ROOT = settings.BASE_DIR
READ = re.compile(r"""env_(?:str|bool|int|list)\(\s*["']([A-Z0-9_]+)["']""")


def _settings_variables() -> set[str]:
    return set(READ.findall((ROOT / "lastbell" / "settings.py").read_text()))


def test_it_finds_the_variables_settings_reads():
    names = _settings_variables()
    assert {"DATABASE_URL", "REDIS_URL", "LOG_FORMAT", "LASTBELL_SMS_BACKEND"} <= names
    assert len(names) > 30


def test_every_variable_settings_reads_is_documented():
    page = (ROOT / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", page))
    assert _settings_variables() - documented == set()


def test_compose_gives_the_app_only_variables_it_reads():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"migrate", "web", "worker", "db", "redis"} <= set(services)
    for name in ("migrate", "web", "worker"):
        given = set(services[name]["environment"])
        assert given - _settings_variables() == set(), name
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }

"""The QR decoder the curb screen loads (jsQR) is the one package-lock.json pins: `make vendor`
copies it from node_modules into lastbell/static/vendor, where it is committed."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VENDORED = ROOT / "lastbell" / "static" / "vendor" / "jsqr"


def test_the_vendored_jsqr_is_there_with_its_license():
    assert (VENDORED / "jsQR.js").stat().st_size > 100_000
    assert "Apache License" in (VENDORED / "LICENSE").read_text(encoding="utf-8")


def test_the_vendored_jsqr_is_the_pinned_version():
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/jsqr"]["version"]
    installed = ROOT / "node_modules" / "jsqr"
    if not installed.exists():
        pytest.skip("node_modules is not installed: run `npm ci` (`make test` does).")
    assert json.loads((installed / "package.json").read_text())["version"] == pinned
    assert (installed / "dist" / "jsQR.js").read_bytes() == (VENDORED / "jsQR.js").read_bytes(), (
        "lastbell/static/vendor/jsqr differs from node_modules: run `make vendor`."
    )

"""Task 1: collectstatic writes hashed, precompressed names, and the origin serves them."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from .conftest import ASSETS, HASHED, Built, build, fetch, unbrotli
from .stack import Server, source_names

pytestmark = pytest.mark.timeout(120)

TRAVERSALS = [
    "/static/../settings.py",
    "/static/%2e%2e/settings.py",
    "/static/..%2fsettings.py",
    "/static/css/../../settings.py",
    "/static/../../../../etc/passwd",
]


@pytest.mark.task(1)
def test_every_asset_gets_a_hashed_name_in_the_manifest(built: Built) -> None:
    assert set(built.manifest) == set(source_names(ASSETS))
    for name, hashed in built.manifest.items():
        shape = HASHED.match(hashed)
        assert shape, f"{name} -> {hashed}: no 12-hex-digit hash before the extension"
        assert shape["stem"] + shape["ext"] == name
        assert (built.root / hashed).is_file(), f"{hashed} is in the manifest, not on disk"
        assert (built.root / name).is_file(), "the unhashed name is deployed too"


@pytest.mark.task(1)
def test_hashed_files_hold_the_sources_bytes_and_css_names_hashed_urls(built: Built) -> None:
    for name in ("js/app.js", "img/logo.svg", "vendor/lib.0123456789ab.js"):
        assert (built.root / built.manifest[name]).read_bytes() == (ASSETS / name).read_bytes()
    css = (built.root / built.manifest["css/app.css"]).read_text()
    logo = built.manifest["img/logo.svg"].removeprefix("img/")
    assert f'url("../img/{logo}")' in css, "the stylesheet names the logo's hashed file"
    assert 'url("../img/logo.svg")' not in css


@pytest.mark.task(1)
def test_every_hashed_file_is_precompressed_with_gzip_and_brotli(built: Built) -> None:
    for hashed in built.manifest.values():
        plain = (built.root / hashed).read_bytes()
        assert gzip.decompress((built.root / f"{hashed}.gz").read_bytes()) == plain
        assert unbrotli((built.root / f"{hashed}.br").read_bytes()) == plain


@pytest.mark.task(1)
def test_a_changed_file_changes_its_hash_and_the_hashes_of_files_naming_it(
    built: Built, tmp_path: Path
) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS, assets)
    logo = assets / "img/logo.svg"
    logo.write_text(logo.read_text().replace("#1d3557", "#264653"))
    changed = build(tmp_path / "static", assets).manifest
    differs = {name for name in changed if changed[name] != built.manifest[name]}
    assert differs == {"img/logo.svg", "css/app.css"}, (
        "the logo changed; the stylesheet names the logo, so its bytes (and hash) changed too"
    )


@pytest.mark.task(1)
def test_the_origin_serves_hashed_files_and_never_a_path_outside_them(
    origin: Server, built: Built
) -> None:
    for name, hashed in built.manifest.items():
        reply = fetch(origin, built.url(name))
        assert reply.status == 200, f"{built.url(name)}: {reply.status}"
        assert reply.body == (built.root / hashed).read_bytes()
        assert "Accept-Encoding" in reply.header("Vary")
    assert fetch(origin, built.url("css/app.css")).header("Content-Type").startswith("text/css")
    for path in TRAVERSALS:
        reply = fetch(origin, path)
        assert reply.status == 404, f"{path}: {reply.status}"
        assert b"SECRET_KEY" not in reply.body and b"root:" not in reply.body

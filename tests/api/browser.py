"""Open a map page in headless Debian Chromium (playwright, the system binary) and read what
Leaflet drew; tests skip with the reason when Chromium or playwright is missing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LINES = '.leaflet-overlay-pane svg path.leaflet-interactive[fill="none"]'
PATHS = ".leaflet-overlay-pane svg path.leaflet-interactive"


@dataclass
class Drawn:
    """What the page showed: its errors, requests it tried off the machine, and its SVG paths."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    paths: int = 0
    lines: list[dict] = field(default_factory=list)  # {stroke, d, box} per route polyline
    strokes: dict[str, int] = field(default_factory=dict)  # colour -> number of paths
    screenshot: Path | None = None


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.skip("no Chromium (install Debian's `chromium`) for the headless map test")
    return path


def draw(page_file: Path, screenshot: Path) -> Drawn:
    """Load `page_file` with every request off the machine refused, wait for Leaflet's paths,
    and take a screenshot."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the `playwright` package is not installed")
    out = Drawn(screenshot=screenshot)

    def offline(route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            out.external.append(url)
            route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.on("pageerror", lambda exc: out.errors.append(str(exc)))
            page.route("**/*", offline)
            page.goto(page_file.as_uri())
            page.wait_for_selector(PATHS)
            paths = page.locator(PATHS)
            out.paths = paths.count()
            for i in range(out.paths):
                stroke = paths.nth(i).get_attribute("stroke") or ""
                out.strokes[stroke] = out.strokes.get(stroke, 0) + 1
            lines = page.locator(LINES)
            out.lines = [{"stroke": lines.nth(i).get_attribute("stroke"),
                          "d": lines.nth(i).get_attribute("d"),
                          "box": lines.nth(i).bounding_box()} for i in range(lines.count())]
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    return out


def is_png(path: Path, min_bytes: int = 5000) -> bool:
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > min_bytes

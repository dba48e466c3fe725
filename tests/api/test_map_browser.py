"""Route maps render offline: the HTML loads nothing but map tiles, and headless Chromium draws
every route as an SVG polyline without a JavaScript error."""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser
from types import SimpleNamespace


from api.citymap import SERVED, routes_map_html, write_map
from tests.api.browser import draw, is_png
from tests.slots.sample_network import HOME, STATION_AT, make_network, make_station, north_of

TILES = "https://tile.openstreetmap.org/"
ROUTES = [
    {"station": "S1", "wave": "W08", "vehicle": "S1-van-01", "stops": [
        {"stop": "o1", "location": list(HOME), "start": "2026-03-02T09:14:00", "status": "served"},
        {"stop": "o2", "location": list(north_of(HOME, 2)), "start": "2026-03-02T09:40:00",
         "status": "planned"},
    ]},
    {"station": "S1", "wave": "W08", "vehicle": "S1-trike-01", "stops": [
        {"stop": "o3", "location": list(north_of(STATION_AT, 5)),
         "start": datetime(2026, 3, 2, 10, 5), "status": "planned"},
    ]},
]


class _Resources(HTMLParser):
    """The src/href of every <script> and <link> tag."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        self.urls += [v or "" for k, v in attrs if k == wanted]


def _resources(html: str) -> list[str]:
    parser = _Resources()
    parser.feed(html)
    return parser.urls


def _plan() -> SimpleNamespace:
    """A stand-in DayPlan with one route (write_map reads only the day and the routes)."""
    t = datetime(2026, 3, 2, 8, 30)
    stops = tuple({"stop": s["stop"], "location": tuple(s["location"]), "start": t}
                  for s in ROUTES[0]["stops"])
    route = SimpleNamespace(station="S1", wave="W08", vehicle="S1-van-01", stops=stops)
    return SimpleNamespace(day=t.date(), routes=(route,))


def test_map_html_links_no_external_script_or_stylesheet(tmp_path):
    pages = {"routes_map_html": routes_map_html(ROUTES, [make_station()], title="S1 <W08>"),
             "write_map": write_map(_plan(), make_network(), tmp_path / "map.html").read_text()}
    for name, html in pages.items():
        assert _resources(html) == [], name
        assert "Leaflet 1.9.4" in html and ".leaflet-container" in html, name
        assert TILES + "{z}/{x}/{y}.png" in html, name
        for cdn in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com", "bootstrapcdn"):
            assert cdn not in html, (name, cdn)
    assert "<title>S1 &lt;W08&gt;</title>" in pages["routes_map_html"]


def test_headless_chromium_draws_every_route(tmp_path):
    page_file = tmp_path / "routes.html"
    page_file.write_text(routes_map_html(ROUTES, [make_station()], title="S1 W08"),
                         encoding="utf-8")
    drawn = draw(page_file, tmp_path / "routes.png")
    assert drawn.errors == []
    assert drawn.paths >= len(ROUTES) and len(drawn.lines) == len(ROUTES)
    assert len({line["stroke"] for line in drawn.lines}) == len(ROUTES)
    first = drawn.lines[0]
    assert first["d"] and first["d"].startswith("M") and "L" in first["d"]
    assert first["box"] and first["box"]["width"] > 10 and first["box"]["height"] > 10
    assert drawn.strokes.get(SERVED) == 1
    assert all(url.startswith(TILES) for url in drawn.external), drawn.external
    assert is_png(tmp_path / "routes.png")

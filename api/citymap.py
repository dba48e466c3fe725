"""Routes on a Leaflet map (built with folium): station areas, each vehicle's routes in its own
colour, one layer per station. The HTML is self-contained (Leaflet inlined from
`api/static/leaflet`) so it renders without internet access; only the map tiles need the network."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from html import escape
from importlib.resources import files
from pathlib import Path

from shapely.geometry import mapping

from slots.dayplan import DayPlan
from warehouses.model import Station
from warehouses.network import Network

PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
           "#bfef45", "#469990", "#9a6324", "#800000", "#808000", "#000075")
SERVED = "#9e9e9e"

_EXTERNAL = re.compile(r'<script\b[^>]*\bsrc="(?P<js>[^"]*)"[^>]*>\s*</script>[ \t]*\n?'
                       r'|<link\b[^>]*\bhref="(?P<css>[^"]*)"[^>]*>[ \t]*\n?', re.I)
_CSS_IMAGE = re.compile(r"url\(images/([\w.-]+\.png)\)")


def routes_map_html(routes: Sequence[Mapping], stations: Sequence[Station], title: str = "") -> str:
    """A self-contained HTML map of `routes` around `stations`.

    A route is {"station", "wave", "vehicle", "stops": [{"stop", "location": [lat, lon], "start":
    ISO string or datetime, "status": "planned" | "served"}]}; its line runs station -> stops ->
    station (just the stops if its station is not given). Served stops are grey.
    """
    import folium

    by_id = {st.id: st for st in stations}
    bounds = _bounds(stations, routes)
    (south, west), (north, east) = bounds or ((0.0, 0.0), (0.0, 0.0))
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2],
                      zoom_start=11 if bounds else 2, tiles="OpenStreetMap")
    if title:
        fmap.get_root().title = escape(title)
    areas = folium.FeatureGroup(name="service areas")
    for st in stations:
        folium.GeoJson(mapping(st.area), tooltip=_text(st.name),
                       style_function=lambda _: {"weight": 1, "fillOpacity": 0.03}).add_to(areas)
        folium.CircleMarker(list(st.location), radius=6, color="black", weight=2, fill=True,
                            fill_color="white", fill_opacity=1,
                            tooltip=_text(f"{st.id} {st.name}")).add_to(areas)
    areas.add_to(fmap)
    colour: dict[tuple[str, str], str] = {}
    groups: dict[str, folium.FeatureGroup] = {}
    for r in routes:
        c = colour.setdefault((r["station"], r["vehicle"]), PALETTE[len(colour) % len(PALETTE)])
        st = by_id.get(r["station"])
        if r["station"] not in groups:
            name = f"{st.id} {st.name} routes" if st else f"{r['station']} routes"
            groups[r["station"]] = folium.FeatureGroup(name=_text(name))
        group = groups[r["station"]]
        stops = r["stops"]
        depot = [_latlon(st.location)] if st else []
        line = depot + [_latlon(s["location"]) for s in stops] + depot
        if len(line) >= 2:
            folium.PolyLine(line, color=c, weight=2, opacity=0.8,
                            tooltip=_text(f"{r['vehicle']} wave {r['wave']}: {len(stops)} stops")
                            ).add_to(group)
        for seq, s in enumerate(stops, start=1):
            served = s.get("status") == "served"
            label = f"{seq}. {s['stop']} {_clock(s.get('start'))}" + (" (served)" if served else "")
            folium.CircleMarker(_latlon(s["location"]), radius=3, color=SERVED if served else c,
                                fill=True, tooltip=_text(label)).add_to(group)
    for group in groups.values():
        group.add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    if bounds:
        fmap.fit_bounds(bounds, max_zoom=16)
    return inline_leaflet(fmap.get_root().render())


def write_map(plan: DayPlan, network: Network, path: Path, max_routes: int = 400) -> Path:
    """Write the plan's HTML map; beyond `max_routes` routes only the first ones are drawn."""
    routes = [{"station": r.station, "wave": r.wave, "vehicle": r.vehicle, "stops": r.stops}
              for r in plan.routes[:max_routes]]
    path = Path(path)
    path.write_text(routes_map_html(routes, list(network.stations.values()),
                                    title=f"slot211 plan {plan.day}"), encoding="utf-8")
    return path


def inline_leaflet(html: str) -> str:
    """`html` with folium's CDN Leaflet <script>/<link> tags replaced by the vendored files inline
    and every other external script or stylesheet (jQuery, bootstrap, font icons) dropped."""
    found = set()

    def inline(m: re.Match) -> str:
        kind, url = ("js", m["js"]) if m["js"] is not None else ("css", m["css"])
        if not _is_leaflet(url, f"leaflet.{kind}"):
            return ""
        found.add(kind)
        if kind == "js":
            return f"<script>{_leaflet('leaflet.js')}</script>\n"
        return f"<style>{_leaflet_css()}</style>\n"

    html = _EXTERNAL.sub(inline, html)
    if found != {"js", "css"}:
        raise RuntimeError("folium's HTML no longer links leaflet.js and leaflet.css; "
                           "api.citymap.inline_leaflet needs updating")
    return html


def _is_leaflet(url: str, name: str) -> bool:
    return url.split("?")[0].rsplit("/", 1)[-1] == name


@cache
def _leaflet(name: str) -> str:
    return files("api").joinpath("static", "leaflet", name).read_text(encoding="utf-8")


@cache
def _leaflet_css() -> str:
    """leaflet.css with the layer-control icons it references as data: URIs."""
    images = files("api").joinpath("static", "leaflet", "images")

    def data_uri(m: re.Match) -> str:
        image = images.joinpath(m[1])
        if not image.is_file():
            return m[0]
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode()})"

    return _CSS_IMAGE.sub(data_uri, _leaflet("leaflet.css"))


def _text(s: str) -> str:
    """Tooltip text made safe for folium, which pastes it raw into HTML in a JS template string."""
    return escape(str(s)).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _latlon(location: Iterable[float]) -> list[float]:
    lat, lon = location
    return [float(lat), float(lon)]


def _clock(start: datetime | str | None) -> str:
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start)
        except ValueError:
            return start
    return f"{start:%H:%M}" if isinstance(start, datetime) else ""


def _bounds(stations: Sequence[Station], routes: Sequence[Mapping]) -> list[list[float]] | None:
    """South-west and north-east corners around the station areas and the stops."""
    points = [_latlon(s["location"]) for r in routes for s in r["stops"]]
    for st in stations:
        points.append(_latlon(st.location))
        if not st.area.is_empty:
            minx, miny, maxx, maxy = st.area.bounds
            points += [[miny, minx], [maxy, maxx]]
    if not points:
        return None
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]

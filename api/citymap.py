"""The plan on a Leaflet map (folium): station areas, and each vehicle's routes in its own colour,
one layer per station."""

from __future__ import annotations

from pathlib import Path

from shapely.geometry import mapping

from slots.dayplan import DayPlan
from warehouses.network import Network

PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
           "#bfef45", "#469990", "#9a6324", "#800000", "#808000", "#000075", "#a9a9a9")


def write_map(plan: DayPlan, network: Network, path: Path, max_routes: int = 400) -> Path:
    """Write an HTML map; beyond `max_routes` routes only the first ones are drawn."""
    import folium

    lats = [s.location[0] for s in network.stations.values()]
    lons = [s.location[1] for s in network.stations.values()]
    fmap = folium.Map(location=[sum(lats) / len(lats), sum(lons) / len(lons)], zoom_start=11,
                      tiles="OpenStreetMap")
    areas = folium.FeatureGroup(name="service areas")
    for st in network.stations.values():
        folium.GeoJson(mapping(st.area), style_function=lambda _: {"weight": 1, "fillOpacity": 0.03},
                       tooltip=st.name).add_to(areas)
        folium.Marker([st.location[0], st.location[1]], tooltip=f"{st.id} {st.name}",
                      icon=folium.Icon(color="black", icon="home")).add_to(areas)
    areas.add_to(fmap)
    colour, groups = {}, {}
    for r in plan.routes[:max_routes]:
        c = colour.setdefault((r.station, r.vehicle), PALETTE[len(colour) % len(PALETTE)])
        st = network.stations[r.station]
        line = [list(st.location)] + [s["location"] for s in r.stops] + [list(st.location)]
        group = groups.get(r.station)
        if group is None:
            group = groups[r.station] = folium.FeatureGroup(name=f"{st.id} {st.name} routes")
        folium.PolyLine(line, color=c, weight=2, opacity=0.8,
                        tooltip=f"{r.vehicle} wave {r.wave}: {len(r.stops)} stops").add_to(group)
        for seq, s in enumerate(r.stops, start=1):
            folium.CircleMarker(s["location"], radius=3, color=c, fill=True,
                                tooltip=f"{seq}. {s['stop']} {s['start']:%H:%M}").add_to(group)
    for group in groups.values():
        group.add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fmap.save(str(path))
    return path

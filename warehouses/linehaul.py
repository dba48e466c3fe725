"""Line-haul timing: earliest arrival over links with daily timetables (time-dependent Dijkstra).

A truck on a link leaves at one of its departures (minutes of the day, repeating daily; none
means whenever the load is ready) and arrives `transit` minutes later. Waiting at a node is
allowed, so arrival times are FIFO and label-setting Dijkstra is exact.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable
from datetime import datetime, timedelta

import networkx as nx

from .model import Link

DAY = 24 * 60
MINUTE = timedelta(minutes=1)


def build_graph(nodes: Iterable[tuple[str, str]], links: Iterable[Link]) -> nx.DiGraph:
    """A DiGraph of (node id, kind) nodes and one edge per link, departures sorted for lookup."""
    graph = nx.DiGraph()
    for node, kind in nodes:
        graph.add_node(node, kind=kind)
    for link in links:
        graph.add_edge(link.source, link.target, transit=link.transit,
                       departures=tuple(sorted(link.departures)), link=link)
    return graph


def next_departure(departures: tuple[int, ...], ready: datetime) -> datetime:
    """The first departure at or after `ready` from a sorted daily timetable; () leaves at once."""
    if not departures:
        return ready
    midnight = ready.replace(hour=0, minute=0, second=0, microsecond=0)
    minute = (ready - midnight) / MINUTE
    i = bisect_left(departures, minute)
    if i < len(departures):
        return midnight + departures[i] * MINUTE
    return midnight + (DAY + departures[0]) * MINUTE


def earliest_arrivals(graph: nx.DiGraph, source: str, ready: datetime) -> dict[str, datetime]:
    """Earliest arrival at every node reachable from `source` for a load ready at `ready`."""
    best = {source: ready}
    heap = [(ready, source)]
    while heap:
        at, node = heapq.heappop(heap)
        if at > best[node]:
            continue
        for target, edge in graph.adj[node].items():
            arrive = next_departure(edge["departures"], at) + edge["transit"] * MINUTE
            if target not in best or arrive < best[target]:
                best[target] = arrive
                heapq.heappush(heap, (arrive, target))
    return best

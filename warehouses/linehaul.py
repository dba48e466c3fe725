"""Line-haul timing: earliest arrival over links with daily timetables (time-dependent Dijkstra).

A truck on a link leaves at one of its departures (minutes of the day, repeating daily; none
means whenever the load is ready) and arrives `transit` minutes later. Waiting at a node is
allowed, so arrival times are FIFO and label-setting Dijkstra is exact.

Timetables repeat daily, so a load ready at minute m of any day arrives the same number of
minutes later as one ready at minute m of any other: `Offsets` answers for the 1,440 whole
minutes of a day from a Dijkstra over plain indexed adjacency lists, memoised, which is what the
per-order stock check at checkout asks.
"""

from __future__ import annotations

import heapq
import math
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


class Offsets:
    """Minutes from a load's whole-minute ready time to its earliest arrival at every node, per
    (source, minute of the day): one list per pair, memoised up to `cache_size` pairs."""

    def __init__(self, graph: nx.DiGraph, cache_size: int = 1 << 16) -> None:
        self.index = {node: i for i, node in enumerate(graph.nodes)}
        self._adj: list[list[tuple[int, float, tuple[int, ...]]]] = [[] for _ in self.index]
        for u, v, edge in graph.edges(data=True):
            self._adj[self.index[u]].append((self.index[v], float(edge["transit"]),
                                             edge["departures"]))
        self._cache: dict[tuple[int, int], list[float]] = {}
        self._size = cache_size

    def __call__(self, source: str, minute: int) -> list[float]:
        """Offsets (math.inf: unreachable) of a load ready at `source` at `minute` (0..1439)."""
        key = (self.index[source], minute)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self._size:
                self._cache.clear()
            found = self._cache[key] = self._solve(key[0], float(minute))
        return found

    def _solve(self, source: int, start: float) -> list[float]:
        best = [math.inf] * len(self._adj)
        best[source] = start
        heap = [(start, source)]
        adj = self._adj
        while heap:
            at, node = heapq.heappop(heap)
            if at > best[node]:
                continue
            day = math.floor(at / DAY)
            clock = at - day * DAY
            for target, transit, departures in adj[node]:
                if not departures:
                    leave = at
                else:
                    i = bisect_left(departures, clock)
                    leave = (day * DAY + departures[i] if i < len(departures)
                             else (day + 1) * DAY + departures[0])
                arrive = leave + transit
                if arrive < best[target]:
                    best[target] = arrive
                    heapq.heappush(heap, (arrive, target))
        return [b - start for b in best]

"""referral_ring: people refer each other in a cycle (A refers B and B refers A, or longer).

The cycle search runs on the person-level referral graph reduced in SQL to people who both refer
and are referred (sql/features/referral_edges.sql), which is small even on a large platform;
networkx finds the bounded-length simple cycles."""
from __future__ import annotations

import json

import networkx as nx

from bountyguard import models
from bountyguard.errors import ConfigError
from detectors.base import Detector


class ReferralRingDetector(Detector):
    pattern = "referral_ring"

    def check_params(self) -> None:
        if not 2 <= self.min_cycle_length <= self.max_cycle_length:
            raise ConfigError("[referral_ring] need 2 <= min_cycle_length <= max_cycle_length")

    def required_models(self) -> tuple[str, ...]:
        return ("referral_edges",)

    def detect(self, con) -> list[tuple]:
        edges = con.execute(models.query("referral_edges")[0]).fetchall()
        graph = nx.DiGraph()
        for from_person, to_person, referral_ids, hires, by_name in edges:
            # A cycle through a name guess counts only when every referral on it led to a hire, so a
            # name guess without a hire is on no ring that counts: left out before the search, which
            # finds the same rings. Common names guess many such edges (at ten million referrals 85,000
            # of 86,500 edges were name guesses, and the search over all of them took minutes).
            if by_name and not hires:
                continue
            graph.add_edge(from_person, to_person, referral_ids=list(referral_ids), hires=hires, by_name=by_name)
        self.n_edges_, self.n_edges_searched_ = len(edges), graph.number_of_edges()
        rings: dict[str, list[list[str]]] = {}
        for cycle in nx.simple_cycles(graph, length_bound=self.max_cycle_length):
            if len(cycle) < self.min_cycle_length:
                continue
            steps = list(zip(cycle, cycle[1:] + cycle[:1]))
            if any(graph.edges[a, b]["by_name"] for a, b in steps) and not all(graph.edges[a, b]["hires"] for a, b in steps):
                continue  # closed only through a name: namesakes refer each other by chance, rarely all hired
            start = cycle.index(min(cycle))  # one canonical rotation: identical inputs, identical evidence
            cycle = cycle[start:] + cycle[:start]
            for person in cycle:
                rings.setdefault(person, []).append(cycle)
        self.n_cycles_ = len({tuple(c) for cs in rings.values() for c in cs})
        if not rings:
            self.n_flags_ = 0
            return []
        records = dict(con.execute(
            "SELECT person_id, min(record_id) FROM person_records WHERE record_type = 'referrer' "
            "AND person_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY person_id", [sorted(rings)]).fetchall())
        rows = []
        for person in sorted(rings):
            cycles = sorted(rings[person], key=lambda c: (len(c), c))
            evidence = {
                "person_id": person,
                "rings": [
                    {
                        "persons": c,
                        "length": len(c),
                        "referrals": [
                            {"from": a, "to": b, "referral_ids": graph.edges[a, b]["referral_ids"],
                             "hires": graph.edges[a, b]["hires"]}
                            for a, b in zip(c, c[1:] + c[:1])
                        ],
                    }
                    for c in cycles
                ],
            }
            hired = any(graph.edges[a, b]["hires"] for c in cycles for a, b in zip(c, c[1:] + c[:1]))
            rows.append(("referrer", records.get(person), person, 1.0 if hired else 0.7, "high",
                         json.dumps(evidence, sort_keys=True)))
        rows = [r for r in rows if r[1] is not None]
        self.n_flags_ = len(rows)
        return rows

"""Write a generated world: the landing folder and its truth folder."""
from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import numpy as np

from bountyguard.contract import LOAD_ORDER, PATTERNS, TABLES
from bountyguard.evaluation.generator import schemes
from bountyguard.evaluation.generator import truth as labels
from bountyguard.evaluation.generator.records import DUE_WINDOW_DAYS
from bountyguard.evaluation.generator.world import World


def _write_csv(path: Path, header: list[str], rows: list[list[str]]):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def generate(out: Path, seed: int = 7, scale: float = 1.0, as_of: date | str = date(2026, 6, 30),
             rule_free_abuse: bool = False) -> dict:
    """Write a labelled landing folder to `out/landing` and its truth to `out/truth`; return a summary."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    out = Path(out)
    world = World(seed, scale, as_of)
    world.make_companies_and_jobs()
    world.honest_background()
    for scheme in schemes.IN_ORDER:
        scheme.inject(world)
    world.make_payouts(world.hires, np.random.default_rng([seed, 1]))
    world.late_corrections()
    if rule_free_abuse:
        # its own random stream, drawn last: the default data set is the same with or without this option
        extra_rng = np.random.default_rng([seed, 2])
        first_new = len(world.hires)
        schemes.anomaly.inject(world, extra_rng)
        world.make_payouts(world.hires[first_new:], extra_rng)
    world.index()
    world.assign_ids()
    labels.derive_labels(world)
    decisions = labels.decide(world)

    landing, truth = out / "landing", out / "truth"
    landing.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    tables = world.rows()
    for name in LOAD_ORDER:
        _write_csv(landing / f"{name}.csv", TABLES[name].column_names, tables[name])

    ident = [["referrer", r.id, r.person.pid] for r in sorted(world.referrers, key=lambda r: r.id)]
    ident += [["candidate", c.id, c.person.pid] for c in sorted(world.candidates, key=lambda c: c.id)]
    _write_csv(truth / "identities.csv", ["record_type", "record_id", "true_person_id"], ident)

    pattern_rows = []
    for pattern in PATTERNS:
        for person, e in sorted(world.labels[pattern].items(), key=lambda kv: kv[0].pid):
            hires = sorted(h.id for h in e["hires"])
            payouts = sorted(h.payout.id for h in e["hires"] if h.payout is not None)
            pattern_rows.append([pattern, person.pid, e["role"], "true" if e["disguised"] else "false",
                                 ";".join(sorted(r.id for r in e["records"])),
                                 ";".join(sorted(r.id for r in e["referrals"])), ";".join(hires), ";".join(payouts)])
    _write_csv(truth / "patterns.csv", ["pattern", "true_person_id", "role", "disguised", "record_ids",
                                        "referral_ids", "hire_ids", "payout_ids"], pattern_rows)

    payout_rows, decision_counts = [], {d: 0 for d in ("release", "hold", "void", "clawback")}
    for p in sorted(world.payouts, key=lambda p: p.id):
        decision, reasons = decisions[p]
        if decision:
            decision_counts[decision] += 1
        payout_rows.append([p.id, decision, ";".join(reasons),
                            "true" if decision in ("hold", "void", "clawback") else "false"])
    _write_csv(truth / "payouts.csv", ["payout_id", "expected_decision", "reasons", "blocked"], payout_rows)

    summary = {
        "rows": {name: len(tables[name]) for name in LOAD_ORDER},
        "patterns": {p: len(world.labels[p]) for p in PATTERNS},
        "decisions": decision_counts,
    }
    meta = {"seed": seed, "scale": scale, "as_of": as_of.isoformat(), "rule_free_abuse": rule_free_abuse,
            "history_start": world.start.isoformat(), "due_window_days": DUE_WINDOW_DAYS, **summary}
    (truth / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return summary

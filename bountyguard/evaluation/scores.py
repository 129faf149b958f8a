"""Score a run against ground truth: the generator's labels, or analysts' confirmed decisions in
the same format.

Truth folder (as `bountyguard generate` writes it): identities.csv (record_type, record_id,
true_person_id), patterns.csv (pattern, true_person_id, role, ...), payouts.csv (payout_id,
expected_decision, reasons, blocked). The run is read from its published folder (flags.csv,
identities.csv, payout_decisions.csv), like any other reader's.

Measures: per-pattern precision and recall at person level; payout-level precision, recall and F1
of blocking (hold, void or clawback); identity resolution's pairwise precision and recall; money:
abusive bounty blocked and missed, honest bounty delayed.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

from bountyguard.contract import PATTERNS
from bountyguard.errors import BountyguardError

BLOCKING = {"hold", "void", "clawback"}


def _read(path: Path) -> list[dict]:
    if not path.exists():
        raise BountyguardError(f"{path}: missing")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None or p + r == 0:
        return None if p is None or r is None else 0.0
    return round(2 * p * r / (p + r), 4)


def _pairs(clusters: dict[str, set]) -> int:
    return sum(len(m) * (len(m) - 1) // 2 for m in clusters.values())


def identity_scores(predicted: dict[tuple, str], truth: dict[tuple, str]) -> dict:
    """Pairwise precision/recall/F1 of record pairs put into one person."""
    keys = set(predicted) & set(truth)
    pred, true, both = defaultdict(set), defaultdict(set), defaultdict(set)
    for k in keys:
        pred[predicted[k]].add(k)
        true[truth[k]].add(k)
        both[(predicted[k], truth[k])].add(k)
    tp, pp, tt = _pairs(both), _pairs(pred), _pairs(true)
    precision, recall = _ratio(tp, pp), _ratio(tp, tt)
    return {"records": len(keys), "predicted_pairs": pp, "true_pairs": tt, "true_positive_pairs": tp,
            "precision": precision, "recall": recall, "f1": _f1(precision, recall)}


def evaluate(run_dir: Path, truth_dir: Path, landing: Path) -> dict:
    run_dir, truth_dir, landing = Path(run_dir), Path(truth_dir), Path(landing)
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(report["as_of"])
    true_person = {(r["record_type"], r["record_id"]): r["true_person_id"] for r in _read(truth_dir / "identities.csv")}
    our_person = {(r["record_type"], r["record_id"]): r["person_id"] for r in _read(run_dir / "identities.csv")}

    referral_people = {r["referral_id"]: (true_person.get(("referrer", r["referrer_id"])),
                                          true_person.get(("candidate", r["candidate_id"])))
                       for r in _read(landing / "referrals.csv")}
    hire_people = {}
    for h in _read(landing / "hires.csv"):
        referrer = referral_people.get(h["referral_id"], (None, None))[0] if h["referral_id"] else None
        hire_people[h["hire_id"]] = (referrer, true_person.get(("candidate", h["candidate_id"])))

    truth_rows = _read(truth_dir / "patterns.csv")
    truth_sets: dict[str, set] = defaultdict(set)
    roles: dict[str, set] = defaultdict(set)
    for r in truth_rows:
        truth_sets[r["pattern"]].add(r["true_person_id"])
        roles[r["pattern"]].add(r["role"])

    predicted_sets: dict[str, set] = defaultdict(set)
    for f in _read(run_dir / "flags.csv"):
        pattern, etype, eid = f["pattern"], f["entity_type"], f["entity_id"]
        if etype in ("referrer", "candidate"):
            people = {true_person.get((etype, eid))}
        else:
            referrer, candidate = (referral_people if etype == "referral" else hire_people).get(eid, (None, None))
            wanted = roles.get(pattern) or {"referrer", "candidate"}
            people = {p for role, p in (("referrer", referrer), ("candidate", candidate)) if role in wanted}
        predicted_sets[pattern] |= {p for p in people if p}

    per_pattern = {}
    for pattern in PATTERNS:
        t, p = truth_sets.get(pattern, set()), predicted_sets.get(pattern, set())
        tp = len(t & p)
        precision, recall = _ratio(tp, len(p)), _ratio(tp, len(t))
        per_pattern[pattern] = {"truth": len(t), "flagged": len(p), "true_positives": tp,
                                "precision": precision, "recall": recall, "f1": _f1(precision, recall)}

    payouts = {p["payout_id"]: p for p in _read(landing / "payouts.csv")}
    truth_payouts = {r["payout_id"]: r for r in _read(truth_dir / "payouts.csv")}
    decided = {d["payout_id"]: d["decision"] for d in _read(run_dir / "payout_decisions.csv")}
    tp = fp = fn = 0
    money = Counter()
    honest_delay_days = []
    confusion = Counter()
    for pid in sorted(set(decided) | {k for k, v in truth_payouts.items() if v["expected_decision"]}):
        expected = truth_payouts.get(pid, {}).get("expected_decision") or "none"
        got = decided.get(pid, "none")
        confusion[(expected, got)] += 1
        should_block = expected in BLOCKING
        blocked = got in BLOCKING
        amount = Decimal(payouts[pid]["amount"]) if pid in payouts else Decimal(0)
        if should_block and blocked:
            tp += 1
            money["abusive_blocked"] += amount
        elif should_block:
            fn += 1
            money["abusive_missed"] += amount
        elif blocked:
            fp += 1
            money["honest_delayed"] += amount
            if pid in payouts:
                honest_delay_days.append((as_of - dt.date.fromisoformat(payouts[pid]["eligible_at"][:10])).days)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "run_id": report["run_id"],
        "as_of": report["as_of"],
        "status": report["status"],
        "patterns": per_pattern,
        "payouts": {"true_positives": tp, "false_positives": fp, "false_negatives": fn,
                    "precision": precision, "recall": recall, "f1": _f1(precision, recall),
                    "exact_decision_rate": _ratio(sum(n for (e, g), n in confusion.items() if e == g),
                                                  sum(confusion.values())),
                    "confusion": {f"{e}->{g}": n for (e, g), n in sorted(confusion.items())}},
        "identity": identity_scores(our_person, true_person),
        "money": {
            "abusive_blocked": str(money["abusive_blocked"]),
            "abusive_missed": str(money["abusive_missed"]),
            "honest_delayed": str(money["honest_delayed"]),
            "honest_delayed_payouts": fp,
            "honest_days_overdue_at_as_of": (round(sum(honest_delay_days) / len(honest_delay_days), 1)
                                             if honest_delay_days else 0),
        },
    }


def format_scores(scores: dict) -> str:
    lines = [f"run {scores['run_id']} (as of {scores['as_of']}, report {scores['status']})", "",
             f"{'pattern':<22}{'truth':>7}{'flagged':>9}{'TP':>6}{'precision':>11}{'recall':>8}"]
    for pattern, s in scores["patterns"].items():
        line = (f"{pattern:<22}{s['truth']:>7}{s['flagged']:>9}{s['true_positives']:>6}"
                f"{_fmt(s['precision']):>11}{_fmt(s['recall']):>8}")
        if pattern == "anomaly":
            # a ranking for review, not a verdict; labelled only in the generator's rule-free variant
            line += "  (ranking for review" + ("; no labels in this data)" if not s["truth"] else ")")
        lines.append(line)
    p = scores["payouts"]
    lines += ["", f"payout blocking: precision {_fmt(p['precision'])}  recall {_fmt(p['recall'])}  "
                  f"F1 {_fmt(p['f1'])}  (TP {p['true_positives']}, FP {p['false_positives']}, "
                  f"FN {p['false_negatives']}; exact decision {_fmt(p['exact_decision_rate'])})"]
    i = scores["identity"]
    lines.append(f"identity resolution: pairwise precision {_fmt(i['precision'])}  recall {_fmt(i['recall'])}  "
                 f"F1 {_fmt(i['f1'])}  ({i['records']} records, {i['true_pairs']} true pairs)")
    m = scores["money"]
    lines.append(f"money: abusive bounty blocked {m['abusive_blocked']}, missed {m['abusive_missed']}; "
                 f"honest bounty delayed {m['honest_delayed']} on {m['honest_delayed_payouts']} payouts "
                 f"(on average {m['honest_days_overdue_at_as_of']} days past eligibility at the as-of date)")
    return "\n".join(lines)


def format_comparison(ours: dict, baseline: dict) -> str:
    """bountyguard's scores beside the textbook baseline's (bountyguard/evaluation/baseline.py) on the same data:
    what the design adds over exact keys and one simple rule per pattern."""
    lines = [f"{'pattern':<22}{'bountyguard P':>14}{'R':>7}{'baseline P':>12}{'R':>7}"]
    for pattern, s in ours["patterns"].items():
        if pattern == "anomaly":
            continue
        b = baseline["patterns"][pattern]
        lines.append(f"{pattern:<22}{_fmt(s['precision']):>14}{_fmt(s['recall']):>7}"
                     f"{_fmt(b['precision']):>12}{_fmt(b['recall']):>7}")
    lines.append(f"{'payout blocking F1':<22}{_fmt(ours['payouts']['f1']):>14}{'':>7}{_fmt(baseline['payouts']['f1']):>12}")
    lines.append(f"{'identity pairwise F1':<22}{_fmt(ours['identity']['f1']):>14}{'':>7}{_fmt(baseline['identity']['f1']):>12}")
    return "\n".join(lines)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def sweep(datasets: list[tuple[Path, Path]], work: Path, as_of, config, section: str, key: str,
          values: list) -> list[dict]:
    """Screen each (landing, truth) dataset once per value of `section.key` and score it: the
    trade-off between abuse blocked and honest referrers delayed, one row per value."""
    from bountyguard import pipeline

    rows = []
    for value in values:
        totals = Counter()
        money = Counter()
        pattern_tp = pattern_flagged = pattern_truth = 0
        for n, (landing, truth) in enumerate(datasets):
            db = Path(work) / f"sweep-{section}.{key}={value}-{n}.duckdb"
            for stale in (db, Path(str(db) + ".wal")):
                stale.unlink(missing_ok=True)
            summary = pipeline.run(landing, db, as_of, config, overrides={section: {key: value}})
            scores = evaluate(Path(summary["published_dir"]), truth, landing)
            p = scores["payouts"]
            totals.update(tp=p["true_positives"], fp=p["false_positives"], fn=p["false_negatives"])
            for field in ("abusive_blocked", "abusive_missed", "honest_delayed"):
                money[field] += Decimal(scores["money"][field])
            money["honest_delayed_payouts"] += scores["money"]["honest_delayed_payouts"]
            if section in scores["patterns"]:
                s = scores["patterns"][section]
                pattern_tp += s["true_positives"]
                pattern_flagged += s["flagged"]
                pattern_truth += s["truth"]
        precision = _ratio(totals["tp"], totals["tp"] + totals["fp"])
        recall = _ratio(totals["tp"], totals["tp"] + totals["fn"])
        row = {"setting": f"{section}.{key}", "value": value, "precision": precision, "recall": recall,
               "f1": _f1(precision, recall),
               "abusive_blocked": str(money["abusive_blocked"]), "abusive_missed": str(money["abusive_missed"]),
               "honest_delayed": str(money["honest_delayed"]),
               "honest_delayed_payouts": int(money["honest_delayed_payouts"])}
        if section in PATTERNS:
            row["pattern_precision"] = _ratio(pattern_tp, pattern_flagged)
            row["pattern_recall"] = _ratio(pattern_tp, pattern_truth)
        rows.append(row)
    return rows


def format_sweep(rows: list[dict]) -> str:
    setting = rows[0]["setting"] if rows else "?"
    has_pattern = rows and "pattern_precision" in rows[0]
    head = f"{setting:<40}{'precision':>10}{'recall':>8}{'F1':>7}{'abuse blocked':>15}{'abuse missed':>14}{'honest delayed':>16}{'payouts':>9}"
    if has_pattern:
        head += f"{'pattern P':>11}{'pattern R':>11}"
    lines = ["payout blocking by setting (money in the payouts' currency units)", head]
    for r in rows:
        line = (f"{str(r['value']):<40}{_fmt(r['precision']):>10}{_fmt(r['recall']):>8}{_fmt(r['f1']):>7}"
                f"{r['abusive_blocked']:>15}{r['abusive_missed']:>14}{r['honest_delayed']:>16}{r['honest_delayed_payouts']:>9}")
        if has_pattern:
            line += f"{_fmt(r['pattern_precision']):>11}{_fmt(r['pattern_recall']):>11}"
        lines.append(line)
    return "\n".join(lines)


def plot_sweep(rows: list[dict], path: Path) -> Path:
    """A PNG of the trade-off: abusive bounty missed and honest bounty delayed against the setting."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the file
    import matplotlib.pyplot as plt

    labels = [str(r["value"]) for r in rows]
    x = range(len(rows))
    fig, (money_ax, rate_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    money_ax.plot(x, [float(r["abusive_missed"]) for r in rows], marker="o", label="abusive bounty missed")
    money_ax.plot(x, [float(r["honest_delayed"]) for r in rows], marker="s", label="honest bounty delayed")
    money_ax.set_xticks(list(x), labels)
    money_ax.set_xlabel(rows[0]["setting"])
    money_ax.set_ylabel("amount")
    money_ax.set_title("What a threshold costs")
    money_ax.legend()
    for field, marker in (("precision", "o"), ("recall", "s"), ("f1", "^")):
        rate_ax.plot(x, [r[field] or 0 for r in rows], marker=marker, label=f"blocking {field}")
    rate_ax.set_xticks(list(x), labels)
    rate_ax.set_xlabel(rows[0]["setting"])
    rate_ax.set_ylim(0, 1.05)
    rate_ax.set_title("Payout blocking quality")
    rate_ax.legend(loc="lower left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

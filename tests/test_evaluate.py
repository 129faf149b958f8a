"""`evaluate` checked against numbers computed by hand on a tiny run."""
import csv
import json
from pathlib import Path

from bountyguard.evaluation.scores import evaluate, format_scores, plot_sweep


def write(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def tiny(tmp_path: Path):
    landing, truth, run = tmp_path / "landing", tmp_path / "truth", tmp_path / "run"
    write(landing / "referrals.csv", ["referral_id", "referrer_id", "candidate_id"],
          [["RF1", "R1", "C1"], ["RF2", "R2", "C2"], ["RF3", "R2", "C4"]])
    write(landing / "hires.csv", ["hire_id", "referral_id", "candidate_id"],
          [["H1", "RF1", "C1"], ["H2", "RF2", "C2"], ["H3", "RF3", "C4"]])
    write(landing / "payouts.csv", ["payout_id", "hire_id", "amount", "eligible_at", "status"],
          [["P1", "H1", "100.00", "2026-06-01", "pending"], ["P2", "H2", "200.00", "2026-06-10", "pending"],
           ["P3", "H3", "300.00", "2026-06-20", "pending"]])
    # truth: R1 and C1 are one person (T1); C2 and C3 are one person (T3)
    write(truth / "identities.csv", ["record_type", "record_id", "true_person_id"],
          [["referrer", "R1", "T1"], ["candidate", "C1", "T1"], ["referrer", "R2", "T2"],
           ["candidate", "C2", "T3"], ["candidate", "C3", "T3"], ["candidate", "C4", "T4"]])
    write(truth / "patterns.csv", ["pattern", "true_person_id", "role"],
          [["self_referral", "T1", "referrer"], ["early_exit", "T3", "candidate"],
           ["velocity_spike", "T2", "referrer"]])
    write(truth / "payouts.csv", ["payout_id", "expected_decision", "reasons", "blocked"],
          [["P1", "hold", "self_referral", "true"], ["P2", "void", "early_exit", "true"],
           ["P3", "release", "", "false"]])
    # the run: R1+C1 merged (right), C2+C3 not merged (a miss), C2+C4 merged (wrong)
    write(run / "identities.csv", ["record_type", "record_id", "person_id"],
          [["referrer", "R1", "A"], ["candidate", "C1", "A"], ["referrer", "R2", "B"],
           ["candidate", "C2", "C"], ["candidate", "C3", "D"], ["candidate", "C4", "C"]])
    write(run / "flags.csv", ["flag_id", "run_id", "pattern", "entity_type", "entity_id", "score", "severity", "evidence"],
          [["F1", "r", "self_referral", "referral", "RF1", 1, "high", "{}"],
           ["F2", "r", "early_exit", "hire", "H3", 1, "high", "{}"],
           ["F3", "r", "velocity_spike", "referrer", "R2", 1, "medium", "{}"],
           ["F4", "r", "job_hopping", "candidate", "C2", 1, "medium", "{}"]])
    write(run / "payout_decisions.csv", ["payout_id", "decision", "reasons", "run_id", "report_sha256"],
          [["P1", "hold", "self_referral", "r", "x"], ["P2", "release", "", "r", "x"],
           ["P3", "void", "early_exit", "r", "x"]])
    (run / "report.json").write_text(json.dumps({"run_id": "r", "as_of": "2026-06-30", "status": "clean"}))
    return run, truth, landing


def test_scores_match_hand_computed_values(tmp_path):
    scores = evaluate(*tiny(tmp_path))

    p = scores["patterns"]
    assert p["self_referral"] == {"truth": 1, "flagged": 1, "true_positives": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    # H3's candidate C4 is T4, not the early leaver T3
    assert p["early_exit"] == {"truth": 1, "flagged": 1, "true_positives": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert p["velocity_spike"]["precision"] == 1.0 and p["velocity_spike"]["recall"] == 1.0
    assert p["job_hopping"] == {"truth": 0, "flagged": 1, "true_positives": 0, "precision": 0.0, "recall": None, "f1": None}
    assert p["referral_ring"]["precision"] is None

    # P1 blocked rightly, P2 missed, P3 an honest payout blocked
    payouts = scores["payouts"]
    assert (payouts["true_positives"], payouts["false_positives"], payouts["false_negatives"]) == (1, 1, 1)
    assert payouts["precision"] == 0.5 and payouts["recall"] == 0.5 and payouts["f1"] == 0.5
    assert payouts["exact_decision_rate"] == 0.3333
    assert payouts["confusion"] == {"hold->hold": 1, "release->void": 1, "void->release": 1}

    # true pairs (R1,C1), (C2,C3); predicted pairs (R1,C1), (C2,C4)
    ident = scores["identity"]
    assert (ident["true_pairs"], ident["predicted_pairs"], ident["true_positive_pairs"]) == (2, 2, 1)
    assert ident["precision"] == 0.5 and ident["recall"] == 0.5

    money = scores["money"]
    assert money == {"abusive_blocked": "100.00", "abusive_missed": "200.00", "honest_delayed": "300.00",
                     "honest_delayed_payouts": 1, "honest_days_overdue_at_as_of": 10.0}
    text = format_scores(scores)
    assert "payout blocking: precision 0.500  recall 0.500  F1 0.500" in text


def test_sweep_plot_is_a_png(tmp_path):
    rows = [{"setting": "velocity_spike.min_ratio_to_own_history", "value": v, "precision": 1.0, "recall": r,
             "f1": r, "abusive_blocked": "10", "abusive_missed": m, "honest_delayed": "0", "honest_delayed_payouts": 0}
            for v, r, m in ((2, 0.9, "5"), (4, 0.8, "10"))]
    path = plot_sweep(rows, tmp_path / "sweep.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

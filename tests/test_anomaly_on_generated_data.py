"""The anomaly score earns its keep: on the generator's rule-free abuse variant (referrers whose
candidates all quit just after the guarantee, each placed once, at random companies), those
referrers rank near the top although no rule targets them."""
import csv
import json
from pathlib import Path

from bountyguard import pipeline
from bountyguard.evaluation.generator import generate


def test_rule_free_abusers_rank_in_the_top_five_percent(tmp_path):
    generate(tmp_path, seed=7, scale=0.5, rule_free_abuse=True)
    with open(tmp_path / "truth" / "patterns.csv", newline="") as f:
        abusers = {r["record_ids"] for r in csv.DictReader(f) if r["pattern"] == "anomaly"}
    assert len(abusers) >= 5
    summary = pipeline.run(tmp_path / "landing", tmp_path / "bg.duckdb", "2026-06-30",
                           overrides={"anomaly": {"top_share": 0.05, "min_score": 0.0}})

    with open(Path(summary["published_dir"]) / "flags.csv", newline="") as f:
        flags = [r for r in csv.DictReader(f) if r["pattern"] == "anomaly" and r["entity_type"] == "referrer"]
    top = {rid for r in flags for rid in json.loads(r["evidence"])["referrer_ids"]}
    population = json.loads(flags[0]["evidence"])["population"]
    assert len(flags) <= 0.05 * population + 1  # the flags are the top 5% and no more
    found = {a for a in abusers if set(a.split(";")) & top}
    assert len(found) >= 0.8 * len(abusers), (len(found), len(abusers))
    # ranking for review only: no anomaly flag holds a payout under the default hold threshold
    assert {r["severity"] for r in flags} == {"low"}


def test_default_output_does_not_contain_the_variant(tmp_path):
    meta = generate(tmp_path, seed=7, scale=0.2)
    assert meta["patterns"].get("anomaly", 0) == 0

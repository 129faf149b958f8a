"""The anomaly score must earn its keep: referrers whose abuse no rule targets rank at the top of an
honest population with varied behaviour, a busy but normal power recruiter does not, and every flag
explains itself with the features that drive it."""
import datetime as dt
import json
import random

import duckdb
import pytest

from detectors.anomaly import AnomalyDetector, Reference, _rank_in, forget_model
from bountyguard import models
from tests.builders import Platform, run_detector

AS_OF = dt.date(2026, 6, 30)
GUARANTEES = (30, 60, 90, 180)
N_COMPANIES = 60


def _job(platform, rng, company=None, guarantees=GUARANTEES):
    company = company if company is not None else rng.randrange(N_COMPANIES)
    g = rng.choice(guarantees)
    job_id = f"J{company}-{g}"
    if not any(j["job_id"] == job_id for j in platform.rows["jobs"]):
        platform.job(job_id, f"C{company}", guarantee_days=g, bounty=rng.choice(("800.00", "1000.00", "1500.00")))
    return job_id, g


def _placement(platform, rng, n, referrer, referral_day, guarantees=GUARANTEES, tenure=None, company=None,
               hired=True):
    """One referral of a fresh candidate; hired after a few weeks if `hired`, leaving after `tenure`
    days (a function of the guarantee) or staying."""
    job_id, g = _job(platform, rng, company, guarantees)
    candidate = f"K{n}"
    lead, delay = rng.randint(14, 75), rng.randint(7, 30)
    hired_day = referral_day + dt.timedelta(days=lead)
    if not hired or hired_day > AS_OF:
        for table, key, value in (("referrers", "referrer_id", referrer), ("candidates", "candidate_id", candidate)):
            if not any(r[key] == value for r in platform.rows[table]):
                platform.add(table, **{key: value})
        platform.add("referrals", referral_id=f"RF{n}", referrer_id=referrer, candidate_id=candidate, job_id=job_id,
                     referred_at=f"{referral_day}T10:00:00Z")
        return
    start = hired_day + dt.timedelta(days=delay)
    days = tenure(g) if tenure else None
    ended = str(start + dt.timedelta(days=days)) if days is not None else None
    platform.referred_hire(str(n), referrer, candidate, job_id, started=str(start), ended=ended,
                           referred=f"{referral_day}T10:00:00Z", hired=f"{hired_day}T10:00:00Z")


def honest_tenure(rng):
    """Most hires stay; some leave much later, a few fail early, a few leave some time after the guarantee."""
    roll = rng.random()
    if roll < 0.55:
        return lambda g: None
    if roll < 0.85:
        return lambda g: g + rng.randint(60, 700)
    if roll < 0.93:
        return lambda g: rng.randint(10, max(11, g - 5))
    return lambda g: g + rng.randint(0, 120)


def _signup(platform, referrer, signup_day):
    platform.add("referrers", referrer_id=referrer, signed_up_at=f"{signup_day}T08:00:00Z")


def honest_referrer(platform, rng, referrer, counter, n_referrals, hire_rate, active_days, signup_day):
    _signup(platform, referrer, signup_day)
    first = signup_day + dt.timedelta(days=1)
    span = min(active_days, (AS_OF - first).days)
    for _ in range(n_referrals):
        day = first + dt.timedelta(days=rng.randint(0, span))
        _placement(platform, rng, next(counter), referrer, day, tenure=honest_tenure(rng),
                   hired=rng.random() < hire_rate)


def rule_free_abuser(platform, rng, referrer, counter):
    """6-15 fresh candidates, one placement each at a different company, spread thinly over a year, every
    one quitting 1-10 days after the guarantee end: no candidate is re-placed, so no rule fires."""
    _signup(platform, referrer, AS_OF - dt.timedelta(days=rng.randint(450, 600)))
    companies = rng.sample(range(N_COMPANIES), rng.randint(6, 15))
    days = sorted(rng.randint(215, 420) for _ in companies)
    for company, back in zip(companies, days):
        _placement(platform, rng, next(counter), referrer, AS_OF - dt.timedelta(days=back), guarantees=(30, 60, 90),
                   tenure=lambda g: g + rng.randint(1, 10), company=company)


def power_recruiter(platform, rng, referrer, counter):
    """Two referrals a week for two years, ordinary conversion and tenures: the biggest account."""
    signup = AS_OF - dt.timedelta(days=800)
    _signup(platform, referrer, signup)
    for week in range(110):
        for _ in range(2):
            day = signup + dt.timedelta(days=7 * week + rng.randint(1, 6))
            _placement(platform, rng, next(counter), referrer, day, tenure=honest_tenure(rng),
                       hired=rng.random() < 0.35)


def build_population(seed=3, n_honest=150, n_abusers=6):
    rng = random.Random(seed)
    platform = Platform()
    counter = iter(range(1, 10**6))
    for i in range(n_honest):
        roll = rng.random()
        if roll < 0.04:  # a few other busy recruiters: high volume is normal on this platform
            n, active = rng.randint(40, 80), rng.randint(500, 900)
        elif roll < 0.40:
            n, active = rng.randint(5, 25), rng.randint(200, 1000)
        else:
            n, active = rng.choice((1, 1, 2, 2, 3, 4, 5)), rng.randint(20, 500)
        signup = AS_OF - dt.timedelta(days=rng.randint(60, 1200))
        honest_referrer(platform, rng, f"RH{i:03d}", counter, n, rng.uniform(0.1, 0.6), active, signup)
    for i in range(n_abusers):
        rule_free_abuser(platform, rng, f"RA{i}", counter)
    power_recruiter(platform, rng, "RPOWER", counter)
    return platform


@pytest.fixture(scope="module")
def population():
    platform = build_population()
    con = duckdb.connect()
    platform.load(con, as_of=str(AS_OF))
    detector = AnomalyDetector.from_config()
    flags = run_detector(detector, con)
    yield con, detector, flags
    con.close()


def ranking(detector, entity="referrer"):
    scores = detector.scores_[entity]
    ordered = sorted(scores, key=lambda p: (-scores[p], p))
    return {person: i for i, person in enumerate(ordered)}, len(ordered)


def test_rule_free_abusers_rank_in_the_top_five_percent(population):
    con, detector, _ = population
    ranks, n = ranking(detector)
    abusers = [f"referrer:RA{i}" for i in range(6)]
    in_top = [p for p in abusers if ranks[p] < 0.05 * n]
    assert n > 150
    assert len(in_top) >= 0.8 * len(abusers), {p: ranks[p] for p in abusers}


def test_a_busy_power_recruiter_with_normal_tenures_is_not_in_the_top(population):
    _, detector, _ = population
    ranks, n = ranking(detector)
    assert ranks["referrer:RPOWER"] >= 0.05 * n


def test_flags_are_the_top_share_low_severity_and_explained(population):
    con, detector, flags = population
    referrer_flags = [f for f in flags if f[0] == "referrer"]
    n = detector.n_persons_["referrer"]
    assert len(referrer_flags) == int(0.02 * n)  # top_share 0.02
    for entity_type, entity_id, person_id, score, severity, evidence in referrer_flags:
        ev = json.loads(evidence)
        assert severity == "low"  # an anomaly alone never holds a payout
        assert entity_id == person_id.removeprefix("referrer:") and ev["referrer_ids"] == [entity_id]
        assert 0 <= score <= 1 and ev["score"] == score
        assert set(ev["model_scores"]) == {"ecod", "copod", "hbos"}
        assert len(ev["top_features"]) == 3
        for feature in ev["top_features"]:
            assert feature["feature"] in detector.feature_names_["referrer"]
            assert set(feature) == {"feature", "value", "population_median", "direction", "tail_score"}
    # the flagged abusers are explained by what makes them abusers
    abuser_flags = [json.loads(f[5]) for f in referrer_flags if f[1].startswith("RA")]
    assert abuser_flags
    for ev in abuser_flags:
        named = {f["feature"]: f for f in ev["top_features"]}
        exits = named["exit_soon_after_guarantee_share_lower_bound"]
        assert exits["direction"] == "high" and exits["value"] > exits["population_median"] == 0
        assert exits["tail_score"] > 3  # rarer than 1 in 20


def test_evidence_holds_ids_and_numbers_only(population):
    _, _, flags = population
    for flag in flags:
        ev = json.loads(flag[5])
        assert set(ev) == {"person_id", "referrer_ids" if flag[0] == "referrer" else "candidate_ids", "score",
                           "rank", "population", "flagged_share", "model_scores", "top_features",
                           "features_table"}


def test_candidates_are_scored_too(population):
    _, detector, flags = population
    assert detector.n_persons_["candidate"] > 500
    candidate_flags = [f for f in flags if f[0] == "candidate"]
    assert len(candidate_flags) == int(0.02 * detector.n_persons_["candidate"])
    assert all(f[1] == f[2].removeprefix("candidate:") for f in candidate_flags)


def test_hold_threshold_raises_severity_to_medium(population):
    con, _, _ = population
    flags = run_detector(AnomalyDetector.from_config(hold_threshold=0.99, entities=("referrer",)), con)
    assert flags and {f[4] for f in flags if f[3] >= 0.99} == {"medium"}
    assert {f[4] for f in flags if f[3] < 0.99} <= {"low"}


def test_a_small_population_is_not_ranked(con):
    platform = Platform()
    platform.job("J1", "C1")
    for i in range(10):
        platform.referred_hire(str(i), f"R{i}", f"K{i}", "J1", started="2026-01-05")
    platform.load(con, as_of=str(AS_OF))
    detector = AnomalyDetector.from_config()
    assert run_detector(detector, con) == []
    assert detector.n_persons_ == {"referrer": 10, "candidate": 10}


def test_unknown_models_and_settings_are_configuration_errors():
    """A configuration error fails a run (and its Airflow task) at once: retrying cannot fix it."""
    from bountyguard.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[anomaly\] models"):
        AnomalyDetector.from_config(models=["lof"])
    with pytest.raises(ConfigError, match="top_share"):
        AnomalyDetector.from_config(top_share=1.5)
    with pytest.raises(ConfigError, match="unknown setting"):
        AnomalyDetector.from_config(shoe_size=44)


def test_scores_are_deterministic_whatever_the_row_order(population):
    con, detector, flags = population
    assert run_detector(AnomalyDetector.from_config(), con) == flags
    # the same facts stored in another physical order: features are sorted by person before fitting
    for table, key in (("stints", "hire_id"), ("referral_facts", "referral_id"), ("person_records", "record_id")):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} ORDER BY md5({key} || 'x')")
    forget_model(con)  # fitted and scored again from the reordered rows, not read from the kept scores
    again = AnomalyDetector.from_config()
    assert run_detector(again, con) == flags
    assert again.refitted_ == {"referrer": True, "candidate": True}
    assert again.scores_ == detector.scores_


def test_hbos_is_compiled_into_numba_s_disk_cache_and_scores_as_pyod_does():
    """HBOS's numba function is swapped for the same function compiled with numba's disk cache (its
    compilation took 5-15 s of every run). The swap must not change a score: compare with PyOD's
    function run as plain Python."""
    import numpy as np
    import pyod.models.hbos as hbos
    from pyod.models.hbos import HBOS

    detector = AnomalyDetector.from_config(models=["hbos"])
    detector._model("hbos")
    swapped = hbos._calculate_outlier_scores
    assert getattr(swapped, "_bountyguard_cached", False)
    assert swapped._cache.__class__.__name__ == "FunctionCache"  # numba's on-disk cache, not NullCache
    detector._model("hbos")
    assert hbos._calculate_outlier_scores is swapped  # swapped once, not wrapped again

    X = np.random.default_rng(7).normal(size=(300, 4))
    X[:5] *= 8  # a few outliers
    model = HBOS(n_bins=10).fit(X)
    plain = swapped.py_func(X, model.bin_edges_, model.hist_, 10, model.alpha, model.tol)
    assert np.allclose(model.decision_scores_, -plain.sum(axis=1))  # PyOD inverts: outliers score high


# -- the kept model: fitted on a schedule, scoring only the persons whose features changed -------------

def test_the_reference_scores_its_own_rows_exactly_as_pyod_does():
    """A person is scored on their own against the reference (PyOD's ECOD/COPOD would fit again on the
    reference plus the scored rows). For the reference's own rows the raw scores must equal PyOD's
    decision_scores_ to the bit, and the ranks scipy's, or a first run would rank differently from
    every release before the model was kept."""
    import numpy as np
    from pyod.models.copod import COPOD
    from pyod.models.ecod import ECOD
    from scipy.stats import rankdata

    rng = np.random.default_rng(11)
    X = np.column_stack([rng.integers(0, 5, 400), rng.exponential(30, 400), rng.normal(size=400),
                         rng.integers(0, 2, 400)]).astype(float)  # ties, skew both ways, a binary column
    X[:4] *= 9
    detector = AnomalyDetector.from_config(models=["ecod", "copod", "hbos", "iforest"])
    reference = Reference(X, detector)
    Z = np.sign(X) * np.log1p(np.abs(X))
    raw, _ = reference._raw(Z)
    for name, model in (("ecod", ECOD()), ("copod", COPOD()), ("hbos", detector._model("hbos")),
                        ("iforest", detector._model("iforest"))):
        assert np.array_equal(raw[name], model.fit(Z).decision_scores_), name
        assert np.array_equal(_rank_in(np.sort(raw[name]), raw[name]), rankdata(raw[name]) / len(X)), name
    # a row the reference does not hold is scored against the same distribution, whoever comes with it
    new = np.array([[2.0, 30.0, 0.1, 1.0], [40.0, 900.0, 5.0, 0.0]])
    alone = [reference.score(new[i:i + 1])[0][0] for i in range(2)]
    assert np.array_equal(reference.score(new)[0], np.array(alone))
    assert alone[1] > 0.95 > alone[0]


@pytest.fixture(scope="module")
def screened_once():
    """A small population screened once: the model is fitted and every person scored."""
    platform = build_population(seed=4, n_honest=60, n_abusers=3)
    con = duckdb.connect()
    platform.load(con, as_of=str(AS_OF))
    detector = AnomalyDetector.from_config(entities=("referrer",))
    flags = run_detector(detector, con)
    assert detector.refitted_ == {"referrer": True} and detector.n_scored_["referrer"] == detector.n_persons_["referrer"]
    yield con, platform, flags
    con.close()


@pytest.fixture()
def kept(screened_once):
    """The population screened once; what a test changes is rolled back after it."""
    con = screened_once[0]
    con.execute("BEGIN TRANSACTION")
    yield screened_once
    con.execute("ROLLBACK")


def _again(con, **overrides):
    detector = AnomalyDetector.from_config(entities=("referrer",), **overrides)
    return detector, run_detector(detector, con)


def test_a_run_on_unchanged_features_scores_nobody_and_flags_the_same(kept):
    con, _, flags = kept
    detector, again = _again(con)
    assert detector.refitted_ == {"referrer": False} and detector.n_scored_ == {"referrer": 0}
    assert again == flags


def test_only_the_persons_whose_features_changed_are_scored_and_the_result_equals_scoring_everyone(kept):
    con, _, _ = kept
    # a day later one honest referrer refers a lot: only that person's features change (windows of a
    # day later move nobody else's in this population; asserted below, not assumed)
    models.enter_run(con, "test", str(AS_OF + dt.timedelta(days=1)))
    run_detector(AnomalyDetector.from_config(entities=("referrer",)), con)  # the day's drift, if any
    rows = [(f"RFX{i}", "RH001", f"KX{i}", "J1-30", f"{AS_OF}T09:00:00Z") for i in range(12)]
    con.executemany("INSERT INTO referral_facts (referral_id, referrer_id, candidate_id, job_id, referred_at, "
                    "referrer_person_id, candidate_person_id) VALUES (?, ?, ?, ?, ?, 'referrer:RH001', "
                    "'candidate:' || ?)", [r + (r[2],) for r in rows])
    detector, incremental = _again(con)
    assert detector.refitted_ == {"referrer": False}
    assert detector.n_scored_ == {"referrer": 1} and list(detector.scores_["referrer"]) == ["referrer:RH001"]
    con.execute("DELETE FROM anomaly_scores")  # the same model, every person scored afresh
    everyone, full = _again(con)
    assert everyone.n_scored_["referrer"] == everyone.n_persons_["referrer"] and not everyone.refitted_["referrer"]
    assert incremental == full
    assert everyone.scores_["referrer"]["referrer:RH001"] == detector.scores_["referrer"]["referrer:RH001"]


def test_values_nobody_measured_take_the_medians_fitted_with_the_model_not_today_s(kept):
    """A referrer with no placement has no lead time to measure. The model fills it with the median
    at its fit; were it today's median of everybody, a change to other persons' rows would change
    (and score again) every such person, and a daily run would score nearly everyone at scale."""
    con, _, _ = kept
    unmeasured = dict(con.execute("SELECT s.person_id, s.score FROM anomaly_scores s JOIN referrer_behaviour f "
                                  "USING (person_id) WHERE f.median_days_referral_to_hire IS NULL").fetchall())
    measured = con.execute("SELECT list(person_id ORDER BY person_id) FROM referrer_behaviour "
                           "WHERE median_days_referral_to_hire IS NOT NULL").fetchone()[0]
    assert unmeasured and len(measured) >= 10
    at_fit = con.execute("SELECT median(median_days_referral_to_hire) FROM referrer_behaviour").fetchone()[0]
    medians = con.execute("SELECT medians FROM anomaly_model WHERE entity = 'referrer'").fetchone()[0]
    assert at_fit in medians
    # two thirds of the measured referrers now wait 400 days from referral to hire: today's median moves
    moved = measured[: 2 * len(measured) // 3]
    con.execute("UPDATE referral_facts SET hired_at = referred_at + INTERVAL 400 DAY "
                "WHERE hire_id IS NOT NULL AND referrer_person_id IN (SELECT unnest(?::VARCHAR[]))", [moved])
    detector, _ = _again(con)
    today = con.execute("SELECT median(median_days_referral_to_hire) FROM referrer_behaviour").fetchone()[0]
    assert today > at_fit + 100
    assert detector.refitted_ == {"referrer": False}
    assert set(detector.scores_["referrer"]) == set(moved)
    assert dict(con.execute("SELECT person_id, score FROM anomaly_scores WHERE person_id IN "
                            "(SELECT unnest(?::VARCHAR[]))", [list(unmeasured)]).fetchall()) == unmeasured


def test_the_model_is_fitted_again_on_schedule_on_growth_and_on_new_settings(kept):
    con, platform, _ = kept
    models.enter_run(con, "test", str(AS_OF + dt.timedelta(days=6)))
    assert _again(con)[0].refitted_ == {"referrer": False}
    models.enter_run(con, "test", str(AS_OF + dt.timedelta(days=7)))  # refit_days = 7
    assert _again(con)[0].refitted_ == {"referrer": True}
    assert _again(con)[0].refitted_ == {"referrer": False}
    assert _again(con, top_share=0.05)[0].refitted_ == {"referrer": True}  # another fingerprint
    assert _again(con, top_share=0.05, refit_days=0)[0].refitted_ == {"referrer": True}  # 0: every run
    # a rerun of an earlier day never uses a model fitted later
    models.enter_run(con, "test", str(AS_OF))
    assert _again(con, top_share=0.05)[0].refitted_ == {"referrer": True}
    # the population grew by more than refit_after_growth
    n = con.execute("SELECT count(*) FROM referrer_behaviour").fetchone()[0]
    con.executemany("INSERT INTO referral_facts (referral_id, referrer_id, candidate_id, job_id, referred_at, "
                    "referrer_person_id, candidate_person_id) VALUES (?, ?, 'KN', 'J1-30', ?, ?, 'candidate:KN')",
                    [(f"RFN{i}", f"RN{i}", f"{AS_OF}T09:00:00Z", f"referrer:RN{i}") for i in range(n // 4)])
    con.executemany("INSERT INTO referrers SELECT * REPLACE (? AS referrer_id) FROM referrers WHERE referrer_id = 'RH001'",
                    [(f"RN{i}",) for i in range(n // 4)])
    assert _again(con, top_share=0.05)[0].refitted_ == {"referrer": True}


def test_while_anomaly_flags_can_hold_payouts_the_model_is_fitted_every_run(kept):
    con, _, _ = kept
    for _ in range(2):
        detector, _ = _again(con, hold_threshold=0.99)
        assert detector.refitted_ == {"referrer": True}


def test_above_reference_size_the_model_is_fitted_on_a_fixed_sample_and_scores_everyone(kept):
    con, _, _ = kept
    detector, flags = _again(con, reference_size=40, top_share=0.1)
    n = detector.n_persons_["referrer"]
    assert detector.refitted_ == {"referrer": True} and detector.n_scored_["referrer"] == n > 40
    assert con.execute("SELECT count(*) FROM anomaly_reference").fetchone()[0] == 40
    sample = con.execute("SELECT list(person_id ORDER BY person_id) FROM anomaly_reference").fetchone()[0]
    # about the top tenth of everyone, by a cut-off taken from the sample
    assert 0.03 * n <= len(flags) <= 0.25 * n
    forget_model(con)
    again, same = _again(con, reference_size=40, top_share=0.1)
    assert same == flags
    assert con.execute("SELECT list(person_id ORDER BY person_id) FROM anomaly_reference").fetchone()[0] == sample


def test_a_run_that_scores_nobody_fits_no_reference_and_puts_the_flags_together_from_the_kept_parts(kept, monkeypatch):
    con, _, flags = kept
    # nobody's features changed: fitting the ensemble again would be a second per run for nothing
    monkeypatch.setattr("detectors.anomaly.Reference.__init__",
                        lambda *a: pytest.fail("the reference was fitted though nobody was scored"))
    detector, again = _again(con)
    assert detector.n_scored_ == {"referrer": 0} and again == flags
    evidence = [json.loads(f[5]) for f in again]
    # the text is what json.dumps(sort_keys=True) writes, so an analyst's tools read it as before
    assert [f[5] for f in again] == [json.dumps(e, sort_keys=True) for e in evidence]
    assert [e["rank"] for e in evidence] == list(range(1, len(again) + 1))
    assert [f[3] for f in again] == sorted((f[3] for f in again), reverse=True)


def test_a_kept_flag_shows_the_day_s_population_and_rank(kept):
    con, platform, flags = kept
    before = {f[2]: json.loads(f[5]) for f in flags}
    # a new referrer joins with one ordinary referral: the population grows by one, nobody else's
    # features change, and the flagged persons' evidence parts are kept, not scored again
    con.execute("INSERT INTO referral_facts (referral_id, referrer_id, candidate_id, job_id, referred_at, "
                "referrer_person_id, candidate_person_id) VALUES ('RFNEW', 'RNEW', 'KNEW', 'J1-30', "
                f"'{AS_OF}T09:00:00Z', 'referrer:RNEW', 'candidate:KNEW')")
    detector, again = _again(con)
    assert detector.n_scored_ == {"referrer": 1} and detector.refitted_ == {"referrer": False}
    n = detector.n_persons_["referrer"]
    assert n == before[next(iter(before))]["population"] + 1
    for flag in again:
        evidence = json.loads(flag[5])
        assert evidence["population"] == n
        if flag[2] in before:  # the same explanation, now ranked among the day's flags
            assert {k: v for k, v in evidence.items() if k not in ("population", "rank")} == \
                   {k: v for k, v in before[flag[2]].items() if k not in ("population", "rank")}


def test_scores_kept_by_an_older_version_without_evidence_parts_are_scored_again(kept):
    con, _, flags = kept
    # a file written before the evidence parts were kept: no explanations, and the model's fingerprint
    # says nothing of them (3fd1816 kept them as four more columns of anomaly_scores: such a file too)
    con.execute("DROP TABLE anomaly_explanations")
    for column in ("flag_score", "score_json", "model_scores_json", "top_features_json"):
        con.execute(f"ALTER TABLE anomaly_scores ADD COLUMN {column} VARCHAR")
    con.execute("UPDATE anomaly_model SET fingerprint = replace(fingerprint, '\"evidence\"', '\"was\"')")
    detector, again = _again(con)
    assert detector.refitted_ == {"referrer": True} and detector.n_scored_["referrer"] == detector.n_persons_["referrer"]
    assert again == flags


def test_an_earlier_version_can_still_store_its_scores_after_a_rollback(kept):
    """Going back to an earlier version must not break its detect step: it inserts the four columns
    of anomaly_scores it always had (its own fingerprint then makes it fit the model again)."""
    con, _, _ = kept
    con.execute("CREATE TEMP TABLE anomaly_scored AS SELECT 'referrer:R0' AS person_id, 42::UBIGINT AS features_hash, "
                "0.5 AS score")
    con.execute("INSERT INTO anomaly_scores SELECT ?, person_id, features_hash, score FROM anomaly_scored", ["referrer"])


def test_a_score_above_the_bar_without_its_evidence_fails_the_run_instead_of_making_up_a_flag(kept):
    con, _, flags = kept
    con.execute("DELETE FROM anomaly_explanations WHERE person_id = ?", [flags[0][2]])
    with pytest.raises(ValueError, match="no kept evidence"):
        _again(con)


def test_max_flags_keeps_the_highest_scores(kept):
    con, _, _ = kept
    _, flags = _again(con, top_share=0.1)
    assert len(flags) > 2
    detector, capped = _again(con, top_share=0.1, max_flags=2)
    assert detector.refitted_ == {"referrer": True}  # another setting: fitted again, on the same persons
    assert capped == flags[:2]


def _rebuilt(con, *persons):
    """What a daily run's feature build leaves for the anomaly score: the table of the referrer
    persons whose behaviour rows it rebuilt (bountyguard/incremental.py PERSONS)."""
    con.execute("CREATE OR REPLACE TEMP TABLE changed_referrer_persons AS SELECT unnest(?::VARCHAR[]) AS person_id",
                [list(persons)])


def _on_kept_features(con, base_run_id):
    detector = AnomalyDetector.from_config(entities=("referrer",))
    return detector, detector.detect(con, base={"base_run_id": base_run_id})


def test_on_the_feature_tables_of_the_scores_run_only_the_rebuilt_persons_are_compared(kept):
    con, _, flags = kept
    run_id = con.execute("SELECT run_id FROM run_context").fetchone()[0]
    assert con.execute("SELECT run_id, scores FROM anomaly_state").fetchall() == \
        [(run_id, con.execute("SELECT count(*) FROM anomaly_scores").fetchone()[0])]
    persons = [r[0] for r in con.execute("SELECT person_id FROM referrer_behaviour ORDER BY person_id LIMIT 2").fetchall()]
    con.execute("UPDATE referrer_behaviour SET median_tenure_days = 9999 WHERE person_id IN (?, ?)", persons)
    # the feature build says it rebuilt the first person's row only: the second person's row changed by
    # a hand that no daily run has, so comparing every person would find it, and the scope must not
    _rebuilt(con, persons[0])
    detector, _ = _on_kept_features(con, run_id)
    assert detector.compared_ == {"referrer": "rebuilt persons"} and detector.stats_["referrer"]["compared"] == \
        "rebuilt persons"
    assert list(detector.scores_["referrer"]) == [persons[0]]
    # the state is now this run's, with every score counted: the next day builds on it
    assert con.execute("SELECT run_id, scores FROM anomaly_state").fetchall() == \
        [(run_id, detector.n_persons_["referrer"])]
    # a person gone from the table (merged into another) is rebuilt too: their score leaves
    con.execute("DELETE FROM referrer_behaviour WHERE person_id = ?", [persons[0]])
    detector, _ = _on_kept_features(con, run_id)
    assert detector.n_scored_ == {"referrer": 0}
    assert con.execute("SELECT count(*) FROM anomaly_scores WHERE person_id = ?", [persons[0]]).fetchone()[0] == 0


def test_scores_that_are_not_the_base_run_s_are_compared_for_every_person(kept):
    con, _, _ = kept
    run_id = con.execute("SELECT run_id FROM run_context").fetchone()[0]
    person = con.execute("SELECT min(person_id) FROM referrer_behaviour").fetchone()[0]
    con.execute("UPDATE referrer_behaviour SET median_tenure_days = 9999 WHERE person_id = ?", [person])
    _rebuilt(con)  # the build rebuilt nobody: only a comparison of every person finds the change
    # the tables were built on another run than the one the scores are of
    detector, _ = _on_kept_features(con, "another run")
    assert detector.compared_ == {"referrer": "every person"} and list(detector.scores_["referrer"]) == [person]
    # a score was removed outside a run (as `forget` does): the count differs from the state's
    con.execute("UPDATE referrer_behaviour SET median_tenure_days = 8888 WHERE person_id = ?", [person])
    con.execute("DELETE FROM anomaly_scores WHERE person_id = (SELECT max(person_id) FROM anomaly_scores)")
    detector, _ = _on_kept_features(con, run_id)
    assert detector.compared_ == {"referrer": "every person"} and detector.n_scored_ == {"referrer": 2}
    # a scoring that stopped halfway left no state
    con.execute("UPDATE referrer_behaviour SET median_tenure_days = 7777 WHERE person_id = ?", [person])
    con.execute("DELETE FROM anomaly_state")
    detector, _ = _on_kept_features(con, run_id)
    assert detector.compared_ == {"referrer": "every person"} and detector.n_scored_ == {"referrer": 1}
    # a refit scores everyone, whatever the state said
    detector = AnomalyDetector.from_config(entities=("referrer",), top_share=0.1)
    detector.detect(con, base={"base_run_id": run_id})
    assert detector.refitted_ == {"referrer": True} and detector.compared_ == {"referrer": "every person"}
    assert detector.n_scored_["referrer"] == detector.n_persons_["referrer"]

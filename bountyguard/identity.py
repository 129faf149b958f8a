"""Identity resolution: which referrer and candidate records belong to one real person.

Abusers vary their identities on purpose (transliterated names, e-mail aliases, reformatted phones), so
records are compared on normalised keys (normalize.py), not on raw values. Three kinds of evidence merge
records into one person:

1. an exact e-mail or profile-URL key (a mailbox or a profile belongs to one person), unless the two
   records contradict each other: other birth dates, or other cities with neither birth date nor phone
   agreeing (a namesake typed "their" address, a family shares a mailbox);
2. an exact phone (national number) or IBAN key together with a close name, or names of which one
   holds the other (a middle name left out), and birth dates that do not contradict each other (a phone
   alone may be a family's, an IBAN alone may be shared by sock puppets: that is the pattern
   shared_payout_account, not one person);
3. a probabilistic (Fellegi-Sunter) match of name, birth date and city, trained with Splink on the data
   itself, scored only within blocks so the number of comparisons stays near-linear. A different phone
   or e-mail counts against a match (an equal one is no evidence for it: a household shares its phone,
   and the exact rules above judge it). Pairs with a probability of at least match_threshold link;
   where a birth date is missing, at least match_threshold_without_birth_date (name and city alone are
   correlated evidence: Meier and Maier both live in Köln). Pairs that share a phone but whose names
   agree on at most one part, or whose birth dates contradict each other, never link: a household
   (twins, a father and his namesake son).

The links are clustered into connected components; a person's id is derived from its smallest record,
so identical inputs give identical ids. Everything runs inside DuckDB: the normalisers are registered as
vectorised DuckDB functions and the tables never travel to Python as a whole.

Personal data never goes to logs: the statistics returned and logged are counts only.

State kept between runs, in the same database as the results (regular tables, so a daily run costs what
the day's new data costs):

- identity_key_cache: the normalised key of every distinct raw value (name, e-mail, phone with its
  region and city, IBAN, city, profile URL), versioned by normalize.KEYS_VERSION. A run normalises only
  values not cached yet; keys are a pure function of value and version, so results are the same as
  with a cold cache. Values no record holds any more are removed on each run.
- identity_model: the trained Splink model (its settings JSON with the estimated parameters), the
  number of records it was trained on and a fingerprint of everything training depends on (model
  specification, training parameters, key version, Splink version). A run reuses it unless no model
  with that fingerprint is stored or the record count moved by more than retrain_after_growth of the
  trained count. **So a run's persons can depend on the stored model**: the model is part of the run's
  state, like the ledger. The same inputs with the same stored model give the same persons; the same
  inputs with an empty identity_model give the same persons as a fresh database.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping

import duckdb
import pyarrow as pa
from duckdb.sqltypes import BOOLEAN, VARCHAR

from bountyguard import normalize
from bountyguard.db import run_sql_file

log = logging.getLogger(__name__)


# Internal working tables: TEMP so they never land in the pipeline's database file.
_WORK_TABLES = ("identity_raw_records", "identity_raw_values", "identity_new_values", "identity_keyed", "identity_exact_links", "identity_splink_input", "identity_fuzzy_links",
                "identity_all_links", "identity_clusters")


@dataclass(frozen=True)
class IdentityConfig:
    """The [identity] section of the configuration."""

    # Splink match probability at or above which a name/birth-date/city pair is the same person...
    match_threshold: float = 0.5
    # ...and where either record has no birth date (name and city alone: correlated evidence).
    match_threshold_without_birth_date: float = 0.9
    # A key (e-mail, profile, phone, IBAN) shared by more records than this is a placeholder and links
    # nothing (test@test.de, 0000000).
    max_key_group_size: int = 50
    # A shared phone or IBAN links two records only if their name keys are at most this many edits apart
    # (and their birth dates do not contradict each other).
    contact_name_max_edits: int = 2
    # Country for phone numbers typed without a country code whose city is not in the city map.
    default_phone_region: str = "DE"
    # Tried in this order when such a number is not a valid number of the city's country or the default
    # region as typed (with that country's trunk prefix): 8 (911) 930-07-56 is Russian, not German.
    fallback_phone_regions: tuple[str, ...] = ("RU", "UA", "PL", "AT", "CH")
    # Train the Splink model on the data (u by random sampling, m by EM). Below the record count the
    # built-in parameters are used: EM needs enough duplicates to learn from.
    train_model: bool = True
    min_records_for_training: int = 1000
    # Seed of the u sampling: identical inputs give an identical model and identical persons.
    seed: int = 42
    # Weigh agreement on a common name or city less than on a rare one (trained models only).
    term_frequency_adjustments: bool = True
    # Pairs sampled for u (chance agreement) and at most used per EM session: fixed costs, whatever the
    # number of records.
    u_max_pairs: float = 5e5
    em_max_pairs: float = 2e6
    # Score the blocked pairs in this many x this many chunks (bounds memory on millions of records).
    predict_chunks: int = 1
    # A block (records agreeing on one blocking rule's keys) larger than this is split by the rule's
    # finer key, and left out if still too large: at most n * max_block_size / 2 pairs per rule, so
    # scoring grows linearly with the records. A block that large means a common key (a frequent name
    # in a big city), whose agreement is weak evidence anyway; the other rules still pair its records.
    max_block_size: int = 20
    # Reuse the trained model stored in the database (identity_model) unless the number of records
    # moved by more than this share of the count it was trained on (0.2: retrain after 20% growth).
    # 0 retrains whenever the count changes.
    retrain_after_growth: float = 0.2

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> "IdentityConfig":
        mapping = dict(mapping or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(mapping) - set(known))
        if unknown:
            raise ValueError(f"[identity]: unknown keys {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for name, value in mapping.items():
            default = getattr(cls, name)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"[identity] {name}: expected true/false, got {value!r}")
            elif isinstance(default, tuple):
                if isinstance(value, str) or not isinstance(value, (list, tuple)):
                    raise ValueError(f"[identity] {name}: expected a list, got {value!r}")
                value = tuple(str(v) for v in value)
            elif isinstance(default, (int, float)) and not isinstance(value, bool):
                value = type(default)(value)
            elif isinstance(default, str):
                value = str(value)
            values[name] = value
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if not 0.0 < self.match_threshold < 1.0:
            raise ValueError("[identity] match_threshold must be between 0 and 1 (exclusive)")
        if not 0.0 < self.match_threshold_without_birth_date < 1.0:
            raise ValueError("[identity] match_threshold_without_birth_date must be between 0 and 1 (exclusive)")
        if self.max_key_group_size < 2:
            raise ValueError("[identity] max_key_group_size must be at least 2")
        if self.contact_name_max_edits < 0:
            raise ValueError("[identity] contact_name_max_edits must not be negative")
        for region in (self.default_phone_region, *self.fallback_phone_regions):
            if len(region) != 2 or not region.isalpha():
                raise ValueError("[identity] default_phone_region and fallback_phone_regions must be "
                                 "ISO 3166-1 alpha-2 codes")
        if self.predict_chunks < 1:
            raise ValueError("[identity] predict_chunks must be at least 1")
        if self.max_block_size < 2:
            raise ValueError("[identity] max_block_size must be at least 2")
        if not self.retrain_after_growth >= 0.0:
            raise ValueError("[identity] retrain_after_growth must not be negative")


# ---------------------------------------------------------------------------------------------------
# The probabilistic model: comparisons of name, birth date and city.
#
# Name keys are sorted tokens; a typo in a first letter can flip the order, so edit distances take the
# better of both token orders. The m/u values written here are the model used when the data is too
# small to train on (fixtures, a first small load); they come from a training run on synthetic persons
# and are overwritten by training on real data.

def _within_edits_sql(a: str, b: str, edits: int) -> str:
    """damerau_levenshtein(a, b) <= edits, computed only where the 6x cheaper levenshtein allows it
    (a transposition is two Levenshtein edits). A CASE, because DuckDB evaluates both sides of an AND."""
    return (f"(CASE WHEN levenshtein({a}, {b}) <= {2 * edits} "
            f"THEN damerau_levenshtein({a}, {b}) <= {edits} ELSE false END)")


def _name_within_edits_sql(edits: int) -> str:
    return (f"{_within_edits_sql('name_key_l', 'name_key_r', edits)} "
            f"OR {_within_edits_sql('name_key_l', 'name_key_reversed_r', edits)}")


_NAME_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "name_key_l IS NULL OR name_key_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "name_key_l = name_key_r", "label_for_charts": "exact",
     "tf_adjustment_column": "name_key", "tf_adjustment_weight": 1.0,
     "m_probability": 0.63, "u_probability": 0.0003},
    # Jan / Jana, Aleksandr / Aleksandra, Ivanov / Ivanova: a name and its feminine form are one edit
    # apart, and two people (brother and sister, husband and wife), not a typo.
    {"sql_condition": "CASE WHEN len(name_tokens_l) = len(name_tokens_r) "
                      "AND abs(len(name_key_l) - len(name_key_r)) BETWEEN 1 AND len(name_tokens_l) "
                      "THEN list_transform(name_tokens_l, lambda t: rtrim(t, 'a')) "
                      "= list_transform(name_tokens_r, lambda t: rtrim(t, 'a')) ELSE false END",
     "label_for_charts": "other gender form", "m_probability": 0.002, "u_probability": 0.0002},
    {"sql_condition": _name_within_edits_sql(1),
     "label_for_charts": "one edit", "m_probability": 0.25, "u_probability": 0.0002,
     "tf_adjustment_column": "name_key", "tf_adjustment_weight": 1.0},
    # (but two edits in one short part make another name, Jack / Sas, Tara / Taiah: the names must stay
    # similar, or the parts they do not share be long, Anastasia / Astasia)
    {"sql_condition": f"({_name_within_edits_sql(2)}) AND (greatest("
                      "jaro_winkler_similarity(name_key_l, name_key_r), "
                      "jaro_winkler_similarity(name_key_l, name_key_reversed_r)) >= 0.9 "
                      "OR list_bool_and(list_transform(list_concat("
                      "list_filter(name_tokens_l, lambda t: NOT list_contains(name_tokens_r, t)), "
                      "list_filter(name_tokens_r, lambda t: NOT list_contains(name_tokens_l, t))), "
                      "lambda t: len(t) >= 6)))",
     "label_for_charts": "two edits", "m_probability": 0.05, "u_probability": 0.0003},
    # Lukas Peter Baumann / Lukas Baumann: one name is the other plus a middle name (before "similar":
    # a middle name makes the strings less similar than a typo does).
    # (a name part typed twice, Thomas Thomas, is no subset of every name holding it)
    {"sql_condition": "(list_has_all(name_tokens_l, name_tokens_r) "
                      "AND len(list_distinct(name_tokens_r)) = len(name_tokens_r)) "
                      "OR (list_has_all(name_tokens_r, name_tokens_l) "
                      "AND len(list_distinct(name_tokens_l)) = len(name_tokens_l))",
     "label_for_charts": "subset", "m_probability": 0.02, "u_probability": 0.0005},
    # Luke Till Er / Luke Tiller, Mc Donald / McDonald: a name part typed with a space in it (two parts
    # of one name joined give the other name, up to one edit).
    {"sql_condition": "CASE WHEN abs(len(name_tokens_l) - len(name_tokens_r)) = 1 "
                      "AND abs(len(replace(name_key_l, ' ', '')) - len(replace(name_key_r, ' ', ''))) <= 1 "
                      "THEN CASE WHEN len(name_tokens_l) > len(name_tokens_r) "
                      "THEN bg_joined_within(name_tokens_l, name_key_r) "
                      "ELSE bg_joined_within(name_tokens_r, name_key_l) END ELSE false END",
     "label_for_charts": "a part split in two", "m_probability": 0.01, "u_probability": 0.0001},
    # Jan Peter Hahn / Jan Han: a middle name left out and a typo in what is left. Only names with
    # one shared token and more than two tokens on a side can get here: two two-token names that nest
    # are at most two edits apart in one of the orders, a level above.
    {"sql_condition": "CASE WHEN len(list_intersect(name_tokens_l, name_tokens_r)) > 0 "
                      "AND (len(name_tokens_l) <> len(name_tokens_r) OR len(name_tokens_l) > 2) "
                      "THEN bg_tokens_nest(name_tokens_l, name_tokens_r) ELSE false END",
     "label_for_charts": "nested with typos", "m_probability": 0.01, "u_probability": 0.0002},
    # (similar as a whole, and part by part: Sebastian Gruber / Anna Gruber are 0.9 similar, and two
    # people)
    {"sql_condition": "greatest(jaro_winkler_similarity(name_key_l, name_key_r), "
                      "jaro_winkler_similarity(name_key_l, name_key_reversed_r)) >= 0.9 "
                      "AND NOT bg_parts_differ(name_tokens_l, name_tokens_r)",
     "label_for_charts": "similar", "m_probability": 0.03, "u_probability": 0.002},
    # One name part in common and nothing else: the weight depends on how rare the part is (a shared
    # rare surname says more than a shared Thomas), hence a level for the records' rarest parts with
    # a term-frequency adjustment.
    {"sql_condition": "name_rarest_l = name_rarest_r",
     "label_for_charts": "shares its rarest name", "tf_adjustment_column": "name_rarest",
     "tf_adjustment_weight": 1.0, "m_probability": 0.01, "u_probability": 0.005},
    {"sql_condition": "len(list_intersect(name_tokens_l, name_tokens_r)) > 0",
     "label_for_charts": "shares a name", "m_probability": 0.01, "u_probability": 0.02},
    # (one edit leaves the first or the last letter of a part of three or more letters in place: the
    # cheap test first, on every pair that gets this far)
    {"sql_condition": "list_bool_or(list_transform(name_tokens_l, lambda t: list_bool_or(list_transform("
                      "name_tokens_r, lambda u: CASE WHEN len(t) >= 3 AND abs(len(t) - len(u)) <= 1 "
                      "AND (t[1] = u[1] OR t[-1] = u[-1]) THEN damerau_levenshtein(t, u) <= 1 "
                      "ELSE false END))))",
     "label_for_charts": "shares a name with a typo", "m_probability": 0.005, "u_probability": 0.005},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.01,
     "u_probability": 0.977},
]

# The m value of "different" is fixed, not trained: EM on pairs blocked by name finds the split between
# matches and non-matches by birth date and city, and where namesakes in one city outnumber the true
# pairs (a common name in a big city) it takes "same city" for "match" and learns that most matches
# have other birth dates. A person's two records differ in the birth date beyond a typo in about 6% of
# pairs (FEBRL, which corrupts it on purpose, trains 0.062), and that stays fixed whatever the data.
_BIRTH_DATE_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "birth_date_l IS NULL OR birth_date_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "birth_date_l = birth_date_r", "label_for_charts": "exact",
     "m_probability": 0.80, "u_probability": 0.0003},
    {"sql_condition": "(year(birth_date_l) = year(birth_date_r) "
                      "AND month(birth_date_l) = day(birth_date_r) "
                      "AND day(birth_date_l) = month(birth_date_r)) "
                      "OR damerau_levenshtein(strftime(birth_date_l, '%Y%m%d'), "
                      "strftime(birth_date_r, '%Y%m%d')) <= 1",
     "label_for_charts": "typo", "m_probability": 0.14, "u_probability": 0.0018},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.06,
     "u_probability": 0.9979, "fix_m_probability": True},
]

# The built-in model is milder about a different city than a model trained on synthetic data would be:
# people move, and the city is typed by hand.
_CITY_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "city_key_l IS NULL OR city_key_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "city_key_l = city_key_r", "label_for_charts": "exact",
     "tf_adjustment_column": "city_key", "tf_adjustment_weight": 1.0,
     "m_probability": 0.75, "u_probability": 0.02},
    {"sql_condition": "damerau_levenshtein(city_key_l, city_key_r) <= 2 "
                      "OR jaro_winkler_similarity(city_key_l, city_key_r) >= 0.9",
     "label_for_charts": "typo", "m_probability": 0.08, "u_probability": 0.003},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.17,
     "u_probability": 0.977},
]

# A phone is evidence in one direction only. Two records of one person rarely carry two different
# numbers, so a different number speaks against a match; but one number on both records is no evidence
# for it (a household shares its phone: twins, a father and his namesake son), so "equal" is neutral
# like "missing". (Equal phones with close names are linked by the exact rule phone_and_name.)
_PHONE_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "phone_national_l IS NULL OR phone_national_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "phone_national_l = phone_national_r", "label_for_charts": "equal (no evidence)",
     "m_probability": 0.5, "u_probability": 0.5, "fix_m_probability": True, "fix_u_probability": True},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.1,
     "u_probability": 0.999},
]

# Likewise an e-mail: equal ones link on their own (exact rule), different ones are weak evidence
# against a match (people keep several mailboxes; training learns how weak).
_EMAIL_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "email_key_l IS NULL OR email_key_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "email_key_l = email_key_r", "label_for_charts": "equal (no evidence)",
     "m_probability": 0.5, "u_probability": 0.5, "fix_m_probability": True, "fix_u_probability": True},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.5,
     "u_probability": 0.999},
]

_COMPARISONS = (("name", _NAME_LEVELS), ("birth_date", _BIRTH_DATE_LEVELS), ("city", _CITY_LEVELS),
                ("phone", _PHONE_LEVELS), ("email", _EMAIL_LEVELS))

# Blocking: only pairs that agree exactly on one of these combinations are ever compared. Together they
# tolerate a typo in any one or two of name, birth date and city, a missing birth date, and a first-letter
# typo that flips the sorted token order (the cross rule: one record's first token is the other's last).
#
# Keys with a bounded number of values (a common name, a birth year, a big city) make blocks that grow
# with the population, and the pairs with its square. So each rule's block is capped: a block of more
# than max_block_size records is split by the rule's finer key (`refine`), and left out if it is still
# too large. The cap is applied by computing one block-key column per rule in SQL (NULL for left-out
# records), and Splink blocks on equality of that column. Rules on rarer keys (a birth date with a name
# token) come first: a pair is scored once, under the first rule that blocks it.


@dataclass(frozen=True)
class _BlockingRule:
    name: str
    keys: tuple[str, ...]  # SQL expressions over identity_keyed, equal on both records
    refine: tuple[str, ...] = ()  # added to the keys for blocks larger than max_block_size
    # (left, right): a name token compared across positions, in both directions (two Splink rules)
    cross: tuple[str, str] | None = None


_BLOCKING: tuple[_BlockingRule, ...] = (
    _BlockingRule("name_year", ("name_key", "birth_year"), ("city_key",)),
    _BlockingRule("name_month_day", ("name_key", "birth_month_day"), ("city_key",)),
    _BlockingRule("date_first", ("birth_date", "name_first"), ("city_key",)),
    _BlockingRule("date_last", ("birth_date", "name_last"), ("city_key",)),
    _BlockingRule("date_cross", ("birth_date",), cross=("name_first", "name_last")),
    _BlockingRule("date_city", ("birth_date", "city_key")),
    # a missing birth date: name and city are all there is
    _BlockingRule("name_city", ("name_key", "city_key")),
    _BlockingRule("first_year_city", ("name_first", "birth_year", "city_key"), ("left(name_last, 1)",)),
    _BlockingRule("last_year_city", ("name_last", "birth_year", "city_key"), ("left(name_first, 1)",)),
    _BlockingRule("first_month_day_city", ("name_first", "birth_month_day", "city_key")),
    _BlockingRule("last_month_day_city", ("name_last", "birth_month_day", "city_key")),
    # Broader keys for what the rules above miss: a birth date and a typo in each name part, one name
    # part replaced (a surname after a marriage) or typos in both with no birth date to go on. Where
    # their blocks are small (rare names, small towns) they pair records the rules above cannot; where
    # they are large the cap splits them by the finer key or leaves them out.
    _BlockingRule("first_prefix_city", ("left(name_first, 2)", "city_key"), ("name_first",)),
    _BlockingRule("last_prefix_city", ("left(name_last, 2)", "city_key"), ("name_last",)),
    _BlockingRule("date", ("birth_date",), ("left(name_first, 1)",)),
    _BlockingRule("first_last_prefix", ("name_first", "left(name_last, 2)"), ("city_key",)),
    _BlockingRule("last_first_prefix", ("name_last", "left(name_first, 2)"), ("city_key",)),
)


def _block_columns(rule: _BlockingRule) -> tuple[str, str]:
    if rule.cross:  # (no _l/_r suffix: Splink reads those as its own pair columns)
        return tuple(f"block_{rule.name}_{side}" for side in rule.cross)
    return f"block_{rule.name}", f"block_{rule.name}"


def _splink_blocking_rules() -> list[str]:
    rules = []
    for rule in _BLOCKING:
        left, right = _block_columns(rule)
        rules.append(f"l.{left} = r.{right}")
        if rule.cross:
            rules.append(f"l.{right} = r.{left}")
    return rules


def _block_key_sql(rule: _BlockingRule, index: int, max_block_size: int) -> list[str]:
    """SELECT expressions of the rule's block-key column(s): the hash of the keys for a block of at
    most max_block_size records, else of the keys and the finer key if that block is small enough, else
    NULL. A cross rule's expressions read its block sizes from the joined tables x_<rule>_<side>."""
    cap = int(max_block_size)
    if rule.cross:
        keys = ", ".join(f"k.{key}" for key in rule.keys)
        not_null = " AND ".join(f"k.{key} IS NOT NULL" for key in rule.keys)
        return [
            f"CASE WHEN {not_null} AND k.{side} IS NOT NULL AND x_{rule.name}_{side}.n <= {cap} "
            f"THEN hash({index}, {keys}, k.{side}) END AS {column}"
            for side, column in zip(rule.cross, _block_columns(rule))
        ]
    keys = ", ".join(rule.keys)
    not_null = " AND ".join(f"({key}) IS NOT NULL" for key in rule.keys)
    sql = (f"CASE WHEN NOT ({not_null}) THEN NULL "
           f"WHEN count(*) OVER (PARTITION BY {keys}) <= {cap} THEN hash({index}, {keys}) ")
    if rule.refine:
        fine = ", ".join(rule.refine)
        fine_not_null = " AND ".join(f"({key}) IS NOT NULL" for key in rule.refine)
        sql += (f"WHEN {fine_not_null} AND count(*) OVER (PARTITION BY {keys}, {fine}) <= {cap} "
                f"THEN hash({index}, 'refined', {keys}, {fine}) ")
    return [sql + f"END AS {_block_columns(rule)[0]}"]


def _build_splink_input(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> None:
    """identity_splink_input: the compared attributes and one capped block key per rule."""
    symmetric, cross_sizes, cross_joins, cross = [], [], [], []
    for index, rule in enumerate(_BLOCKING):
        if not rule.cross:
            symmetric += _block_key_sql(rule, index, config.max_block_size)
            continue
        cross += _block_key_sql(rule, index, config.max_block_size)
        keys = ", ".join(rule.keys)
        a, b = rule.cross
        # a key value's block holds the records with it on either side
        cross_sizes.append(f"""x_{rule.name} AS (
            SELECT {keys}, token, count(*) AS n FROM (
                SELECT {keys}, {a} AS token FROM named UNION ALL SELECT {keys}, {b} FROM named)
            GROUP BY ALL)""")
        for side in (a, b):
            alias = f"x_{rule.name}_{side}"
            on = " AND ".join(f"{alias}.{key} = k.{key}" for key in rule.keys)
            cross_joins.append(f"LEFT JOIN x_{rule.name} {alias} ON {on} AND {alias}.token = k.{side}")
    _run(con, f"""
        CREATE OR REPLACE TEMP TABLE identity_splink_input AS
        WITH keyed AS (
            SELECT unique_id, name_key, name_key_reversed, name_tokens, name_first, name_last,
                   birth_date, birth_year, birth_month_day, city_key, phone_national, email_key
            FROM identity_keyed
            WHERE name_key IS NOT NULL
        ),
        record_tokens AS (SELECT DISTINCT unique_id, unnest(name_tokens) AS token FROM keyed),
        token_counts AS (SELECT token, count(*) AS n FROM record_tokens GROUP BY token),
        -- the record's least frequent name part (ties: the first in sort order), mostly the surname
        rarest AS (
            SELECT unique_id, first(token ORDER BY n, token) AS name_rarest
            FROM record_tokens JOIN token_counts USING (token)
            GROUP BY unique_id
        ),
        named AS (SELECT keyed.*, rarest.name_rarest FROM keyed JOIN rarest USING (unique_id)),
        blocked AS (SELECT *, {', '.join(symmetric)} FROM named)
        {''.join(', ' + c for c in cross_sizes)}
        SELECT k.*{''.join(', ' + c for c in cross)}
        FROM blocked k {' '.join(cross_joins)}
    """)


def _blocked_pair_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Pairs per blocking rule after the cap, before removing pairs an earlier rule already blocked."""
    counts = {}
    for rule in _BLOCKING:
        left, right = _block_columns(rule)
        if rule.cross:
            sql = f"""SELECT sum(a.n * b.n) FROM
                (SELECT {left} AS key, count(*) AS n FROM identity_splink_input GROUP BY ALL) a
                JOIN (SELECT {right} AS key, count(*) AS n FROM identity_splink_input GROUP BY ALL) b
                USING (key)"""
        else:
            sql = f"""SELECT sum(n * (n - 1) // 2) FROM
                (SELECT count(*) AS n FROM identity_splink_input WHERE {left} IS NOT NULL GROUP BY {left})"""
        counts[rule.name] = int(con.execute(sql).fetchall()[0][0] or 0)
    return counts


# Training: EM on pairs blocked by one attribute learns the m values of the other attributes.
_TRAINING_BLOCKS = (
    "l.birth_date = r.birth_date AND l.city_key = r.city_key",
    "l.name_key = r.name_key",
)
# Pairs that are almost surely the same person, for the prior probability of a match.
_DETERMINISTIC_RULES = ("l.name_key = r.name_key AND l.birth_date = r.birth_date",)
_DETERMINISTIC_RECALL = 0.6


def _settings(config: IdentityConfig, trained: bool):
    from splink import SettingsCreator

    def level(spec: dict[str, Any]) -> dict[str, Any]:
        spec = dict(spec)
        # Term frequencies (a common name agrees more often by chance) only mean something on a
        # large population; in a small load every name is "rare" or "frequent" by accident.
        if not (trained and config.term_frequency_adjustments):
            spec.pop("tf_adjustment_column", None)
            spec.pop("tf_adjustment_weight", None)
        return spec

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            {"output_column_name": name, "comparison_levels": [level(spec) for spec in levels]}
            for name, levels in _COMPARISONS
        ],
        blocking_rules_to_generate_predictions=_splink_blocking_rules(),
        probability_two_random_records_match=1e-4,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        max_iterations=25,
    )


# ---------------------------------------------------------------------------------------------------
# Normalisers as DuckDB functions


def _vectorised(function: Callable[..., Any], arity: int, result: pa.DataType = pa.string()
                ) -> Callable[..., pa.Array]:
    """Wrap a scalar normaliser as an Arrow UDF: DuckDB hands over vectors of ~2k values at a time.

    DuckDB checks the Python signature against the declared parameters, hence one wrapper per arity.
    """

    def apply(*arrays: pa.Array) -> pa.Array:
        columns = [array.to_pylist() for array in arrays]
        return pa.array([function(*values) for values in zip(*columns)], type=result)

    if arity == 1:
        return lambda values: apply(values)
    if arity == 2:
        return lambda values, others: apply(values, others)
    raise ValueError(f"no wrapper for {arity} arguments")


def _phone_regions(config: IdentityConfig) -> str:
    """The default phone region and its fallbacks, as normalize's phone keys take them ("DE,RU,UA")."""
    regions = (config.default_phone_region, *config.fallback_phone_regions)
    return ",".join(dict.fromkeys(r.upper() for r in regions))


def _register_normalisers(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> None:
    region = _phone_regions(config)
    udfs: dict[str, tuple[Callable[..., Any], int, Any]] = {
        "bg_name_key": (normalize.name_key, 1, VARCHAR),
        "bg_email_key": (normalize.email_key, 1, VARCHAR),
        "bg_phone_key": (lambda phone, city: normalize.phone_key(phone, city, region), 2, VARCHAR),
        "bg_phone_national_key": (lambda phone, city: normalize.phone_national_key(phone, city, region), 2,
                                  VARCHAR),
        "bg_iban_key": (normalize.iban_key, 1, VARCHAR),
        "bg_city_key": (normalize.city_key, 1, VARCHAR),
        "bg_profile_key": (normalize.profile_key, 1, VARCHAR),
    }
    for name, (function, arity, result) in udfs.items():
        try:
            con.remove_function(name)
        except Exception:  # not registered yet on this connection
            pass
        arrow_type = pa.bool_() if result == BOOLEAN else pa.string()
        con.create_function(name, _vectorised(function, arity, arrow_type), [VARCHAR] * arity, result,
                            type="arrow", null_handling="special", side_effects=False)
    for statement in _MACROS:
        _run(con, statement)


# Comparisons of two records run on every blocked pair, so they are SQL (vectorised, on all cores), not
# Python. bg_tokens_nest(a, b) is normalize.names_nest on token lists: the shorter list (of at least two
# tokens) lies within the longer one, each of its tokens within one edit of a token of the other, and
# distinct tokens of the other taken (the union of the matched positions is as large as the shorter
# list: exact for two tokens, the common case).
_MACROS = (
    """CREATE OR REPLACE TEMP MACRO bg_tokens_within(short_tokens, long_tokens) AS
        len(short_tokens) >= 2
        AND list_bool_and(list_transform(short_tokens, lambda t:
                list_bool_or(list_transform(long_tokens, lambda u: damerau_levenshtein(t, u) <= 1))))
        AND len(list_distinct(flatten(list_transform(short_tokens, lambda t:
                list_filter(list_transform(long_tokens, lambda u, j:
                    CASE WHEN damerau_levenshtein(t, u) <= 1 THEN j END), lambda j: j IS NOT NULL)))))
            >= len(short_tokens)""",
    # bg_joined_within(long, short_key): two parts of the longer name joined (in either order) give the
    # shorter name key, up to one edit
    """CREATE OR REPLACE TEMP MACRO bg_joined_within(long_tokens, short_key) AS
        list_bool_or(list_transform(range(1, len(long_tokens) + 1), lambda i:
            list_bool_or(list_transform(range(1, len(long_tokens) + 1), lambda j:
                CASE WHEN i <> j THEN damerau_levenshtein(
                    array_to_string(list_sort(list_append(
                        list_filter(long_tokens, lambda t, k: k <> i AND k <> j),
                        long_tokens[i] || long_tokens[j])), ' '),
                    short_key) <= 1 ELSE false END))))""",
    # bg_parts_differ(a, b): the name with fewer parts has one without a counterpart in the other (none
    # with a Jaro-Winkler similarity of 0.8 or more: Maria / Laura 0.73, Mihailo / Miheal 0.89)
    """CREATE OR REPLACE TEMP MACRO bg_parts_differ(a, b) AS
        coalesce(list_bool_or(list_transform(CASE WHEN len(a) <= len(b) THEN a ELSE b END, lambda t:
            list_max(list_transform(CASE WHEN len(a) <= len(b) THEN b ELSE a END,
                                    lambda u: jaro_winkler_similarity(t, u))) < 0.8)), true)""",
    """CREATE OR REPLACE TEMP MACRO bg_tokens_nest(a, b) AS
        coalesce(CASE WHEN len(a) <= len(b) THEN bg_tokens_within(a, b) ELSE bg_tokens_within(b, a) END,
                 false)""",
)


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> None:
    """Execute a statement to its end: in DuckDB 2.0 an unread result blocks the connection."""
    con.execute(sql, params).complete()


def _table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


@contextmanager
def _resolution_session(con: duckdb.DuckDBPyConnection):
    """Leave the caller's connection as it was found, whatever happens in between.

    Splink logs progress at INFO and DuckDB draws progress bars on long queries: neither belongs in the
    pipeline's output. Splink's intermediate tables (__splink__*, a registered view result_df) and our
    own working tables are removed afterwards, so only person_records and person_links remain.
    """
    splink_logger = logging.getLogger("splink")
    previous_level = splink_logger.level
    splink_logger.setLevel(logging.WARNING)
    progress_bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
    _run(con, "SET enable_progress_bar = false")
    tables_before = _table_names(con)
    try:
        yield
    finally:
        splink_logger.setLevel(previous_level)
        _run(con, f"SET enable_progress_bar = {'true' if progress_bar else 'false'}")
        rows = con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall()
        for table_name, table_type in rows:
            if table_name in tables_before:
                continue
            if table_name.startswith("__splink__") or table_name in _WORK_TABLES:
                kind = "VIEW" if table_type == "VIEW" else "TABLE"
                _run(con, f'DROP {kind} IF EXISTS "{table_name}"')
            elif table_name == "result_df":  # a data frame Splink registers on the connection
                con.unregister(table_name)


def _level_label_sql(name: str, levels: list[dict[str, Any]]) -> str:
    """CASE over Splink's gamma value (else = 0, counting up to exact) giving the level's label."""
    scored = [level for level in levels if not level.get("is_null_level")]
    whens = " ".join(
        f"WHEN {len(scored) - 1 - i} THEN '{level['label_for_charts']}'" for i, level in enumerate(scored)
    )
    return f"CASE gamma_{name} {whens} ELSE 'missing' END"


def _fuzzy_links(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> dict[str, Any]:
    """Score blocked pairs with Splink and keep those at or above the threshold as links."""
    from splink import DuckDBAPI, Linker

    stats: dict[str, Any] = {}
    _build_splink_input(con, config)
    n_records = con.execute("SELECT count(*) FROM identity_splink_input").fetchall()[0][0]
    stats["fuzzy_records"] = n_records
    stats["blocked_pairs"] = _blocked_pair_counts(con)
    if n_records < 2:
        _run(con, """CREATE OR REPLACE TEMP TABLE identity_fuzzy_links (
            unique_id_l VARCHAR, unique_id_r VARCHAR, rule VARCHAR, match_probability DOUBLE,
            evidence VARCHAR)""")
        stats["model"] = "none"
        return stats

    db = DuckDBAPI(con)
    table = db.register("identity_splink_input", table_name="identity_splink_input")
    large_enough = n_records >= config.min_records_for_training
    trained = config.train_model and large_enough
    stored = _stored_model(con, config, n_records) if trained else None
    if stored is not None:
        linker = Linker(table, stored, log_level=None)
        stats["training_seconds"] = 0.0
        stats["model"] = "reused"
        return _predict(con, config, linker, stats)
    linker = Linker(table, _settings(config, trained), log_level=None)
    started = time.perf_counter()
    if large_enough:
        # The prior (how likely two random records are one person) falls with the population size, so
        # it is always measured, even for the built-in model: pairs that agree exactly on name and
        # birth date, divided by all pairs. Cheap: one blocked count.
        try:
            linker.training.estimate_probability_two_random_records_match(
                list(_DETERMINISTIC_RULES), recall=_DETERMINISTIC_RECALL)
        except ValueError:
            pass  # more exact matches than the assumed recall allows: keep the built-in prior
    if trained:
        linker.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed)
        for rule in _TRAINING_BLOCKS:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=config.em_max_pairs)
    stats["training_seconds"] = round(time.perf_counter() - started, 2)
    stats["model"] = "trained" if trained else "built_in"
    if trained:
        _store_model(con, config, linker, n_records)
    return _predict(con, config, linker, stats)


# The trained model persists in identity_model (one row) so that runs on slowly growing data skip training.
_MODEL_TABLE_DDL = """CREATE TABLE IF NOT EXISTS identity_model (
    fingerprint VARCHAR NOT NULL, trained_records BIGINT NOT NULL, settings_json VARCHAR NOT NULL)"""


def _model_fingerprint(config: IdentityConfig) -> str:
    """Everything a trained model depends on besides the data: a stored model with another fingerprint
    was trained under other rules and is never reused."""
    import splink

    spec = {
        "settings": _settings(config, trained=True).create_settings_dict("duckdb"),
        "training_blocks": _TRAINING_BLOCKS,
        "deterministic_rules": _DETERMINISTIC_RULES,
        "deterministic_recall": _DETERMINISTIC_RECALL,
        "seed": config.seed,
        "u_max_pairs": config.u_max_pairs,
        "em_max_pairs": config.em_max_pairs,
        "keys_version": normalize.KEYS_VERSION,
        "splink": splink.__version__,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def _stored_model(con: duckdb.DuckDBPyConnection, config: IdentityConfig, n_records: int
                  ) -> dict[str, Any] | None:
    """The stored trained settings, if trained under the same rules on a record count within
    retrain_after_growth of n_records; else None (train)."""
    _run(con, _MODEL_TABLE_DDL)
    rows = con.execute("SELECT trained_records, settings_json FROM identity_model WHERE fingerprint = ?",
                       [_model_fingerprint(config)]).fetchall()
    if len(rows) != 1:
        return None
    trained_records, settings_json = rows[0]
    if trained_records <= 0 or abs(n_records - trained_records) > config.retrain_after_growth * trained_records:
        return None
    return json.loads(settings_json)


def _store_model(con: duckdb.DuckDBPyConnection, config: IdentityConfig, linker: Any, n_records: int) -> None:
    settings = linker.misc.save_model_to_json()
    settings.pop("linker_uid", None)  # names Splink's cache tables; a reusing run gets its own
    _run(con, _MODEL_TABLE_DDL)
    # (no transaction of our own: the caller may hold one. Interrupted in between, no model is stored
    # and the next run trains.)
    _run(con, "DELETE FROM identity_model")
    con.execute("INSERT INTO identity_model VALUES (?, ?, ?)",
                [_model_fingerprint(config), n_records, json.dumps(settings, sort_keys=True)]).complete()


def _gamma(levels: list[dict[str, Any]], label: str) -> int:
    """Splink's gamma value of a level: the non-null levels count down to 0 for the last (ELSE)."""
    scored = [level["label_for_charts"] for level in levels if not level.get("is_null_level")]
    return len(scored) - 1 - scored.index(label)


# One phone on both records whose names hold a part the other does not (a given name of their own:
# Maria / Laura Zellweger, however similar the whole names are), or are a name and its other gender's
# form, or whose birth dates contradict each other, is a household, not one person: twins (a surname, a
# birth date, a city and the phone shared), brother and sister, a father and his namesake son. The exact
# rule phone_and_name has judged such a pair already and found the names or birth dates apart; the
# fuzzy model must not overrule it. (Michael / Mihailo Hofer are one name in two languages, similar
# part by part: the model decides.)
_HOUSEHOLD_SQL = (
    "(coalesce(phone_national_l = phone_national_r, false) "
    f"AND (gamma_name = {_gamma(_NAME_LEVELS, 'other gender form')} "
    "OR bg_parts_differ(name_tokens_l, name_tokens_r) "
    f"OR gamma_birth_date = {_gamma(_BIRTH_DATE_LEVELS, 'different')}))")


def _predict(con: duckdb.DuckDBPyConnection, config: IdentityConfig, linker: Any,
             stats: dict[str, Any]) -> dict[str, Any]:
    chunks = config.predict_chunks
    predictions = linker.inference.predict(
        threshold_match_probability=min(config.match_threshold, config.match_threshold_without_birth_date),
        num_chunks_left=chunks if chunks > 1 else None,
        num_chunks_right=chunks if chunks > 1 else None,
        warning_mode="never",
    )
    labels = {name: _level_label_sql(name, levels) for name, levels in _COMPARISONS}
    # Evidence holds level labels and similarity scores, never the names or dates themselves.
    _run(con, f"""
        CREATE OR REPLACE TEMP TABLE identity_fuzzy_links AS
        SELECT least(unique_id_l, unique_id_r) AS unique_id_l,
               greatest(unique_id_l, unique_id_r) AS unique_id_r,
               'name_birth_date_city' AS rule,
               match_probability::DOUBLE AS match_probability,
               json_object(
                   'name', {labels['name']},
                   'name_similarity', round(greatest(
                        jaro_winkler_similarity(name_key_l, name_key_r),
                        jaro_winkler_similarity(name_key_l, name_key_reversed_r)), 3),
                   'birth_date', {labels['birth_date']},
                   'city', {labels['city']},
                   'phone', {labels['phone']},
                   'email', {labels['email']},
                   'match_weight', round(match_weight, 2)
               )::VARCHAR AS evidence
        FROM {predictions.physical_name}
        WHERE match_probability >= CASE WHEN birth_date_l IS NULL OR birth_date_r IS NULL
                                        THEN {float(config.match_threshold_without_birth_date)!r}
                                        ELSE {float(config.match_threshold)!r} END
          AND NOT {_HOUSEHOLD_SQL}
    """)
    return stats


def _cluster(con: duckdb.DuckDBPyConnection) -> None:
    """Connected components over all links (Splink's SQL implementation, deterministic)."""
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    n_links = con.execute("SELECT count(*) FROM identity_all_links").fetchall()[0][0]
    if n_links == 0:
        _run(con, "CREATE OR REPLACE TEMP TABLE identity_clusters "
                    "AS SELECT unique_id, unique_id AS cluster_id FROM identity_keyed")
        return
    db = DuckDBAPI(con)
    nodes = db.register("identity_keyed", table_name="identity_nodes")
    edges = db.register("identity_all_links", table_name="identity_edges")
    clusters = cluster_pairwise_predictions_at_threshold(
        nodes, edges, db_api=db, node_id_column_name="unique_id",
        edge_id_column_name_left="unique_id_l", edge_id_column_name_right="unique_id_r",
    )
    _run(con, f"CREATE OR REPLACE TEMP TABLE identity_clusters AS "
                f"SELECT unique_id, cluster_id FROM {clusters.physical_name}")


def _build_keyed(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> None:
    """identity_keyed: every record with its normalised keys, normalising only values not cached yet
    (the normalisers must be registered)."""
    run_sql_file(con, "identity/records.sql", {
        "keys_version": normalize.KEYS_VERSION,
        "phone_region": _phone_regions(config),
    })


def resolve_persons(con: duckdb.DuckDBPyConnection, config: IdentityConfig | None = None) -> dict:
    """(Re)build person_records and person_links from the tables referrers and candidates.

    Returns counts only: records, persons, merged persons, links by rule, the model used and timings.
    """
    config = config or IdentityConfig()
    config.validate()
    started = time.perf_counter()
    stats: dict[str, Any] = {}
    _register_normalisers(con, config)
    with _resolution_session(con):
        _build_keyed(con, config)
        stats["normalised_values"] = con.execute("SELECT count(*) FROM identity_new_values").fetchall()[0][0]
        stats["normalise_seconds"] = round(time.perf_counter() - started, 2)
        run_sql_file(con, "identity/exact_links.sql", {
            "max_key_group_size": config.max_key_group_size,
            "contact_name_max_edits": config.contact_name_max_edits,
        })
        stats.update(_fuzzy_links(con, config))
        _run(con, """
            CREATE OR REPLACE TEMP TABLE identity_all_links AS
            SELECT * FROM identity_exact_links
            UNION ALL
            SELECT * FROM identity_fuzzy_links
        """)
        _cluster(con)
        run_sql_file(con, "identity/person_tables.sql")
    records, persons = con.execute(
        "SELECT count(*), count(DISTINCT person_id) FROM person_records").fetchall()[0]
    stats["records"] = records
    stats["persons"] = persons
    stats["merged_persons"] = con.execute(
        "SELECT count(*) FROM (SELECT person_id FROM person_records GROUP BY ALL HAVING count(*) > 1)"
    ).fetchall()[0][0]
    stats["links_by_rule"] = dict(con.execute(
        "SELECT rule, count(*) FROM person_links GROUP BY rule ORDER BY rule").fetchall())
    stats["seconds"] = round(time.perf_counter() - started, 2)
    log.info("identity: %d records -> %d persons (%s) in %.1f s", records, persons,
             ", ".join(f"{k}={v}" for k, v in stats["links_by_rule"].items()) or "no links", stats["seconds"])
    return stats

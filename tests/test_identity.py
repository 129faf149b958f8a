"""Identity resolution over DuckDB: who must become one person, who must stay apart, and how well
the fuzzy matching does on synthetic persons with typos."""
from __future__ import annotations

import collections
import datetime as dt
import itertools
import json
import random
import re

import duckdb
import pytest

from bountyguard import matching_keys
from bountyguard.errors import ConfigError
from bountyguard.identity import IdentityConfig, resolve_persons

D = dt.date
T0 = dt.datetime(2026, 1, 1, 9, 0)

REFERRERS_DDL = """CREATE OR REPLACE TABLE referrers (referrer_id VARCHAR, full_name VARCHAR, email VARCHAR,
    phone VARCHAR, payout_iban VARCHAR, birth_date DATE, city VARCHAR, signed_up_at TIMESTAMP,
    updated_at TIMESTAMP)"""
CANDIDATES_DDL = """CREATE OR REPLACE TABLE candidates (candidate_id VARCHAR, full_name VARCHAR,
    email VARCHAR, phone VARCHAR, birth_date DATE, city VARCHAR, profile_url VARCHAR, created_at TIMESTAMP,
    updated_at TIMESTAMP)"""

# id: (full_name, email, phone, payout_iban, birth_date, city)
REFERRERS = {
    "r-sergey": ("Сергей Петров", "sergey.petrov+ref@googlemail.com", "+49 170 1234567",
                 "DE89 3704 0044 0532 0130 00", D(1985, 3, 14), "Berlin"),
    "r-olga": ("Olga Ivanova", None, "+49 151 2345678", None, D(1960, 2, 2), "Köln"),
    "r-max": ("Max Mustermann", "max@example.org", None, "DE44 5001 0517 5407 3249 31", D(1980, 1, 1), "Bonn"),
    "r-erika": ("Erika Musterfrau", "erika@example.org", None, "de44500105175407324931", D(1982, 5, 5), "Bonn"),
    "r-juergen": ("Jürgen Müller", None, None, "GB82WEST12345698765432", D(1970, 1, 1), "Hamburg"),
    "r-juergen-2": ("Mueller Juergen", "jm@example.org", None, "gb82 west 1234 5698 7654 32", None, None),
    "r-yulia": ("Юлия Щукина", None, None, None, D(1992, 11, 30), "Москва"),
    "r-nameless": ("---", None, None, None, None, None),
    # a patronymic in one record only, and German transliteration in the other
    "r-aleksandr": ("Александр Васильович Кузнецов", "aleksandr_kuznetsov@ukr.net", "(093) 567 84 22",
                    None, D(1995, 12, 4), "Kharkiv"),
    "r-artem": ("Артем Иванович Шевчук", None, "0676/6484063", None, D(1985, 5, 14), "Innsbruck"),
    "r-lena": ("Lena Becker", "lena.becker@web.de", None, None, D(1994, 2, 3), "München"),
    "r-carlos": ("Carlos Chen", "carlos.chen@yahoo.de", "0151 57160846", None, D(1992, 4, 13), "Hannover"),
}
# id: (full_name, email, phone, birth_date, city, profile_url)
CANDIDATES = {
    "c-sergey-alias": ("Petrov Sergei", "SergeyPetrov@gmail.com", None, D(1985, 3, 14), "Berlin", None),
    "c-sergey-phone": ("Sergej Petrow", None, "0170-1234567", None, None, None),
    "c-sergey-typo": ("Sergey Petorv", None, None, D(1985, 3, 14), "Berlin", None),
    "c-sergey-date-typo": ("Sergei Petrov", None, None, D(1985, 3, 4), "Berlin", None),
    # namesake: same full name, other birth date, other contacts, other city
    "c-namesake": ("Sergey Petrov", "s.petrov@web.de", "+49 160 9999999", D(1990, 7, 1), "Hamburg", None),
    # a family sharing one phone: different first names and birth dates
    "c-ivan": ("Ivan Ivanov", None, "0151 2345678", D(1958, 5, 5), "Koeln", None),
    "c-anna": ("Anna Ivanova", None, "01512345678", D(1990, 10, 10), "Cologne", None),
    # twins: one surname, one birth date, one city, one phone
    "c-maria": ("Maria Schmidt", None, "+49 172 5550001", D(1995, 6, 6), "München", None),
    "c-laura": ("Laura Schmidt", None, "0172 5550001", D(1995, 6, 6), "Munich", None),
    # sharing only a surname (and the city) with Sergey
    "c-dmitri": ("Dmitri Petrov", None, None, D(1979, 8, 21), "Berlin", None),
    # profile URL variants; the referrer r-yulia has no profile but the same person's name and birth date
    "c-yulia": ("Yulia Shchukina", None, None, D(1992, 11, 30), "Moscow",
                "https://www.linkedin.com/in/yulia-s/?trk=abc"),
    "c-yulia-2": ("Julija Schtschukina", None, None, None, None, "linkedin.com/in/Yulia-S"),
    # only a city in common with many others
    "c-berliner": ("Thomas Weber", None, None, D(1975, 9, 9), "Berlin", None),
    "c-aleksandr-de": ("Kusnezow Alexander", "aleksandrkuznetsov95@gmail.com", None, D(1995, 12, 4), "Kharkov",
                       None),
    # Polish transliteration (sz, cz, w, y) and the patronymic kept; the phone typed differently
    "c-artem-pl": ("Artyom Ywanowycz Szewczuk", "artem.shevchuk@gmx.at", "0676 6484063", D(1985, 5, 14),
                   "Innsbruck", None),
    # a middle name left out and a typo in the surname; phone, birth date and city agree
    "c-jan": ("Jan Peter Hahn", None, "+49 172 6358595", D(1981, 10, 1), "Hannover", None),
    "c-jan-short": ("JAN HAN", None, "0049-172-6358595", D(1981, 10, 1), "Hannover", None),
    # a Swiss number typed without country code on a record without city (read as German), a middle name
    "c-soeren": ("Sören Peter Thomas", None, "+41799060892", D(1992, 7, 25), "Lausanne", None),
    "c-soeren-no-city": ("Soeren Thomas", None, "079 9060892", None, None, None),
    # father and sons: patronymics are not part of the name key, and they share the household phone
    "c-ivan-father": ("Ivan Petrovich Sidorov", None, "+49 176 4440001", D(1960, 3, 3), "Leipzig", None),
    "c-petr-son": ("Petr Ivanovich Sidorov", None, "0176 4440001", D(1985, 9, 9), "Leipzig", None),
    "c-ivan-son": ("Ivan Ivanovich Sidorov", None, "0176/4440001", D(1988, 1, 12), "Leipzig", None),
    # one mailbox typed by two namesakes (firstname initial + surname): other birth dates
    "c-sebastian": ("Sebastian Schneider", "sschneider@gmail.com", "+41 77 1434740", D(1974, 5, 28), "Lausanne",
                    None),
    "c-stefan": ("Stefan Schneider", "s.schneider@gmail.com", "(0177) 764 16 943", D(1963, 1, 17), "Köln", None),
    # one profile URL, two namesakes: no birth date on one side, but another phone and another city
    "c-yuliia": ("Yuliia Savchenko", None, "(073) 723 78 48", D(1991, 3, 3), "Kharkiv",
                 "https://www.xing.com/profile/Yuliia_Savchenko75"),
    "c-yuliia-pl": ("Yuliia Savchenko", None, "+48788956297", None, "Kraków",
                    "https://www.xing.com/profile/Yuliia_Savchenko75"),
    # re-registered without a birth date, another mailbox holding the birth year; and a namesake in the
    # same city whose mailbox holds another year
    "c-lena": ("Lena Becker", "lbecker94+jobs@outlook.com", None, None, "Muenchen", None),
    "c-lena-namesake": ("Lena Becker", "lena.becker2001@gmail.com", None, None, "München", None),
    # sisters sharing the family phone, given names two edits apart, one without a birth date
    "c-lea": ("Lea Richter", None, "+43 676 4928801", None, "Graz", None),
    "c-lisa": ("Lisa Richter", None, "0676 492 88 01", D(2003, 4, 4), "Graz", None),
    # a transposed letter that breaks a digraph (Chen / Cehn): two edits once folded, one phone
    "c-carlos": ("Carlos Cehn", "cchen.pro@gmail.com", "+49 151 5716 0846", D(1992, 4, 13), "Hannover", None),
}


def load(con, referrers, candidates):
    con.execute(REFERRERS_DDL)
    con.execute(CANDIDATES_DDL)
    if referrers:
        con.executemany("INSERT INTO referrers VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                        [[rid, *values, T0] for rid, values in referrers.items()])
    if candidates:
        con.executemany("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                        [[cid, *values, T0] for cid, values in candidates.items()])


def persons_by_record(con) -> dict[tuple[str, str], str]:
    return {(t, r): p for t, r, p in
            con.execute("SELECT record_type, record_id, person_id FROM person_records").fetchall()}


@pytest.fixture(scope="module")
def resolved():
    con = duckdb.connect()
    load(con, REFERRERS, CANDIDATES)
    stats = resolve_persons(con, IdentityConfig.from_config())
    yield con, stats, persons_by_record(con)
    con.close()


def same(persons, a, b):
    return persons[a] == persons[b]


R = lambda i: ("referrer", i)  # noqa: E731
C = lambda i: ("candidate", i)  # noqa: E731


def test_every_record_appears_exactly_once(resolved):
    con, stats, persons = resolved
    rows = con.execute("SELECT record_type, record_id FROM person_records").fetchall()
    expected = {R(i) for i in REFERRERS} | {C(i) for i in CANDIDATES}
    assert len(rows) == len(expected) == stats["records"]
    assert set(rows) == expected
    assert all(re.fullmatch(r"P[0-9a-f]{16}", p) for p in persons.values())


def test_tables_have_the_published_columns(resolved):
    con, _, _ = resolved
    columns = lambda t: [(c, ty) for c, ty in con.execute(  # noqa: E731
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [t]).fetchall()]
    assert columns("person_records") == [
        ("record_type", "VARCHAR"), ("record_id", "VARCHAR"), ("person_id", "VARCHAR"),
        ("name_key", "VARCHAR"), ("email_key", "VARCHAR"), ("phone_key", "VARCHAR"), ("iban_key", "VARCHAR"),
        ("iban_masked", "VARCHAR"), ("birth_date", "DATE"), ("city_key", "VARCHAR"), ("profile_key", "VARCHAR")]
    assert columns("person_links") == [
        ("record_type_l", "VARCHAR"), ("record_id_l", "VARCHAR"), ("record_type_r", "VARCHAR"),
        ("record_id_r", "VARCHAR"), ("rule", "VARCHAR"), ("match_probability", "DOUBLE"),
        ("evidence", "VARCHAR")]


@pytest.mark.parametrize("a, b", [
    (R("r-sergey"), C("c-sergey-alias")),  # transliteration + swapped order + e-mail alias
    (R("r-sergey"), C("c-sergey-phone")),  # reformatted phone + same name
    (R("r-sergey"), C("c-sergey-typo")),  # typo with the same birth date and city
    (R("r-sergey"), C("c-sergey-date-typo")),  # a birth-date typo (14 -> 04), same name and city
    (R("r-juergen"), R("r-juergen-2")),  # IBAN spacing/case + same name
    (C("c-yulia"), C("c-yulia-2")),  # profile URL variants
    (R("r-yulia"), C("c-yulia")),  # Cyrillic / Latin, same birth date, Москва / Moscow
    (R("r-aleksandr"), C("c-aleksandr-de")),  # patronymic on one side, German transliteration
    (R("r-artem"), C("c-artem-pl")),  # Polish transliteration, patronymic on both sides
    (C("c-jan"), C("c-jan-short")),  # middle name left out plus a surname typo
    (C("c-soeren"), C("c-soeren-no-city")),  # one national number, a middle name left out
    (R("r-lena"), C("c-lena")),  # no birth date on one side, its year in the other mailbox
    (R("r-carlos"), C("c-carlos")),  # one phone, a transposition two edits apart once folded
])
def test_must_merge(resolved, a, b):
    _, _, persons = resolved
    assert same(persons, a, b)


@pytest.mark.parametrize("a, b", [
    (R("r-sergey"), C("c-namesake")),  # namesake: other birth date and contacts
    (R("r-olga"), C("c-ivan")),  # family sharing one phone
    (R("r-olga"), C("c-anna")),
    (C("c-ivan"), C("c-anna")),
    (C("c-maria"), C("c-laura")),  # twins: surname, birth date, city and phone shared
    (R("r-max"), R("r-erika")),  # one IBAN, two people (shared_payout_account, not identity)
    (R("r-sergey"), C("c-dmitri")),  # only a surname and a city in common
    (R("r-sergey"), C("c-berliner")),  # only a city in common
    (C("c-ivan-father"), C("c-petr-son")),  # a patronymic alone is no name: father / son
    (C("c-ivan-father"), C("c-ivan-son")),  # one name once the patronymic is left out, other birth dates
    (C("c-petr-son"), C("c-ivan-son")),  # brothers
    (C("c-sebastian"), C("c-stefan")),  # one mailbox, birth dates that contradict
    (C("c-yuliia"), C("c-yuliia-pl")),  # one profile, but another phone and another city
    (R("r-lena"), C("c-lena-namesake")),  # name and city, but the mailbox says another year
    (C("c-lena"), C("c-lena-namesake")),  # name and city alone, neither with a birth date
    (C("c-lea"), C("c-lisa")),  # one phone, given names two edits apart: sisters
])
def test_must_not_merge(resolved, a, b):
    _, _, persons = resolved
    assert not same(persons, a, b)


def test_a_record_without_a_usable_name_stays_alone(resolved):
    con, _, persons = resolved
    assert list(persons.values()).count(persons[R("r-nameless")]) == 1
    assert con.execute("SELECT name_key FROM person_records WHERE record_id = 'r-nameless'").fetchall() == [(None,)]


def test_links_carry_evidence_without_personal_data(resolved):
    con, stats, _ = resolved
    links = con.execute("SELECT rule, match_probability, evidence FROM person_links").fetchall()
    rules = {rule for rule, _, _ in links}
    assert {"email", "phone_and_name", "iban_and_name", "profile", "name_birth_date_city"} <= rules
    assert stats["links_by_rule"] == dict(collections.Counter(rule for rule, _, _ in links))
    raw_values = {str(v).lower() for values in (*REFERRERS.values(), *CANDIDATES.values())
                  for v in values if v is not None and len(str(v)) > 3}
    for rule, probability, evidence in links:
        assert 0.0 < probability <= 1.0
        parsed = json.loads(evidence)
        assert isinstance(parsed, dict) and parsed
        assert not any(value in evidence.lower() for value in raw_values), (rule, evidence)


def test_only_the_published_tables_are_left_behind(resolved):
    con, _, _ = resolved
    tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    # plus the state kept between runs: the key cache and each record's stored keys, the trained model
    # (when there is one) with its term frequencies, and the last resolution's scored records and
    # probabilistic links, its exact links with their records' key hashes, the kept Splink input with
    # its name-part counts, the mark that the published persons are the last resolution's, and the
    # records changed since it (none once it completed)
    assert tables == {"referrers", "candidates", "person_records", "person_links", "identity_key_hashes",
                      "identity_record_keys", "identity_lookup_state", "identity_changed_records",
                      "identity_model", "identity_model_term_frequencies", "identity_resolution_state",
                      "identity_scored_records", "identity_fuzzy_link_state",
                      "identity_splink_rows", "identity_input_state", "identity_token_counts",
                      "identity_persons_state", "identity_exact_state", "identity_exact_records",
                      "identity_exact_link_state"}


def test_person_ids_are_stable_across_runs_and_connections(resolved):
    _, _, first = resolved
    con = duckdb.connect()
    # a different insertion order must not change the ids either
    load(con, dict(reversed(list(REFERRERS.items()))), dict(reversed(list(CANDIDATES.items()))))
    resolve_persons(con, IdentityConfig.from_config())
    again = persons_by_record(con)
    resolve_persons(con, IdentityConfig.from_config())
    assert persons_by_record(con) == again == first


def test_a_placeholder_email_shared_by_many_merges_nobody():
    con = duckdb.connect()
    candidates = {f"c{i}": (name, "test@test.de", None, D(1980 + i, 1, 1), "Berlin", None)
                  for i, name in enumerate(["Anna Berg", "Boris Koch", "Clara Wolf", "David Roth"])}
    load(con, {}, candidates)
    stats = resolve_persons(con, IdentityConfig.from_config(**{"max_key_group_size": 3}))
    assert stats["persons"] == 4
    stats = resolve_persons(con, IdentityConfig.from_config(**{"max_key_group_size": 4}))
    assert stats["persons"] == 1


def test_empty_tables():
    con = duckdb.connect()
    load(con, {}, {})
    stats = resolve_persons(con, IdentityConfig.from_config())
    assert stats["records"] == 0 and stats["persons"] == 0
    assert con.execute("SELECT count(*) FROM person_links").fetchall() == [(0,)]


def test_settings_come_from_the_toml_and_wrong_ones_are_configuration_errors():
    from bountyguard.config import defaults
    from bountyguard.errors import ConfigError

    config = IdentityConfig.from_config(match_threshold=0.8, max_key_group_size=10, seed=7)
    assert (config.match_threshold, config.max_key_group_size, config.seed) == (0.8, 10, 7)
    assert IdentityConfig.from_mapping(defaults()["identity"]) == IdentityConfig.from_config()
    with pytest.raises(ConfigError, match="unknown"):
        IdentityConfig.from_config(treshold=0.9)
    with pytest.raises(ConfigError, match="missing"):
        IdentityConfig.from_mapping({"match_threshold": 0.9})
    with pytest.raises(ConfigError, match="match_threshold"):
        IdentityConfig.from_config(match_threshold=1.5)
    with pytest.raises(ConfigError, match="expected a number"):
        IdentityConfig.from_config(seed="seven")


# ---------------------------------------------------------------------------------------------------
# Quality on synthetic persons: typos in names, birth dates and towns, and nothing else to go on.

FIRST_NAMES = [
    ["Sergey", "Sergei", "Sergej", "Сергей"], ["Yulia", "Iuliia", "Julija", "Юлия", "Yuliya"],
    ["Dmitriy", "Dmitrii", "Dmitri", "Дмитрий"], ["Natalia", "Natalya", "Natalja", "Наталья"],
    ["Mikhail", "Michail", "Михаил"], ["Ekaterina", "Yekaterina", "Jekaterina", "Екатерина"],
    ["Aleksandr", "Alexandr", "Александр"], ["Olga", "Olha", "Ольга"], ["Andrey", "Andrei", "Андрей"],
    ["Evgeny", "Yevgeniy", "Jewgeni", "Евгений"], ["Anna", "Анна"], ["Maria", "Mariya", "Мария"],
    ["Ivan", "Иван"], ["Tatiana", "Tatyana", "Tatjana", "Татьяна"], ["Pavel", "Pawel", "Павел"],
    ["Irina", "Ирина"], ["Alexey", "Aleksei", "Alexej", "Алексей"], ["Svetlana", "Swetlana"],
    ["Nikolai", "Nikolay", "Николай"], ["Elena", "Yelena", "Jelena", "Елена"], ["Thomas"], ["Michael"],
    ["Andreas"], ["Stefan"], ["Christian"], ["Julia"], ["Katharina"], ["Sabine"], ["Jürgen", "Juergen"],
    ["Jörg", "Joerg"], ["Anja"], ["Markus"], ["Tobias"], ["Sandra"], ["Petra"], ["Piotr"], ["Katarzyna"],
    ["Tomasz"], ["Agnieszka"], ["Marek"], ["Lukas"], ["Jan"], ["Fatma"], ["Mehmet"], ["Ayşe", "Ayse"],
    ["Ali"], ["Mustafa"], ["Emine"], ["Lena"], ["Paul"], ["Maximilian"], ["Sophie"], ["Leon"], ["Mia"],
    ["Felix"], ["Laura"], ["Jonas"], ["Lea"],
]
SURNAMES = [
    ["Petrov", "Petrow", "Петров"], ["Ivanov", "Iwanow", "Иванов"], ["Smirnov", "Smirnow", "Смирнов"],
    ["Kuznetsov", "Kusnezow", "Кузнецов"], ["Popov", "Popow"], ["Shchukin", "Schtschukin", "Щукин"],
    ["Khabensky", "Chabenski", "Хабенский"], ["Zhukov", "Schukow", "Жуков"], ["Volkov", "Wolkow"],
    ["Sokolov", "Sokolow"], ["Lebedev", "Lebedew"], ["Kozlov", "Koslow"], ["Novikov", "Nowikow"],
    ["Morozov", "Morosow"], ["Kovalenko", "Kowalenko"], ["Bondarenko"], ["Shevchenko", "Schewtschenko"],
    ["Müller", "Mueller"], ["Schmidt"], ["Schneider"], ["Fischer"], ["Weber"], ["Meyer"], ["Wagner"],
    ["Becker"], ["Schulz"], ["Hoffmann"], ["Schäfer", "Schaefer"], ["Koch"], ["Bauer"], ["Richter"],
    ["Klein"], ["Wolf"], ["Schröder", "Schroeder"], ["Neumann"], ["Schwarz"], ["Zimmermann"], ["Braun"],
    ["Krüger", "Krueger"], ["Hartmann"], ["Lange"], ["Werner"], ["Kowalski"], ["Nowak"],
    ["Wiśniewski", "Wisniewski"], ["Wójcik", "Wojcik"], ["Yılmaz", "Yilmaz"], ["Kaya"], ["Demir"],
    ["Şahin", "Sahin"], ["Çelik", "Celik"], ["Novak"], ["Svoboda"], ["Dvořák", "Dvorak"], ["Nagy"],
    ["Popescu"], ["Jovanović", "Jovanovic"],
] + [[stem + suffix] for stem in ("Bergmann", "Lindner", "Krause", "Vogel", "Jung", "Frank", "Berger",
                                   "Kaiser", "Fuchs", "Peters", "Scholz", "Möller", "Jäger", "Haas",
                                   "Sommer", "Graf", "Seidel", "Heinrich", "Brandt") for suffix in ("", "er", "s")]
TOWNS = [["Berlin"], ["Hamburg"], ["München", "Muenchen", "Munich"], ["Köln", "Koeln", "Cologne"],
         ["Frankfurt am Main", "Frankfurt"], ["Stuttgart"], ["Düsseldorf", "Duesseldorf"], ["Leipzig"],
         ["Dortmund"], ["Essen"], ["Bremen"], ["Dresden"], ["Hannover"], ["Nürnberg"], ["Wien", "Vienna"],
         ["Zürich"], ["Warszawa", "Warsaw"], ["Praha", "Prague"], ["Kyiv", "Kiev", "Київ"],
         ["Moskva", "Moscow", "Москва"], ["Bonn"], ["Mannheim"], ["Karlsruhe"], ["Augsburg"],
         # towns the normaliser's city map does not know
         ["Bad Homburg"], ["Gütersloh", "Guetersloh"], ["Zwickau"], ["Oberursel"], ["Ratingen"],
         ["Lüdenscheid"], ["Wolfsburg"], ["Paderborn"], ["Bielefeld"], ["Regensburg"], ["Ingolstadt"],
         ["Würzburg"], ["Ulm"], ["Jena"], ["Erfurt"], ["Rostock"], ["Kassel"], ["Trier"]]


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    # first letters are typed with more care, but not always
    i = rng.randrange(0, len(text) - 1) if rng.random() < 0.15 else rng.randrange(1, len(text) - 1)
    kind = rng.choice(("substitute", "delete", "insert", "transpose"))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == "substitute":
        return text[:i] + letter + text[i + 1:]
    if kind == "delete":
        return text[:i] + text[i + 1:]
    if kind == "insert":
        return text[:i] + letter + text[i:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def _date_typo(rng: random.Random, day: dt.date) -> dt.date:
    if rng.random() < 0.5 and day.day <= 12 and day.day != day.month:
        return day.replace(month=day.day, day=day.month)  # day and month swapped
    digits = day.strftime("%Y%m%d")
    for _ in range(50):  # one digit wrong, still a real date
        i = rng.randrange(len(digits))
        candidate = digits[:i] + str(rng.randrange(10)) + digits[i + 1:]
        try:
            typo = dt.datetime.strptime(candidate, "%Y%m%d").date()
        except ValueError:
            continue
        if typo != day and 1940 <= typo.year <= 2010:
            return typo
    return day


def synthetic_persons(n_persons: int, seed: int):
    """Records (type, id, name, birth date, town, true person): 1-3 per person, typos after the first."""
    rng = random.Random(seed)
    records = []
    for person in range(n_persons):
        first, last, town = rng.choice(FIRST_NAMES), rng.choice(SURNAMES), rng.choice(TOWNS)
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(45 * 365))
        for k in range(rng.choice((1, 1, 2, 2, 3))):
            name = [rng.choice(first), rng.choice(last)]
            if k and rng.random() < 0.35:
                j = rng.randrange(2)
                name[j] = _typo(rng, name[j])
            if rng.random() < 0.2:
                name.reverse()
            day = _date_typo(rng, birth) if k and rng.random() < 0.25 else birth
            city = rng.choice(town)
            if k and rng.random() < 0.2:
                city = _typo(rng, city)
            if rng.random() < 0.05:
                city = None
            records.append((rng.choice(("referrer", "candidate")), f"S{len(records):06d}", " ".join(name),
                            day, city, person))
    return records


def pairwise_f1(truth: dict, predicted: dict) -> tuple[float, float, float]:
    def pairs(assignment):
        groups = collections.defaultdict(list)
        for record, cluster in assignment.items():
            groups[cluster].append(record)
        return {pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)}

    true_pairs, predicted_pairs = pairs(truth), pairs(predicted)
    hits = len(true_pairs & predicted_pairs)
    precision = hits / len(predicted_pairs) if predicted_pairs else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    return 2 * precision * recall / (precision + recall), precision, recall


def test_pairwise_f1_helper_can_fail():
    truth = {"a": 1, "b": 1, "c": 2, "d": 2}
    assert pairwise_f1(truth, truth) == (1.0, 1.0, 1.0)
    assert pairwise_f1(truth, {"a": 1, "b": 2, "c": 3, "d": 4})[0] == 0.0
    assert pairwise_f1(truth, {"a": 1, "b": 1, "c": 1, "d": 1})[1] == pytest.approx(2 / 6)


@pytest.mark.parametrize("train_model", [True, False], ids=["trained", "built_in_model"])
def test_quality_on_synthetic_persons(train_model):
    records = synthetic_persons(2000, seed=20261126)
    con = duckdb.connect()
    load(con,
         {rid: (name, None, None, None, day, city) for kind, rid, name, day, city, _ in records
          if kind == "referrer"},
         {rid: (name, None, None, day, city, None) for kind, rid, name, day, city, _ in records
          if kind == "candidate"})
    stats = resolve_persons(con, IdentityConfig.from_config(train_model=train_model))
    assert stats["model"] == ("trained" if train_model else "built_in")
    truth = {(kind, rid): person for kind, rid, *_, person in records}
    f1, precision, recall = pairwise_f1(truth, persons_by_record(con))
    print(f"pairwise F1 {f1:.4f} precision {precision:.4f} recall {recall:.4f} in {stats['seconds']} s")
    assert f1 >= 0.97, (f1, precision, recall)
    assert precision >= 0.97, (f1, precision, recall)


# ---------------------------------------------------------------------------------------------------
# Scale: blocks are capped, and pair comparisons run in SQL.

def test_blocks_larger_than_max_block_size_are_split_or_left_out():
    from bountyguard.identity import model as identity_model
    from bountyguard.identity import resolve as identity

    con = duckdb.connect()
    # six namesakes in one city and birth year, three born on one day; two in another city
    candidates = {f"c{i}": ("Anna Berg", None, None, D(1990, 1, 1 + (i % 4 == 0)), city, None)
                  for i, city in enumerate(["Berlin"] * 6 + ["Bonn"] * 2)}
    load(con, {}, candidates)
    config = IdentityConfig.from_config(max_block_size=3)
    identity._register_macros(con)
    identity._build_keyed(con, config)
    identity_model._build_splink_input(con, config)
    counts = identity_model._blocked_pair_counts(con)
    # name + birth year: 8 records, too many; split by city: Berlin's 6 too many, Bonn's 2 pair once
    assert counts["name_year"] == 1
    # name + city: Berlin's block is left out, Bonn's is kept
    assert counts["name_city"] == 1
    # birth date + first name token: 1990-01-01 has 6 records (split by city: Berlin 4, Bonn 2),
    # 1990-01-02 has 2 (Berlin: c0, c4)
    assert counts["date_first"] == 1 + 1
    assert all(n <= len(candidates) * config.max_block_size / 2 for n in counts.values())
    with pytest.raises(ConfigError):
        IdentityConfig.from_config(**{"max_block_size": 1})


@pytest.mark.parametrize("a, b", [
    ("han ian", "hahn ian peter"), ("iulai lanh", "hristof iulia lanh"), ("ian peter", "hahn ian peter"),
    ("ivan sidorov", "ivan sidorov"), ("ivan sidorov", "petr sidorov"), ("ana shmidt", "laura maria shmidt"),
    ("ian", "hahn ian peter"), ("ian ian", "ian peter"), (None, "ian peter"), ("a b c", "a bx cy dz"),
])
def test_the_sql_names_nest_agrees_with_the_python_one(a, b):
    from bountyguard.identity import model as identity_model
    from bountyguard.identity import resolve as identity
    from bountyguard.normalize import names_nest

    con = duckdb.connect()
    identity._register_macros(con)
    for x, y in ((a, b), (b, a)):
        got = con.execute("SELECT bg_tokens_nest(string_split(?, ' '), string_split(?, ' '))", [x, y]).fetchall()
        assert got == [(names_nest(x, y),)], (x, y)


# ---------------------------------------------------------------------------------------------------
# State between runs: the key cache and the stored model.

def _tables(con):
    return (sorted(con.execute("SELECT * FROM person_records").fetchall()),
            sorted(con.execute("SELECT * FROM person_links").fetchall()))


def _count_normaliser_calls(monkeypatch):
    """Values normalised, per kind of key (counted where resolution hands them over: normalize.keys_of)."""
    from bountyguard import normalize
    calls = collections.Counter()
    keys_of = normalize.keys_of

    def counted(kinds, raws, cities, phone_region=normalize.DEFAULT_PHONE_REGION):
        calls.update(kinds)
        return keys_of(kinds, raws, cities, phone_region)
    monkeypatch.setattr(normalize, "keys_of", counted)
    return calls


def test_a_second_run_normalises_only_new_values_and_gives_the_same_result(monkeypatch):
    calls = _count_normaliser_calls(monkeypatch)
    con = duckdb.connect()
    items = list(REFERRERS.items())
    load(con, dict(items[:5]), CANDIDATES)
    first_stats = resolve_persons(con, IdentityConfig.from_config())
    first_calls = sum(calls.values())
    assert first_calls == first_stats["normalised_values"] > 0
    assert con.execute("SELECT count(*) FROM identity_key_hashes").fetchall()[0][0] == first_calls
    first = _tables(con)

    calls.clear()
    stats = resolve_persons(con, IdentityConfig.from_config())
    assert sum(calls.values()) == 0 and stats["normalised_values"] == 0
    assert _tables(con) == first

    # new records: only their raw values not seen before are normalised, and the result is the same as
    # resolving everything in a fresh database
    con.executemany("INSERT INTO referrers VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    [[rid, *values, T0] for rid, values in items[5:]])
    calls.clear()
    stats = resolve_persons(con, IdentityConfig.from_config())
    assert 0 < sum(calls.values()) == stats["normalised_values"] < first_calls
    incremental = _tables(con)
    fresh = duckdb.connect()
    load(fresh, REFERRERS, CANDIDATES)
    resolve_persons(fresh, IdentityConfig.from_config())
    assert _tables(fresh) == incremental

    # another default region gives other phone keys: cached per region, never mixed up
    calls.clear()
    resolve_persons(con, IdentityConfig.from_config(default_phone_region="AT"))
    assert calls["phone"] > 0 and calls["name"] == 0
    # a deleted record's values leave the cache; a stale key version is dropped
    con.execute("DELETE FROM referrers WHERE referrer_id = 'r-yulia'")
    con.execute("UPDATE identity_key_hashes SET version = -1 WHERE kind = 'email'")
    resolve_persons(con, IdentityConfig.from_config())
    yulia = matching_keys.hasher(matching_keys.current_key()[1])("Юлия Щукина")
    assert con.execute("SELECT count(*) FROM identity_key_hashes WHERE raw_hash = ? "
                       "OR version <> (SELECT max(version) FROM identity_key_hashes)", [yulia]).fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM identity_key_hashes WHERE kind = 'email'").fetchall()[0][0] > 0


def test_the_trained_model_is_reused_until_the_data_grows_past_the_threshold():
    records = synthetic_persons(1200, seed=7)
    rows = {rid: (name, None, None, day, city, None) for kind, rid, name, day, city, _ in records}
    ids = sorted(rows)
    con = duckdb.connect()
    load(con, {}, {rid: rows[rid] for rid in ids[:int(len(ids) * 0.9)]})
    assert resolve_persons(con, IdentityConfig.from_config())["model"] == "trained"
    first = _tables(con)
    stored = con.execute("SELECT settings_json FROM identity_model").fetchall()
    assert len(stored) == 1

    again = resolve_persons(con, IdentityConfig.from_config())
    assert again["model"] == "reused" and again["training_seconds"] == 0.0
    assert _tables(con) == first
    assert con.execute("SELECT settings_json FROM identity_model").fetchall() == stored

    # ~11% more records: below retrain_after_growth (0.2), the stored model is used
    con.executemany("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    [[rid, *rows[rid], T0] for rid in ids[int(len(ids) * 0.9):]])
    assert resolve_persons(con, IdentityConfig.from_config())["model"] == "reused"
    # a lower threshold retrains; other training rules never reuse a model
    assert resolve_persons(con, IdentityConfig.from_config(retrain_after_growth=0.05))["model"] == "trained"
    assert resolve_persons(con, IdentityConfig.from_config(retrain_after_growth=0.05))["model"] == "reused"
    assert resolve_persons(con, IdentityConfig.from_config(seed=43))["model"] == "trained"


def test_retrain_after_growth_must_not_be_negative():
    with pytest.raises(ConfigError):
        IdentityConfig.from_config(**{"retrain_after_growth": -0.1})
    assert IdentityConfig.from_config(**{"retrain_after_growth": 0}).retrain_after_growth == 0.0


# ---------------------------------------------------------------------------------------------------
# Households, phones typed the national way, and the settings that decide a fuzzy link.


def test_twins_sharing_a_phone_stay_two_people_even_when_their_surname_is_the_rare_part():
    # In a larger population the surname is the twins' least frequent name part, so the name level is
    # "shares its rarest name" (a strong one). One phone on both records makes them a household: apart.
    con = duckdb.connect()
    others = {f"c-other-{i}": (f"{given} {surname}", None, None, D(1970 + i, 1 + i % 12, 1 + i), city, None)
              for i, (given, surname, city) in enumerate([
                  ("Maria", "Becker", "Bonn"), ("Maria", "Wagner", "Essen"), ("Laura", "Koch", "Kiel"),
                  ("Laura", "Braun", "Ulm"), ("Maria", "Hahn", "Jena"), ("Laura", "Vogel", "Trier")])}
    twins = {"c-twin-1": ("Maria Zellweger", None, "+49 172 5550002", D(1995, 6, 6), "München", None),
             "c-twin-2": ("Laura Zellweger", None, "0172 5550002", D(1995, 6, 6), "Munich", None)}
    load(con, {}, {**others, **twins})
    resolve_persons(con, IdentityConfig.from_config())
    persons = persons_by_record(con)
    assert persons[C("c-twin-1")] != persons[C("c-twin-2")]
    # without the shared phone the same pair is one person to the model (nothing tells twins from a
    # record whose given name was replaced): the phone is what makes it a household
    load(con, {}, {**others, "c-twin-1": twins["c-twin-1"][:2] + (None,) + twins["c-twin-1"][3:],
                   "c-twin-2": twins["c-twin-2"][:2] + (None,) + twins["c-twin-2"][3:]})
    resolve_persons(con, IdentityConfig.from_config())
    persons = persons_by_record(con)
    assert persons[C("c-twin-1")] == persons[C("c-twin-2")]


def test_a_russian_number_with_trunk_prefix_8_links_without_a_city():
    con = duckdb.connect()
    load(con, {"r-ivan": ("Иван Соколов", None, "+7 911 930-07-56", None, D(1988, 4, 2), None)},
         {"c-ivan": ("Ivan Sokolov", None, "8 (911) 930-07-56", D(1988, 4, 2), None, None)})
    resolve_persons(con, IdentityConfig.from_config())
    keyed = matching_keys.hasher(matching_keys.current_key()[1])  # phone keys are stored as keyed hashes
    rows = dict(con.execute("SELECT record_id, phone_key FROM person_records").fetchall())
    assert rows == {"r-ivan": keyed("+79119300756"), "c-ivan": keyed("+79119300756")}
    links = con.execute("SELECT rule FROM person_links").fetchall()
    assert ("phone_and_name",) in links
    # with the default region alone (no fallbacks) the same number reads as a Munich landline
    resolve_persons(con, IdentityConfig.from_config(fallback_phone_regions=()))
    assert dict(con.execute("SELECT record_id, phone_key FROM person_records").fetchall())["c-ivan"] \
        == keyed("+4989119300756")


def test_fuzzy_link_settings_are_checked():
    config = IdentityConfig.from_config(**{"fallback_phone_regions": ["RU", "ua"],
                                          "match_threshold_without_birth_date": 0.95})
    assert config.fallback_phone_regions == ("RU", "ua")
    assert config.match_threshold_without_birth_date == 0.95
    for bad in ({"fallback_phone_regions": "RU"}, {"fallback_phone_regions": ["RUS"]},
                {"match_threshold_without_birth_date": 1.0}, {"match_threshold_without_birth_date": 0}):
        with pytest.raises(ConfigError):
            IdentityConfig.from_config(**bad)


def test_a_pair_without_birth_date_needs_the_stricter_threshold(monkeypatch):
    from bountyguard.identity import model as identity_model
    from bountyguard.identity import resolve as identity

    # name one edit apart, one city, no birth date on one side: the built-in model puts such a pair
    # between the two thresholds
    con = duckdb.connect()
    load(con, {}, {"c-1": ("Benedikt Maier", None, None, None, "Köln", None),
                   "c-2": ("Benedikt Meier", None, None, D(2004, 8, 16), "Köln", None)})
    probabilities = []
    original = identity._predict

    def spy(con, config, db, settings, *rest):
        from splink import Linker

        linker = Linker(db.register("identity_scoring_input"), settings, log_level=None)
        rows = linker.inference.predict(threshold_match_probability=0.0).as_record_list()
        probabilities.extend(row["match_probability"] for row in rows)
        return original(con, config, db, settings, *rest)

    monkeypatch.setattr(identity, "_predict", spy)
    resolve_persons(con, IdentityConfig.from_config())
    assert len(probabilities) == 1
    p = probabilities[0]
    strict = IdentityConfig.from_config().match_threshold_without_birth_date
    persons = persons_by_record(con)
    assert (persons[C("c-1")] == persons[C("c-2")]) == (p >= strict)
    resolve_persons(con, IdentityConfig.from_config(match_threshold_without_birth_date=min(p, 0.99) / 2 + 0.0001))
    persons = persons_by_record(con)
    assert persons[C("c-1")] == persons[C("c-2")]


def test_new_values_normalised_in_small_batches_give_the_same_persons(resolved, monkeypatch):
    """A first load normalises and commits its new values in batches (bounded memory at ten million
    referrals); batches of three values must resolve exactly like one batch."""
    import bountyguard.identity.resolve as resolve

    _, _, expected = resolved
    monkeypatch.setattr(resolve, "_NORMALISE_BATCH_ROWS", 3)
    batch_sizes = []
    run_sql_file = resolve.run_sql_file

    def counting(con, name, params=None):
        if name == "identity/new_keys.sql":
            batch_sizes.append(con.execute("SELECT count(*) FROM identity_normalised_batch").fetchall()[0][0])
        run_sql_file(con, name, params)

    monkeypatch.setattr(resolve, "run_sql_file", counting)
    con = duckdb.connect()
    load(con, REFERRERS, CANDIDATES)
    resolve_persons(con, IdentityConfig.from_config())
    cached = con.execute("SELECT count(*) FROM identity_key_hashes").fetchall()[0][0]
    assert len(batch_sizes) == -(-cached // 3) and set(batch_sizes[:-1]) == {3} and sum(batch_sizes) == cached
    assert persons_by_record(con) == expected


def _cached_keys(processes: int, parallel_min_values: int):
    from bountyguard.identity import resolve

    con = duckdb.connect()
    load(con, REFERRERS, CANDIDATES)
    resolve._register_macros(con)
    resolve._build_keyed(con, IdentityConfig.from_config(), processes=processes,
                         parallel_min_values=parallel_min_values)
    return sorted(con.execute("SELECT * FROM identity_key_hashes").fetchall(), key=repr)


def test_normalising_in_a_pool_of_processes_caches_the_same_keys():
    """A first load normalises in as many processes as there are cores; the keys must be exactly those
    of normalising in the run's own process."""
    in_process = _cached_keys(processes=1, parallel_min_values=1)
    assert len(in_process) > len(REFERRERS) + len(CANDIDATES)
    assert _cached_keys(processes=2, parallel_min_values=1) == in_process


def test_the_pool_returns_each_key_in_the_place_of_its_value():
    from bountyguard.identity.resolve import _Normaliser
    from bountyguard.normalize import keys_of

    names = [values[0] for values in (*REFERRERS.values(), *CANDIDATES.values())]
    phones = [values[2] for values in (*REFERRERS.values(), *CANDIDATES.values()) if values[2]]
    kinds, raws = ["name"] * len(names) + ["phone"] * len(phones), names + phones
    cities = [None] * len(raws)
    with _Normaliser("DE", processes=2, parallel_min_values=1, chunk_values=3) as pool:
        assert pool(kinds, raws, cities) == keys_of(kinds, raws, cities, "DE")
        assert pool._pool is not None  # it did run in the pool


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_process_count_names_the_variable(monkeypatch, value):
    from bountyguard.identity.resolve import PROCESSES_VARIABLE, normalise_processes

    monkeypatch.setenv(PROCESSES_VARIABLE, value)
    with pytest.raises(ConfigError, match=PROCESSES_VARIABLE):
        normalise_processes()
    monkeypatch.setenv(PROCESSES_VARIABLE, "3")
    assert normalise_processes() == 3


def test_a_script_without_a_main_guard_gets_a_clear_error_not_a_hang(tmp_path):
    """Spawned normalising processes import the program's main module again; a script that runs at
    import time breaks them. The run must stop with an error that says what to do."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from bountyguard.identity.resolve import _Normaliser\n"
        "with _Normaliser('DE', processes=2, parallel_min_values=1) as keys_of:\n"
        "    print(keys_of(['name'], ['Anna Berg'], [None]))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "BOUNTYGUARD_NORMALISE_PROCESSES=1" in done.stderr and "__main__" in done.stderr

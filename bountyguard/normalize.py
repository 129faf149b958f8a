"""Normalisation of identity attributes into comparable keys.

Every function takes one raw value as typed by a user and returns a key, or None when the value cannot
identify anyone (empty, malformed, failed checksum). Keys are what identity resolution compares: two
records whose keys are equal carry the same attribute however it was typed.

The functions are pure and cheap; identity resolution runs them once per distinct raw value through
`keys_of`, in as many processes as the machine has cores (bountyguard/identity/resolve.py), and caches
the keys. Nothing here logs: the inputs are personal data.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import phonenumbers
from anyascii import anyascii
from schwifty import IBAN

# Results repeat a lot (common names, the same phone on several records); a bounded cache keeps the
# per-row Python cost down without letting memory grow with the table.
_CACHE_SIZE = 200_000

# Version of the normalisation rules. identity persists keys per raw value (identity_key_hashes) and
# reuses them across runs: bump this with ANY change that can change a key (folding, the city map, phone
# or IBAN rules, a library upgrade that parses differently), or stale keys are used.
KEYS_VERSION = 3

DEFAULT_PHONE_REGION = "DE"
# Shorter national numbers are service or extension numbers (some plans allow 2 digits), not a person's.
_MIN_PHONE_DIGITS = 6

# ---------------------------------------------------------------------------------------------------
# Cities: a small map for the cities the platform sees. It serves two purposes: spellings of one city
# meet on one key (Köln / Koeln / Cologne / Кёльн), and a phone typed without a country code is read
# in the country of the record's city.
# canonical key -> (country, aliases as they look after folding)
_CITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    # Germany
    "berlin": ("DE", ("berlin", "berlin mitte")),
    "hamburg": ("DE", ("hamburg",)),
    "munchen": ("DE", ("munchen", "munich", "munhen", "monaco di baviera")),
    "koln": ("DE", ("koln", "cologne", "kjoln", "koeln")),
    "frankfurt": ("DE", ("frankfurt", "frankfurt am main", "frankfurt main", "frankfurt a m")),
    "stuttgart": ("DE", ("stuttgart", "shtutgart")),
    "dusseldorf": ("DE", ("dusseldorf", "diusseldorf", "djusseldorf")),
    "leipzig": ("DE", ("leipzig", "leiptsig")),
    "dortmund": ("DE", ("dortmund",)),
    "essen": ("DE", ("essen",)),
    "bremen": ("DE", ("bremen",)),
    "dresden": ("DE", ("dresden",)),
    "hannover": ("DE", ("hannover", "hanover", "gannover")),
    "nurnberg": ("DE", ("nurnberg", "nuremberg", "niurnberg")),
    "bonn": ("DE", ("bonn",)),
    "mannheim": ("DE", ("mannheim",)),
    "karlsruhe": ("DE", ("karlsruhe",)),
    "bochum": ("DE", ("bochum",)),
    "wiesbaden": ("DE", ("wiesbaden",)),
    "munster": ("DE", ("munster",)),
    "augsburg": ("DE", ("augsburg",)),
    "aachen": ("DE", ("aachen",)),
    "kiel": ("DE", ("kiel",)),
    "freiburg": ("DE", ("freiburg", "freiburg im breisgau")),
    "heidelberg": ("DE", ("heidelberg",)),
    "potsdam": ("DE", ("potsdam",)),
    # Austria, Switzerland
    "wien": ("AT", ("wien", "vienna", "vena", "vienne")),
    "graz": ("AT", ("graz",)),
    "linz": ("AT", ("linz",)),
    "salzburg": ("AT", ("salzburg",)),
    "innsbruck": ("AT", ("innsbruck",)),
    "zurich": ("CH", ("zurich", "tsiurikh", "tsurih")),
    "geneve": ("CH", ("geneve", "geneva", "genf", "zheneva")),
    "basel": ("CH", ("basel", "bale")),
    "bern": ("CH", ("bern", "berne")),
    "lausanne": ("CH", ("lausanne",)),
    # Eastern Europe
    "warszawa": ("PL", ("warszawa", "warsaw", "warschau", "varshava")),
    "krakow": ("PL", ("krakow", "cracow", "krakau", "krakov")),
    "wroclaw": ("PL", ("wroclaw", "breslau", "vrotslav")),
    "gdansk": ("PL", ("gdansk", "danzig")),
    "poznan": ("PL", ("poznan", "posen")),
    "praha": ("CZ", ("praha", "prague", "prag", "praga")),
    "brno": ("CZ", ("brno", "brunn")),
    "bratislava": ("SK", ("bratislava", "pressburg")),
    "budapest": ("HU", ("budapest", "budapesht")),
    "bucuresti": ("RO", ("bucuresti", "bucharest", "bukarest", "bukharest")),
    "sofia": ("BG", ("sofia", "sofiia")),
    "beograd": ("RS", ("beograd", "belgrade", "belgrad")),
    "zagreb": ("HR", ("zagreb",)),
    "ljubljana": ("SI", ("ljubljana", "liubliana")),
    "kyiv": ("UA", ("kyiv", "kiev", "kiew", "kiiv", "kiyiv")),
    "kharkiv": ("UA", ("kharkiv", "kharkov", "charkiw")),
    "lviv": ("UA", ("lviv", "lvov", "lwiw", "lemberg", "lwow")),
    "odesa": ("UA", ("odesa", "odessa")),
    "dnipro": ("UA", ("dnipro", "dnepr", "dnipropetrovsk", "dnepropetrovsk")),
    # the other regional capitals, in Ukrainian and Russian Cyrillic (as folded) and the usual Latin,
    # German and Polish spellings: without them a record typed in Cyrillic and its Latin twin were in
    # two towns, which vetoes a shared mailbox (field world, seed 18: a ring member behind her own
    # mailbox, Вінниця / Vinnytsia)
    "vinnytsia": ("UA", ("vinnytsia", "vinnitsya", "vinnitsa", "winnyzja", "winniza")),
    "zhytomyr": ("UA", ("zhytomyr", "zhitomir", "schytomyr", "zytomierz")),
    "cherkasy": ("UA", ("cherkasy", "cherkasi", "cherkassy", "tscherkassy")),
    "chernihiv": ("UA", ("chernihiv", "chernigiv", "chernigov", "tschernihiw")),
    "chernivtsi": ("UA", ("chernivtsi", "chernovtsy", "czernowitz", "czerniowce")),
    "ivano frankivsk": ("UA", ("ivano frankivsk", "ivano frankovsk", "stanislau")),
    "khmelnytskyi": ("UA", ("khmelnytskyi", "khmelnytskyy", "khmelnitskiy", "khmelnitsky")),
    "kropyvnytskyi": ("UA", ("kropyvnytskyi", "kropyvnytskyy", "kropivnitskiy", "kirovohrad", "kirovograd")),
    "lutsk": ("UA", ("lutsk", "luck", "luzk")),
    "mykolaiv": ("UA", ("mykolaiv", "mikolaiv", "nikolaev", "nikolajew")),
    "poltava": ("UA", ("poltava", "poltawa")),
    "rivne": ("UA", ("rivne", "rovno", "riwne", "rowne")),
    "sumy": ("UA", ("sumy", "sumi")),
    "ternopil": ("UA", ("ternopil", "ternopol", "tarnopol")),
    "uzhhorod": ("UA", ("uzhhorod", "uzhgorod", "ungwar")),
    "zaporizhzhia": ("UA", ("zaporizhzhia", "zaporizhzhya", "zaporizhia", "zaporozhye", "zaporozhe",
                            "saporischschja")),
    "kherson": ("UA", ("kherson", "cherson")),
    "minsk": ("BY", ("minsk",)),
    "moskva": ("RU", ("moskva", "moscow", "moskau", "moscou")),
    "sankt peterburg": ("RU", ("sankt peterburg", "saint petersburg", "st petersburg", "sankt petersburg",
                               "st peterburg", "spb", "petersburg")),
    "novosibirsk": ("RU", ("novosibirsk",)),
    "ekaterinburg": ("RU", ("ekaterinburg", "yekaterinburg", "jekaterinburg")),
    "kazan": ("RU", ("kazan",)),
    "riga": ("LV", ("riga",)),
    "vilnius": ("LT", ("vilnius", "vilnius", "wilna", "vilnjus")),
    "tallinn": ("EE", ("tallinn", "tallin")),
    "almaty": ("KZ", ("almaty", "alma ata")),
    "tbilisi": ("GE", ("tbilisi", "tiflis")),
    "istanbul": ("TR", ("istanbul", "stambul")),
    # Western Europe
    "london": ("GB", ("london",)),
    "manchester": ("GB", ("manchester",)),
    "dublin": ("IE", ("dublin",)),
    "paris": ("FR", ("paris", "parizh")),
    "lyon": ("FR", ("lyon",)),
    "amsterdam": ("NL", ("amsterdam",)),
    "rotterdam": ("NL", ("rotterdam",)),
    "bruxelles": ("BE", ("bruxelles", "brussels", "brussel", "brussel")),
    "luxembourg": ("LU", ("luxembourg", "luxemburg")),
    "kobenhavn": ("DK", ("kobenhavn", "copenhagen", "kopenhagen")),
    "stockholm": ("SE", ("stockholm",)),
    "oslo": ("NO", ("oslo",)),
    "helsinki": ("FI", ("helsinki", "helsingfors")),
    "madrid": ("ES", ("madrid",)),
    "barcelona": ("ES", ("barcelona",)),
    "lisboa": ("PT", ("lisboa", "lisbon", "lissabon")),
    "roma": ("IT", ("roma", "rome", "rom")),
    "milano": ("IT", ("milano", "milan", "mailand")),
    "athina": ("GR", ("athina", "athens", "athen", "afiny")),
    "new york": ("US", ("new york", "new york city", "nyc", "niu iork")),
}
_CITY_ALIASES: dict[str, str] = {
    alias: canonical for canonical, (_, aliases) in _CITIES.items() for alias in (canonical, *aliases)
}
_CITY_COUNTRY: dict[str, str] = {canonical: country for canonical, (country, _) in _CITIES.items()}


def _deletions(text: str, depth: int) -> set[str]:
    """text with up to depth letters deleted: two strings within depth edits share such a variant."""
    variants = {text}
    for _ in range(depth):
        variants |= {v[:i] + v[i + 1:] for v in variants for i in range(len(v))}
    return variants


# Symmetric-deletion index of the known spellings (aliases of 5+ letters): a typo is looked up through
# its own deletion variants instead of being compared with every alias.
_MIN_FUZZY_CITY = 5
_CITY_TYPO_INDEX: dict[str, set[str]] = {}
for _alias in _CITY_ALIASES:
    if len(_alias) >= _MIN_FUZZY_CITY:
        for _variant in _deletions(_alias, 2):
            _CITY_TYPO_INDEX.setdefault(_variant, set()).add(_alias)


def _fold_latin(text: str) -> str:
    """Any script to lower-case ASCII letters, digits and single spaces."""
    text = unicodedata.normalize("NFKC", text)
    # Umlauts typed as digraphs (Koeln, Mueller) meet their transliterated form (Köln -> koln).
    text = anyascii(text).lower()
    text = re.sub(r"['`´’ʹʼ]", "", text)  # Natal'ya: the soft sign is not a word break
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return text.strip()


def _within_edits(a: str, b: str, limit: int) -> bool:
    """Optimal-string-alignment distance of a and b is at most limit (typos incl. swapped letters)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return False
        previous2, previous = previous, current
    return previous[-1] <= limit


@lru_cache(maxsize=_CACHE_SIZE)
def city_key(raw: str | None) -> str | None:
    """Folded city name; known spellings, translations and typos of them meet on one key.

    Köln, Koeln, Cologne and Colgone all give "koln". An unknown city keeps its folded spelling.
    """
    if raw is None:
        return None
    folded = _fold_latin(raw)
    if not folded or not re.search(r"[a-z]", folded):
        return None
    folded = re.sub(r"(?<=[a-z])(ae|oe|ue)", lambda m: m.group(1)[0], folded)
    if folded in _CITY_ALIASES:
        return _CITY_ALIASES[folded]
    # A typo of a known spelling: accept it only when it is close to exactly one city, and allow fewer
    # edits for short names (Bonn / Bern are one letter apart).
    limit = 1 if len(folded) < 8 else 2
    if len(folded) >= _MIN_FUZZY_CITY:
        candidates = set().union(*(_CITY_TYPO_INDEX.get(v, ()) for v in _deletions(folded, limit)))
        near = {_CITY_ALIASES[alias] for alias in candidates if _within_edits(folded, alias, limit)}
        if len(near) == 1:
            return near.pop()
    return folded


def country_for_city(raw: str | None) -> str | None:
    """ISO country of a known city, None when the city is not in the map."""
    key = city_key(raw)
    return _CITY_COUNTRY.get(key) if key else None


# ---------------------------------------------------------------------------------------------------
# E-mail

_EMAIL = re.compile(r"^[^@\s]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.[a-z]{2,}$")
_DOT_INSENSITIVE_DOMAINS = {"gmail.com"}
_DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
# Characters people paste around an address: no-break and zero-width spaces, fullwidth forms (NFKC
# turns those into ASCII), a trailing dot on the domain.
_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


@lru_cache(maxsize=_CACHE_SIZE)
def email_key(raw: str | None) -> str | None:
    """Mailbox key: lower case, +tag dropped, gmail dots dropped, googlemail.com -> gmail.com; pasted
    invisible characters, fullwidth forms and a trailing root dot do not matter."""
    if raw is None:
        return None
    text = (raw if raw.isascii() else unicodedata.normalize("NFKC", raw)).strip().lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:"):]
    text = _INVISIBLE.sub("", text).strip("<>")
    text = text.rstrip(".")  # anna@gmail.com. (the root dot of a fully qualified domain)
    if not _EMAIL.match(text):
        return None
    local, domain = text.rsplit("@", 1)
    domain = _DOMAIN_ALIASES.get(domain, domain)
    # Sub-addressing (local+tag@domain reaches local@domain, RFC 5233) is near-universal: Gmail,
    # Outlook.com, iCloud, Proton, Fastmail, Yandex, Posteo, mailbox.org, and custom domains on
    # Microsoft 365 or Google Workspace. Where a provider has none (GMX), its mailbox names cannot hold
    # a "+" (letters, digits, dot, dash, underscore), so local+tag is no other person's mailbox there
    # either: the tag is dropped at every provider. Dots only where the provider ignores them (Gmail).
    local = local.split("+", 1)[0]
    if domain in _DOT_INSENSITIVE_DOMAINS:
        local = local.replace(".", "")
    if not local:
        return None
    return f"{local}@{domain}"


# ---------------------------------------------------------------------------------------------------
# Phone


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Parsing is most of a phone key's cost, and phone_key and phone_national_key parse the same
    value one after the other: once is enough. (Callers only read the result.)"""
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _regions(default_region: str) -> tuple[str, ...]:
    """"DE" or "DE,RU,UA": the default region and the fallbacks, in order."""
    return tuple(r.strip().upper() for r in default_region.split(",") if r.strip())


def _typed_national_prefix(region: str, digits: str) -> bool:
    """The digits start as a national number of the region is dialled: with its trunk prefix (0 in
    Germany, 8 in Russia), or in any way where the region has none (Poland, Italy)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = metadata.national_prefix if metadata is not None else None
    return not prefix or digits.startswith(prefix)


@lru_cache(maxsize=_CACHE_SIZE)
def _phone_number(raw: str, city: str | None, default_region: str) -> phonenumbers.PhoneNumber | None:
    """The number as dialled. With a country code (+49, 0049, (+49)) the code decides. Without one the
    region is the city's country when the city map knows it, else the default region; the default
    region may be followed by fallbacks ("DE,RU,UA"). The first of these regions in which the number is
    valid and typed as there (a trunk prefix where the region has one) wins: 8 (911) 930-07-56 is a
    Russian mobile number, not a Munich landline, 0171 2345678 a German one. When none fits, the first
    region's reading is kept (numbering plans change faster than the metadata)."""
    text = (raw if raw.isascii() else unicodedata.normalize("NFKC", raw)).strip()
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    regions = _regions(default_region) or (DEFAULT_PHONE_REGION,)
    own = country_for_city(city)
    candidates = tuple(dict.fromkeys(((own,) if own else ()) + regions))
    if re.match(r"^[^0-9+]*\+", text) is not None:
        return _parse_phone(text, candidates[0])
    if digits.startswith("00"):  # 0049 ..., 007 ...: the international prefix of most of Europe
        return _parse_phone(re.sub(r"^([^0-9]*)00", r"\1+", text), candidates[0])
    for region in candidates:
        if not _typed_national_prefix(region, digits):
            continue
        number = _parse_phone(text, region)
        if number is not None and phonenumbers.is_valid_number(number):
            return number
    return _parse_phone(text, candidates[0])


@lru_cache(maxsize=_CACHE_SIZE)
def phone_key(raw: str | None, city: str | None = None, default_region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164 number. A number without +/00 country code is read in the country of the record's city,
    else in the default region or its fallbacks (see _phone_number)."""
    if raw is None:
        return None
    number = _phone_number(raw, city, default_region)
    if number is None:
        return None
    # Possible (right length for the country) rather than valid: numbering plans change faster than
    # the metadata, and a phone never merges two records on its own anyway.
    if not phonenumbers.is_possible_number(number) or len(str(number.national_number)) < _MIN_PHONE_DIGITS:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=_CACHE_SIZE)
def phone_national_key(raw: str | None, city: str | None = None,
                       default_region: str = DEFAULT_PHONE_REGION) -> str | None:
    """The national significant number, without country code or trunk prefix.

    A number typed without a country code on a record without a known city is read in the default
    region (or a fallback), which may be the wrong country: 079 9060892 (Swiss, no city given) and
    +41 79 906 08 92 get different E.164 keys but one national number. Only for comparing records that
    agree on more.
    """
    if raw is None:
        return None
    number = _phone_number(raw, city, default_region)
    if number is None:
        return None
    national = str(number.national_number)
    return national if len(national) >= _MIN_PHONE_DIGITS else None


# ---------------------------------------------------------------------------------------------------
# IBAN


# "IBAN DE89 ...", "IBAN: DE89...": the label printed on statements, pasted with the number.
_IBAN_LABEL = re.compile(r"^\s*iban\b\s*:?", re.IGNORECASE)


@lru_cache(maxsize=_CACHE_SIZE)
def iban_key(raw: str | None) -> str | None:
    """Compact upper-case IBAN; None when the structure or the checksum is wrong (a typo is no key).

    Whatever separates the groups (spaces of any kind, dashes, dots, slashes, underscores) and the
    case do not matter: DE48-5353-0915-5563-0183-58, de48 5353 0915 5563 0183 58 and
    DE48.5353.0915.5563.0183.58 are one key."""
    if raw is None:
        return None
    text = _IBAN_LABEL.sub("", unicodedata.normalize("NFKC", raw))
    text = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    if not text:
        return None
    try:
        return IBAN(text).compact
    except Exception:  # schwifty raises several exception types, all meaning "not a valid IBAN"
        return None


def iban_masked(raw: str | None) -> str | None:
    """The IBAN as evidence shows it: country and last four characters (DE…0158); None when no key."""
    key = iban_key(raw)
    return None if key is None else f"{key[:2]}…{key[-4:]}"


# ---------------------------------------------------------------------------------------------------
# Profile URL

# Country and mobile sub-domains of the big networks point at the same profile.
_HOST_FAMILIES = ("linkedin.com", "xing.com", "facebook.com", "github.com")


@lru_cache(maxsize=_CACHE_SIZE)
def profile_key(raw: str | None) -> str | None:
    """host + path, lower case, without scheme, www., query, fragment or trailing slash."""
    if raw is None:
        return None
    text = raw.strip().lower()
    if not text:
        return None
    if "://" not in text:
        text = "//" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    for family in _HOST_FAMILIES:
        if host.endswith("." + family):
            host = family
    if "." not in host:
        return None
    path = re.sub(r"/+", "/", unquote(parts.path)).rstrip("/")
    # A bare host (linkedin.com) is a site, not a person.
    if not path:
        return None
    return host + path


# ---------------------------------------------------------------------------------------------------
# Names
#
# Names are transliterated to Latin, then folded so that the usual transliteration systems for
# Russian / Ukrainian (English, German, Polish, scholarly, passport) and German umlaut spellings meet:
# Sergey / Sergei / Serhii / Sergej, Yulia / Iuliia / Julija, Petrov / Petrow, Shchukin / Schtschukin /
# Szczukin, Mikhail / Michail, Chekhov / Tschechow / Czechow, Kuznetsov / Kusnezow / Kuznecow,
# Zhukov / Shukow / Żukow. The key is deliberately lossy (ч, х and г all become h; з, с and ц all become
# s, because German writes з as s and ц as z): it is only compared, never shown as a name, and a merge
# always needs more than the name.
#
# Folding happens in three steps on each token: letter clusters of one Cyrillic sound become a
# placeholder (upper case, so that no later rule rewrites them), single Latin letters are merged, and
# the placeholders become lower-case letters again.

# Ordered: longer clusters must be rewritten before their parts.
_NAME_RULES: tuple[tuple[str, str], ...] = (
    ("x", "ks"),  # Alexander / Aleksandr
    # щ: English shch, German schtsch, Polish szcz
    ("schtsch", "Q"), ("shtsh", "Q"), ("szcz", "Q"), ("shch", "Q"),
    # ч: German tsch, Polish cz, English ch (below, one letter with х)
    ("tsch", "H"), ("cz", "H"),
    # ш and ж: German sch (both), Polish sz and ż (written zh, see _name_fold_latin), English sh and zh
    ("sch", "S"), ("sz", "S"), ("zh", "S"), ("sh", "S"),
    # х: English kh, German and Polish ch; English ч is ch too: one letter for both
    ("kh", "H"), ("ch", "H"),
    ("ph", "f"),
    ("ck", "k"),
    ("q", "k"),
    # ц: English ts, German z or tz, Polish c; з: English/Polish z, German s; с: s everywhere
    ("tz", "s"), ("ts", "s"), ("z", "s"), ("c", "s"),
    ("w", "v"),  # -ow / -ov, Wladimir / Vladimir
    ("y", "i"),  # й, ы and the i of я/ю/ё in every system
    ("j", "i"),
    ("g", "h"),  # Ukrainian г is h: Serhii / Sergey, Olha / Olga
    ("ae", "a"),  # German umlaut digraphs: Mueller / Müller
    ("oe", "o"),
    ("ue", "u"),
    ("Q", "shch"),
    ("S", "sh"),
    ("H", "h"),
)
_DOUBLE_LETTER = re.compile(r"([a-z])\1+")

# Letters that anyascii folds into a plain letter although they stand for a sound of their own in the
# transliteration of Cyrillic: Polish ż is ж (zh), not з (z); Russian ё is yo (Fyodor, Fjodor, Fiodor),
# not e.
_NAME_LETTERS = str.maketrans({"ż": "zh", "Ż": "Zh", "ё": "yo", "Ё": "Yo"})
# ...and yet ё is typed as е at least as often, in Cyrillic and in Latin (Королёв / Королев, Korolyov /
# Korolev, Pyotr / Petr / Piotr): io between consonants becomes e. (Latin names pay for it: Marion and
# Maren meet. A key is only compared, and a merge always needs more than the name.)
_YO = re.compile(r"(?<=[bdfhklmnprstv])io(?=[bdfhklmnprstv])")

# Ukrainian, Russian and German forms of one given name: a person writes the form of the document or
# of the country they live in (Олександр / Александр: Oleksandr, Aleksandr, Alexander). Each group is
# folded like any name and its members are replaced by the group's first form. Pairs that fold to the
# same key anyway (Serhii / Sergey, Andrii / Andrey, Yurii / Yuri) need no entry.
_GIVEN_NAME_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Oleksandr", "Aleksandr", "Alexander", "Alexandr", "Aleksander", "Olexandr", "Oleksander",
     "Oleksandro", "Alexandre"),
    ("Oleksii", "Aleksey", "Alexey", "Aleksei", "Alexei", "Alexej", "Oleksiy", "Oleksij", "Olexii",
     "Aleksiy"),
    ("Mykola", "Nikolay", "Nikolai", "Nikolaj", "Mikola"),
    ("Volodymyr", "Vladimir", "Wladimir", "Wolodymyr", "Volodimir", "Vladimyr", "Wolodimir"),
    ("Mykhailo", "Mikhail", "Michail", "Mihail", "Mykhaylo", "Mychajlo", "Mikhailo"),
    ("Pavlo", "Pavel", "Pawel", "Pawlo"),
    ("Dmytro", "Dmitry", "Dmitriy", "Dmitrii", "Dmitri", "Dmitrij", "Dmitro"),
    ("Yevhen", "Evgeny", "Evgenii", "Evgeniy", "Yevgeniy", "Yevgeny", "Jewgeni", "Jewgenij", "Ievgen",
     "Ievhen", "Evgen", "Yevgen"),
    ("Artem", "Artyom", "Artjom", "Artiom"),
    ("Viktor", "Victor", "Wiktor"),
    ("Vasyl", "Vasily", "Vasiliy", "Vasilii", "Wassili", "Wasyl"),
    ("Fedir", "Fedor", "Fyodor", "Fiodor"),
    ("Yakiv", "Yakov", "Jakow", "Iakov"),
    ("Olena", "Elena", "Yelena", "Jelena", "Helena"),
    ("Tetiana", "Tatiana", "Tatyana", "Tatjana", "Tetyana"),
    ("Kateryna", "Ekaterina", "Katerina", "Yekaterina", "Jekaterina", "Katharina"),
    ("Viktoriia", "Viktoria", "Victoria", "Wiktorija", "Viktoriya"),
    ("Svitlana", "Svetlana", "Swetlana"),
    ("Liudmyla", "Lyudmila", "Ludmila", "Ljudmila", "Liudmila"),
)

# Patronymics (Васильович / Vasilyevich / Wassiljewitsch / Wasylowycz, Ивановна / Iwanowna, Петрівна)
# as they end after folding. The middle part is the first thing people leave out, so it is not part of
# the name key: Aleksandr Vasilyevich Kuznetsov and Kusnezow Alexander meet. Bare -ich (Ilyich) is not
# matched: it would take German surnames (Friedrich, Dietrich) for patronymics.
_PATRONYMIC = re.compile(r"(?:ovih|evih|ovna|evna|ivna|ihna)$")
_MIN_PATRONYMIC = 6


def _name_fold_latin(text: str) -> str:
    return _fold_latin(text.translate(_NAME_LETTERS))


def _fold_name_token(token: str) -> str:
    for old, new in _NAME_RULES:
        token = token.replace(old, new)
    token = _DOUBLE_LETTER.sub(r"\1", token)  # Iuliia / Yulia, Kirill / Kiril
    token = _YO.sub("e", token)
    if token.startswith("ie") and len(token) > 3:  # Yevgeny / Evgeny, Jelena / Elena
        token = token[1:]
    if token.endswith("ei") and len(token) > 3:  # Sergei / Serhii, Andrei / Andrii
        token = token[:-2] + "i"
    return token


_GIVEN_NAMES: dict[str, str] = {}
for _group in _GIVEN_NAME_GROUPS:
    _canonical = _fold_name_token(_name_fold_latin(_group[0]))
    for _spelling in _group:
        _GIVEN_NAMES[_fold_name_token(_name_fold_latin(_spelling))] = _canonical
# A typo in one of these spellings must stay close to the key (Niklai is one edit from Nikolai, but
# four from the group's form Mykola): folded tokens of this length or more within one edit of the
# spellings of exactly one group take that group's form, unless the edit is a feminine -a. Deletion
# index as for cities.
_MIN_FUZZY_GIVEN = 5
_GIVEN_TYPO_INDEX: dict[str, set[str]] = {}
for _spelling in _GIVEN_NAMES:
    if len(_spelling) >= _MIN_FUZZY_GIVEN:
        for _variant in _deletions(_spelling, 1):
            _GIVEN_TYPO_INDEX.setdefault(_variant, set()).add(_spelling)


def _given_name(token: str) -> str:
    """The group form of a known given-name spelling or of a one-edit typo of one."""
    if token in _GIVEN_NAMES:
        return _GIVEN_NAMES[token]
    if len(token) < _MIN_FUZZY_GIVEN:
        return token
    candidates = set().union(*(_GIVEN_TYPO_INDEX.get(v, ()) for v in _deletions(token, 1)))
    # ...but never across the feminine -a (Aleksandr / Aleksandra, Evgeni / Evgenia are two people)
    groups = {_GIVEN_NAMES[c] for c in candidates
              if _within_edits(token, c, 1) and token.endswith("a") == c.endswith("a")}
    return groups.pop() if len(groups) == 1 else token


def is_patronymic(token: str) -> bool:
    """A folded name token that looks like a patronymic (ivanovih, petrivna)."""
    return len(token) >= _MIN_PATRONYMIC and bool(_PATRONYMIC.search(token))


def _folded_tokens(raw: str) -> list[str]:
    """Folded tokens in the order typed, given names replaced by their group's form."""
    folded = _name_fold_latin(raw)
    tokens = (_fold_name_token(t) for t in folded.split() if not t.isdigit())
    return [_given_name(t) for t in tokens if t]


def _without_patronymic(tokens: list[str]) -> list[str]:
    """Drop patronymic-looking tokens, but never the first token typed and never below two tokens: a
    patronymic comes after the given name (Ivan Petrovich Sidorov) or last (Sidorov Ivan Petrovich), and
    a two-part name is given name and surname (a surname such as Abramovich stays)."""
    kept = list(tokens)
    for i in range(len(tokens) - 1, 0, -1):
        if len(kept) > 2 and is_patronymic(tokens[i]):
            del kept[i]
    return kept


@lru_cache(maxsize=_CACHE_SIZE)
def name_tokens(raw: str | None) -> tuple[str, ...]:
    """Folded name tokens without the patronymic, in sorted order, so word order does not matter."""
    if raw is None:
        return ()
    return tuple(sorted(_without_patronymic(_folded_tokens(raw))))


def name_key(raw: str | None) -> str | None:
    """Folded, transliterated name with its tokens sorted; None when no letters are left."""
    tokens = name_tokens(raw)
    return " ".join(tokens) if tokens else None


def _edits_at_most_one(a: str, b: str) -> bool:
    return a == b or _within_edits(a, b, 1)


def names_nest(a: str | None, b: str | None) -> bool:
    """One name key lies within the other, allowing a typo per token: every token of the shorter name
    (of at least two tokens) matches its own token of the longer one within one edit.

    Jan Hahn / Jan Peter Han, Julai Lang / Julia Christoph Lang: a middle name left out and a slip of
    the keyboard in the same record. Equal keys nest too.
    """
    if not a or not b:
        return False
    short, long_ = sorted((a.split(), b.split()), key=len)
    if len(short) < 2:
        return False
    free = list(long_)
    for token in short:
        match = next((t for t in free if t == token), None) or next(
            (t for t in free if _edits_at_most_one(token, t)), None)
        if match is None:
            return False
        free.remove(match)
    return True


# ---------------------------------------------------------------------------------------------------
# Every kind of key, for identity resolution's cache of keys per raw value (sql/identity/new_keys.sql)

def keys_of(kinds: list[str], raws: list[str | None], cities: list[str | None],
            phone_region: str = DEFAULT_PHONE_REGION) -> list[str | None]:
    """The key of each (kind, raw value, the record's city) in order; the city only matters to phones.

    A module-level function of plain lists, so that a process pool can run it on a share of a batch."""
    key_of = {
        "name": lambda raw, city: name_key(raw),
        "email": lambda raw, city: email_key(raw),
        "phone": lambda raw, city: phone_key(raw, city, phone_region),
        "phone_national": lambda raw, city: phone_national_key(raw, city, phone_region),
        "iban": lambda raw, city: iban_key(raw),
        "iban_masked": lambda raw, city: iban_masked(raw),
        "city": lambda raw, city: city_key(raw),
        "profile": lambda raw, city: profile_key(raw),
    }
    return [key_of[kind](raw, city) for kind, raw, city in zip(kinds, raws, cities)]

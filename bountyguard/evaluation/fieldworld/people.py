"""People and the way they, and others, type them into a platform.

A `Person` is the real human being; everything a record shows (name, e-mail, phone, IBAN, city) is
rendered from the person by one of three typists:
- "self": the person fills in their own form (consistent habits, small drift);
- "other": somebody else types them (a referrer entering a candidate: other transliteration,
  diacritics lost, a phone in another format, often no birth date);
- "disguise": the person hides on purpose (another alias, another script, order swapped, a typo).
"""
from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass, field

# ------------------------------------------------------------------------------------------ names


@dataclass(frozen=True)
class Name:
    native: str  # as the person writes it at home (Cyrillic, or Latin with diacritics)
    latin: tuple[str, ...]  # Latin spellings; the first is the passport / most common one

    @property
    def cyrillic(self) -> bool:
        return any("\u0400" <= ch <= "\u04ff" for ch in self.native)


_FOLD = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
_STRIP = {"ł": "l", "Ł": "L", "ß": "ss", "ı": "i", "İ": "I", "ø": "o", "đ": "d"}


def strip_diacritics(s: str) -> str:
    s = "".join(_STRIP.get(ch, ch) for ch in s)
    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))


def fold_german(s: str) -> str:
    return strip_diacritics("".join(_FOLD.get(ch, ch) for ch in s))


def latin_name(native: str) -> Name:
    forms = [native]
    for f in (fold_german(native), strip_diacritics(native)):
        if f not in forms:
            forms.append(f)
    return Name(native, tuple(forms))


DE_MALE = ["Thomas", "Michael", "Andreas", "Stefan", "Jürgen", "Markus", "Daniel", "Jan", "Lukas", "Felix",
           "Maximilian", "Jonas", "Sebastian", "Tobias", "Björn", "Jörg", "Uwe", "Christian", "Alexander",
           "Matthias", "Florian", "Tim", "Niklas", "Philipp", "Sören", "Kai", "Dominik", "Moritz", "Jens"]
DE_FEMALE = ["Anna", "Julia", "Katharina", "Sarah", "Lisa", "Laura", "Sabine", "Petra", "Claudia", "Jana",
             "Lena", "Sophie", "Marie", "Christina", "Nicole", "Hannah", "Lea", "Charlotte", "Franziska",
             "Maren", "Birgit", "Jessica", "Carolin", "Kerstin", "Jülide", "Annika"]
DE_FAMILY = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
             "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
             "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
             "Krause", "Meier", "Lehmann", "Köhler", "Weiß", "Jäger", "Groß", "Böhm", "Günther", "Vogel",
             "Kühn", "Fuchs", "Lorenz", "Dietrich", "Möller", "Schütz", "Brandt", "Haas", "Pohl", "Franke"]

PL_MALE = ["Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Łukasz", "Marcin", "Jakub",
           "Mateusz", "Kamil", "Grzegorz", "Wojciech", "Bartłomiej", "Rafał", "Przemysław"]
PL_FEMALE = ["Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Magdalena", "Joanna", "Monika", "Aleksandra",
             "Natalia", "Zofia", "Justyna", "Dorota", "Żaneta", "Beata"]
# (masculine, feminine)
PL_FAMILY = [("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"), ("Wójcik", "Wójcik"),
             ("Kowalczyk", "Kowalczyk"), ("Kamiński", "Kamińska"), ("Lewandowski", "Lewandowska"),
             ("Zieliński", "Zielińska"), ("Szymański", "Szymańska"), ("Woźniak", "Woźniak"),
             ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"), ("Jankowski", "Jankowska"),
             ("Mazur", "Mazur"), ("Kwiatkowski", "Kwiatkowska"), ("Krawczyk", "Krawczyk"),
             ("Piotrowski", "Piotrowska"), ("Grabowski", "Grabowska"), ("Pawłowski", "Pawłowska"),
             ("Michalski", "Michalska"), ("Król", "Król"), ("Wieczorek", "Wieczorek")]

TR_MALE = ["Mehmet", "Ahmet", "Mustafa", "Ali", "Emre", "Can", "Murat", "Hüseyin", "Burak", "Oğuz"]
TR_FEMALE = ["Ayşe", "Fatma", "Elif", "Zeynep", "Emine", "Büşra", "Merve", "Özlem"]
TR_FAMILY = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın", "Özdemir", "Arslan",
             "Doğan", "Kılıç", "Koç", "Kurt"]

EN_MALE = ["James", "Rahul", "Carlos", "David", "Marco", "Arjun", "Luis", "Ahmed", "John", "Wei"]
EN_FEMALE = ["Priya", "Maria", "Sofia", "Emma", "Laura", "Fatima", "Ana", "Chloe", "Mei", "Sara"]
EN_FAMILY = ["Smith", "Patel", "Sharma", "García", "Rossi", "Kim", "Silva", "Fernández", "Khan", "Chen",
             "Nguyen", "Jones", "O'Brien", "Kumar"]

# Ukrainian and Russian names: Cyrillic with the Latin spellings seen in passports, German and Polish
# transliteration and Russified forms; the first Latin form is the Ukrainian passport (KMU 2010) one.
UA_MALE = [
    ("Олександр", ("Oleksandr", "Olexandr", "Aleksandr", "Alexander", "Oleksander")),
    ("Андрій", ("Andrii", "Andriy", "Andrij", "Andrey", "Andrej")),
    ("Дмитро", ("Dmytro", "Dmitro", "Dmitry", "Dmitrij")),
    ("Сергій", ("Serhii", "Serhiy", "Sergii", "Sergey", "Sergej")),
    ("Володимир", ("Volodymyr", "Wolodymyr", "Vladimir", "Wladimir")),
    ("Микола", ("Mykola", "Mikola", "Nikolai", "Mykola")),
    ("Віталій", ("Vitalii", "Vitaliy", "Vitali", "Witalij")),
    ("Юрій", ("Yurii", "Yuriy", "Iurii", "Jurij", "Yuri")),
    ("Максим", ("Maksym", "Maksim", "Maxim", "Maxym")),
    ("Богдан", ("Bohdan", "Bogdan")),
    ("Тарас", ("Taras",)),
    ("Євген", ("Yevhen", "Ievgen", "Evgeny", "Jewgen", "Yevgen")),
    ("Ігор", ("Ihor", "Igor", "Ihor")),
    ("Олег", ("Oleh", "Oleg")),
]
UA_FEMALE = [
    ("Олена", ("Olena", "Elena", "Jelena")),
    ("Наталія", ("Nataliia", "Natalia", "Nataliya", "Natalija")),
    ("Юлія", ("Yuliia", "Iuliia", "Yulia", "Julia", "Julija")),
    ("Ірина", ("Iryna", "Irina")),
    ("Тетяна", ("Tetiana", "Tetyana", "Tatiana", "Tatjana")),
    ("Оксана", ("Oksana",)),
    ("Світлана", ("Svitlana", "Svetlana", "Swetlana")),
    ("Катерина", ("Kateryna", "Katerina", "Jekaterina")),
    ("Анастасія", ("Anastasiia", "Anastasia", "Anastasiya", "Anastasija")),
    ("Марія", ("Mariia", "Maria", "Mariya")),
    ("Вікторія", ("Viktoriia", "Viktoria", "Wiktorija")),
]
UA_FAMILY = [
    ("Шевченко", ("Shevchenko", "Schewtschenko", "Szewczenko", "Sevcenko")),
    ("Коваленко", ("Kovalenko", "Kowalenko")),
    ("Бондаренко", ("Bondarenko",)),
    ("Ткаченко", ("Tkachenko", "Tkatschenko", "Tkaczenko")),
    ("Кравченко", ("Kravchenko", "Krawtschenko", "Krawczenko")),
    ("Олійник", ("Oliinyk", "Oliynyk", "Olijnyk", "Olejnik")),
    ("Мельник", ("Melnyk", "Melnik", "Melnyk")),
    ("Коваль", ("Koval", "Kowal")),
    ("Бойко", ("Boiko", "Boyko", "Bojko")),
    ("Ковальчук", ("Kovalchuk", "Kowaltschuk", "Kowalczuk")),
    ("Поліщук", ("Polishchuk", "Polischuk", "Poliszczuk")),
    ("Савченко", ("Savchenko", "Sawtschenko", "Sawczenko")),
    ("Руденко", ("Rudenko",)),
    ("Лисенко", ("Lysenko", "Lisenko", "Lyssenko")),
    ("Марченко", ("Marchenko", "Martschenko", "Marczenko")),
    ("Мороз", ("Moroz", "Moros")),
    ("Петренко", ("Petrenko",)),
    ("Клименко", ("Klymenko", "Klimenko")),
    ("Павленко", ("Pavlenko", "Pawlenko")),
    ("Гончаренко", ("Honcharenko", "Goncharenko", "Hontscharenko")),
]
# patronymic stem -> (masculine Cyrillic, masculine Latin, feminine Cyrillic, feminine Latin)
UA_PATRONYMIC = [
    ("Олександрович", "Oleksandrovych", "Олександрівна", "Oleksandrivna"),
    ("Іванович", "Ivanovych", "Іванівна", "Ivanivna"),
    ("Петрович", "Petrovych", "Петрівна", "Petrivna"),
    ("Васильович", "Vasylovych", "Василівна", "Vasylivna"),
    ("Михайлович", "Mykhailovych", "Михайлівна", "Mykhailivna"),
    ("Миколайович", "Mykolaiovych", "Миколаївна", "Mykolaivna"),
    ("Володимирович", "Volodymyrovych", "Володимирівна", "Volodymyrivna"),
]
RU_MALE = [
    ("Алексей", ("Aleksei", "Alexey", "Alexej", "Aleksey")),
    ("Дмитрий", ("Dmitrii", "Dmitry", "Dmitrij")),
    ("Сергей", ("Sergei", "Sergey", "Sergej")),
    ("Иван", ("Ivan", "Iwan")),
    ("Николай", ("Nikolai", "Nikolay", "Nikolaj")),
    ("Евгений", ("Evgenii", "Evgeny", "Jewgeni", "Yevgeniy")),
]
RU_FEMALE = [
    ("Екатерина", ("Ekaterina", "Yekaterina", "Jekaterina")),
    ("Ольга", ("Olga", "Olga")),
    ("Наталья", ("Natalia", "Natalya", "Natalja")),
    ("Татьяна", ("Tatiana", "Tatyana", "Tatjana")),
    ("Юлия", ("Iuliia", "Yulia", "Julia")),
]
# (masculine Cyrillic, masculine Latin forms, feminine Cyrillic, feminine Latin forms)
RU_FAMILY = [
    ("Иванов", ("Ivanov", "Iwanow"), "Иванова", ("Ivanova", "Iwanowa")),
    ("Смирнов", ("Smirnov", "Smirnow"), "Смирнова", ("Smirnova", "Smirnowa")),
    ("Кузнецов", ("Kuznetsov", "Kusnezow", "Kuznecov"), "Кузнецова", ("Kuznetsova", "Kusnezowa")),
    ("Попов", ("Popov", "Popow"), "Попова", ("Popova", "Popowa")),
    ("Волков", ("Volkov", "Wolkow"), "Волкова", ("Volkova", "Wolkowa")),
    ("Соколов", ("Sokolov", "Sokolow"), "Соколова", ("Sokolova", "Sokolowa")),
]
RU_PATRONYMIC = [
    ("Александрович", "Aleksandrovich", "Александровна", "Aleksandrovna"),
    ("Викторович", "Viktorovich", "Викторовна", "Viktorovna"),
    ("Сергеевич", "Sergeevich", "Сергеевна", "Sergeevna"),
]
DE_MIDDLE_M = ["Maria", "Peter", "Johannes", "Friedrich", "Karl"]
DE_MIDDLE_F = ["Maria", "Luise", "Sophie", "Elisabeth", "Marie"]


def _zipf_choice(rng: random.Random, items: list, s: float = 0.9):
    weights = [1.0 / (i + 1) ** s for i in range(len(items))]
    return rng.choices(items, weights)[0]


def draw_name(rng: random.Random, culture: str, gender: str) -> tuple[Name, Name, Name | None]:
    """(given, family, middle-or-patronymic) for a person of this culture and gender."""
    male = gender == "m"
    if culture == "de":
        given = latin_name(_zipf_choice(rng, DE_MALE if male else DE_FEMALE, 0.6))
        family = latin_name(_zipf_choice(rng, DE_FAMILY, 0.9))
        middle = latin_name(rng.choice(DE_MIDDLE_M if male else DE_MIDDLE_F)) if rng.random() < 0.2 else None
    elif culture == "pl":
        given = latin_name(_zipf_choice(rng, PL_MALE if male else PL_FEMALE, 0.6))
        m, f = _zipf_choice(rng, PL_FAMILY, 0.8)
        family = latin_name(m if male else f)
        middle = None
    elif culture == "tr":
        given = latin_name(rng.choice(TR_MALE if male else TR_FEMALE))
        family = latin_name(_zipf_choice(rng, TR_FAMILY, 0.7))
        middle = None
    elif culture == "ua":
        c, forms = _zipf_choice(rng, UA_MALE if male else UA_FEMALE, 0.5)
        given = Name(c, forms)
        c, forms = _zipf_choice(rng, UA_FAMILY, 0.6)
        family = Name(c, forms)
        p = rng.choice(UA_PATRONYMIC)
        middle = Name(p[0], (p[1],)) if male else Name(p[2], (p[3],))
    elif culture == "ru":
        c, forms = rng.choice(RU_MALE if male else RU_FEMALE)
        given = Name(c, forms)
        fam = rng.choice(RU_FAMILY)
        family = Name(fam[0], fam[1]) if male else Name(fam[2], fam[3])
        p = rng.choice(RU_PATRONYMIC)
        middle = Name(p[0], (p[1],)) if male else Name(p[2], (p[3],))
    else:
        given = latin_name(rng.choice(EN_MALE if male else EN_FEMALE))
        family = latin_name(rng.choice(EN_FAMILY))
        middle = None
    return given, family, middle


def female_form(culture: str, family: Name) -> Name:
    """The feminine form of a (masculine) family name, for a family's daughter or wife."""
    if culture == "pl":
        for m, f in PL_FAMILY:
            if m == family.native:
                return latin_name(f)
    if culture == "ru":
        for fam in RU_FAMILY:
            if fam[0] == family.native:
                return Name(fam[2], fam[3])
    return family


def male_form(culture: str, family: Name) -> Name:
    if culture == "pl":
        for m, f in PL_FAMILY:
            if f == family.native:
                return latin_name(m)
    if culture == "ru":
        for fam in RU_FAMILY:
            if fam[2] == family.native:
                return Name(fam[0], fam[1])
    return family


# ------------------------------------------------------------------------------------------ places

# country -> [(canonical city, other spellings)]
CITIES = {
    "DE": [("Berlin", ()), ("Hamburg", ()), ("München", ("Muenchen", "Munich")), ("Köln", ("Koeln", "Cologne")),
           ("Frankfurt am Main", ("Frankfurt", "Frankfurt a.M.")), ("Stuttgart", ()),
           ("Düsseldorf", ("Duesseldorf", "Dusseldorf")), ("Leipzig", ()), ("Dresden", ()), ("Hannover", ()),
           ("Nürnberg", ("Nuernberg", "Nuremberg")), ("Bremen", ()), ("Essen", ()), ("Dortmund", ())],
    "AT": [("Wien", ("Vienna",)), ("Graz", ()), ("Linz", ()), ("Salzburg", ())],
    "CH": [("Zürich", ("Zurich", "Zuerich")), ("Basel", ()), ("Bern", ()), ("Genève", ("Geneva", "Genf"))],
    "PL": [("Warszawa", ("Warsaw", "Warschau")), ("Kraków", ("Krakow", "Cracow")), ("Wrocław", ("Wroclaw", "Breslau")),
           ("Poznań", ("Poznan",)), ("Gdańsk", ("Gdansk",)), ("Łódź", ("Lodz",)), ("Katowice", ())],
    "UA": [("Київ", ("Kyiv", "Kiev")), ("Львів", ("Lviv", "Lwów", "Lemberg")), ("Харків", ("Kharkiv", "Kharkov")),
           ("Одеса", ("Odesa", "Odessa")), ("Дніпро", ("Dnipro",)), ("Вінниця", ("Vinnytsia",))],
    "NL": [("Amsterdam", ()), ("Rotterdam", ()), ("Utrecht", ()), ("Eindhoven", ())],
}
# cities as commonly written in Latin by their inhabitants (Ukrainian cities: the first Latin spelling)
UNIVERSITY_DOMAINS = {"DE": ["tum.de", "campus.lmu.de", "smail.uni-koeln.de", "student.kit.edu", "fu-berlin.de"],
                      "PL": ["student.pwr.edu.pl", "student.uw.edu.pl", "student.agh.edu.pl"],
                      "UA": ["knu.ua", "lnu.edu.ua", "kpi.ua"], "AT": ["student.tuwien.ac.at"],
                      "CH": ["student.ethz.ch"], "NL": ["student.tudelft.nl"]}


def city_spelling(rng: random.Random, country: str, city: str, mode: str) -> str:
    other = ()
    for c, alts in CITIES[country]:
        if c == city:
            other = alts
            break
    latin_default = other[0] if (country == "UA" and other) else city
    if mode == "self":
        return latin_default if rng.random() < 0.85 or not other else rng.choice((city,) + other)
    if other and rng.random() < 0.4:
        return rng.choice((city,) + other)
    return latin_default


# ------------------------------------------------------------------------------------------ phones

MOBILE = {
    "DE": ("49", ["151", "152", "157", "159", "160", "162", "163", "170", "171", "172", "173", "174", "175",
                  "176", "177", "178", "179"], 3),
    "AT": ("43", ["664", "660", "676", "699", "650", "681"], 3),
    "CH": ("41", ["76", "77", "78", "79"], 2),
    "PL": ("48", ["501", "502", "509", "512", "530", "535", "600", "601", "602", "604", "605", "660", "661", "664",
                  "690", "691", "693", "695", "697", "720", "721", "724", "726", "780", "782", "785", "790",
                  "791", "793", "880", "881", "883", "885", "888"], 3),
    "UA": ("380", ["50", "63", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99"], 2),
    "RU": ("7", ["903", "905", "909", "911", "915", "916", "917", "921", "925", "926", "929"], 3),
    "NL": ("31", ["61", "62", "63", "64", "65"], 1),
}
DE_AREAS = ["30", "40", "89", "221", "69", "711", "211", "341", "351", "511", "911", "421", "201", "231"]
TRUNK = {"49": "0", "43": "0", "41": "0", "380": "0", "31": "0", "7": "8", "48": ""}


@dataclass(frozen=True)
class Phone:
    cc: str  # country calling code without '+'
    nsn: str  # national significant number (no trunk prefix)
    split: int  # length of the area / operator code inside nsn

    @property
    def e164(self) -> str:
        return f"+{self.cc}{self.nsn}"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def make_mobile(rng: random.Random, country: str) -> Phone:
    cc, prefixes, split = MOBILE[country]
    p = rng.choice(prefixes)
    if country == "DE":
        rest = 8 if p.startswith("15") else 7
    elif country == "PL":
        rest = 6
    else:
        rest = 7
    return Phone(cc, p + str(rng.randrange(2, 10)) + _digits(rng, rest - 1), split)


def make_landline(rng: random.Random) -> Phone:
    area = rng.choice(DE_AREAS)
    return Phone("49", area + str(rng.randrange(2, 10)) + _digits(rng, 10 - len(area) - 1), len(area))


def _group(rest: str, sep: str) -> str:
    if len(rest) == 7:
        return sep.join((rest[:3], rest[3:5], rest[5:]))
    if len(rest) == 8:
        return sep.join((rest[:4], rest[4:])) if sep == " " else sep.join((rest[:2], rest[2:4], rest[4:6], rest[6:]))
    if len(rest) == 6:
        return sep.join((rest[:3], rest[3:]))
    return rest


def format_phone(rng: random.Random, phone: Phone) -> str:
    """One way a human types this number (trunk prefix, brackets, dashes, spaces, +cc or 00cc)."""
    cc, nsn = phone.cc, phone.nsn
    a, rest = nsn[: phone.split], nsn[phone.split:]
    trunk = TRUNK[cc]
    if cc == "48":  # Poland: no trunk prefix, 3-3-3
        b, c = rest[:3], rest[3:]
        return rng.choice([f"{a} {b} {c}", f"+48 {a} {b} {c}", f"+48{nsn}", f"0048 {nsn}", f"{a}-{b}-{c}",
                           f"(+48) {a} {b} {c}", nsn, f"+48 {a}-{b}-{c}"])
    if cc == "7":  # Russia / Kazakhstan: trunk 8
        g = f"{rest[:3]}-{rest[3:5]}-{rest[5:]}"
        return rng.choice([f"8 ({a}) {g}", f"+7 {a} {g}", f"8{nsn}", f"+7 ({a}) {rest[:3]} {rest[3:5]} {rest[5:]}",
                           f"8-{a}-{g}", f"+7{nsn}"])
    if cc == "380":
        return rng.choice([f"+380 {a} {_group(rest, ' ')}", f"+38 (0{a}) {_group(rest, '-')}", f"0{a} {_group(rest, ' ')}",
                           f"0{nsn}", f"(0{a}) {_group(rest, '-')}", f"+380{nsn}", f"00380 {a} {rest}",
                           f"+38 0{a} {rest}"])
    styles = [f"+{cc} {a} {rest}", f"+{cc}{nsn}", f"00{cc} {a} {rest}", f"{trunk}{a} {rest}",
              f"({trunk}{a}) {_group(rest, ' ')}", f"+{cc} ({trunk}){a} {rest}", f"{trunk}{a}-{rest}",
              f"{trunk}{nsn}", f"+{cc} {a} {_group(rest, ' ')}"]
    if cc in ("49", "43"):
        styles += [f"{trunk}{a}/{rest}", f"{trunk}{a} / {_group(rest, ' ')}"]
    return rng.choice(styles)


# ------------------------------------------------------------------------------------------ IBANs

BANKS = {
    "DE": ["10010010", "20041133", "37040044", "50010517", "12030000", "70150000", "43060967", "50070010",
           "76010085", "10070024", "20050550", "60050101"],
    "AT": ["20111", "12000", "32000", "60000", "14000", "38000"],
    "CH": ["00762", "00235", "09000", "00700", "08390"],
    "PL": ["10901014", "10500086", "11402004", "10202892", "12401037", "11600006"],
    "UA": ["305299", "322001", "300528", "380805", "300346", "320649"],
    "NL": ["ABNA", "INGB", "RABO", "TRIO", "SNSB", "ASNB"],
}
ACCOUNT_DIGITS = {"DE": 10, "AT": 11, "CH": 12, "PL": 16, "UA": 19, "NL": 10}


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 / ISO 7064 mod 97-10 check digits."""
    rearranged = bban + country + "00"
    number = "".join(str(int(ch, 36)) for ch in rearranged.upper())
    return f"{98 - int(number) % 97:02d}"


def iban_is_valid(iban: str) -> bool:
    s = "".join(ch for ch in iban if ch.isalnum()).upper()
    if len(s) < 15 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    number = "".join(str(int(ch, 36)) for ch in s[4:] + s[:4])
    return int(number) % 97 == 1


def make_iban(rng: random.Random, country: str, bank: str | None = None, account: str | None = None) -> str:
    bank = bank or rng.choice(BANKS[country])
    if account is None:
        n = ACCOUNT_DIGITS[country]
        account = _digits(rng, n) if country != "UA" else "00000" + "26" + _digits(rng, n - 7)
    bban = bank + account
    return country + iban_check_digits(country, bban) + bban


def iban_parts(iban: str) -> tuple[str, str, str]:
    country = iban[:2]
    bank_len = len(BANKS[country][0])
    return country, iban[4:4 + bank_len], iban[4 + bank_len:]


def format_iban(rng: random.Random, iban: str, style: str | None = None) -> str:
    style = style or rng.choices(["compact", "groups", "lower_groups", "dashes", "dots", "lower"],
                                 [30, 35, 8, 10, 7, 10])[0]
    groups = [iban[i:i + 4] for i in range(0, len(iban), 4)]
    if style == "compact":
        return iban
    if style == "groups":
        return " ".join(groups)
    if style == "lower_groups":
        return " ".join(groups).lower()
    if style == "dashes":
        return "-".join(groups)
    if style == "dots":
        return ".".join(groups)
    return iban.lower()


IBAN_STYLES = ("compact", "groups", "lower_groups", "dashes", "dots", "lower")

# ------------------------------------------------------------------------------------------ e-mail

DOMAINS = {
    "DE": ["gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de", "yahoo.de", "gmail.com", "posteo.de"],
    "AT": ["gmail.com", "gmx.at", "aon.at", "outlook.com"],
    "CH": ["gmail.com", "bluewin.ch", "gmx.ch", "outlook.com"],
    "PL": ["gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl", "gmail.com"],
    "UA": ["gmail.com", "ukr.net", "i.ua", "meta.ua", "gmail.com"],
    "RU": ["mail.ru", "yandex.ru", "gmail.com"],
    "NL": ["gmail.com", "hotmail.nl", "ziggo.nl", "outlook.com"],
}
PLUS_TAGS = ["jobs", "ref", "work", "2", "cv", "bewerbung", "praca", "robota", "apply", "x"]


def ascii_local(name: Name) -> str:
    s = fold_german(name.latin[0]).lower()
    return "".join(ch for ch in s if ch.isalnum())


def make_email(rng: random.Random, given: Name, family: Name, birth: dt.date, country: str,
               domain: str | None = None) -> str:
    g, f = ascii_local(given), ascii_local(family)
    yy = f"{birth.year % 100:02d}"
    local = rng.choices([f"{g}.{f}", f"{g}{f}", f"{g[0]}.{f}", f"{f}.{g}", f"{g}_{f}", f"{g}.{f}{yy}",
                         f"{g}{yy}", f"{f}{birth.year}", f"{g[0]}{f}{rng.randrange(1, 99)}"],
                        [20, 10, 10, 6, 5, 12, 6, 5, 8])[0]
    return f"{local}@{domain or rng.choice(DOMAINS.get(country, DOMAINS['DE']))}"


def _gmail(domain: str) -> bool:
    return domain in ("gmail.com", "googlemail.com")


def _recase(rng: random.Random, local: str, domain: str) -> str:
    parts = local.split(".")
    choice = rng.random()
    if choice < 0.5:
        local = ".".join(p[:1].upper() + p[1:] for p in parts)
    elif choice < 0.7:
        local = local.upper()
    else:
        local = local[:1].upper() + local[1:]
    if rng.random() < 0.3:
        domain = domain[:1].upper() + domain[1:]
    return f"{local}@{domain}"


def _redot(rng: random.Random, local: str) -> str:
    bare = local.replace(".", "")
    if "." in local and rng.random() < 0.5:
        return bare
    if len(bare) < 4:
        return local
    i = rng.randrange(1, len(bare) - 1)
    return bare[:i] + "." + bare[i:]


def email_variant(rng: random.Random, email: str, mode: str, alias: str | None = None) -> str:
    local, domain = email.split("@")
    r = rng.random()
    if mode == "self":  # people sign up to job sites with a +tag, or type their Gmail dots differently
        if r < 0.1:
            return _recase(rng, local, domain)
        if _gmail(domain) and r < 0.2:
            return f"{local}+{rng.choice(PLUS_TAGS)}@{domain}"
        if _gmail(domain) and r < 0.26:
            return f"{_redot(rng, local)}@{domain}"
        return email
    if mode == "other":
        if r < 0.78:
            return email
        if r < 0.92 or not _gmail(domain):
            return _recase(rng, local, domain)
        return f"{_redot(rng, local)}@{domain}"
    # disguise: an alias that still reaches the same mailbox, or another address altogether
    if _gmail(domain):
        if r < 0.35:
            return f"{local}+{rng.choice(PLUS_TAGS)}@{domain}"
        if r < 0.55:
            return f"{_redot(rng, local)}@{domain}"
        if r < 0.65:
            return f"{local}@googlemail.com"
        if r < 0.75:
            return _recase(rng, _redot(rng, local), domain) if rng.random() < 0.5 else \
                f"{_redot(rng, local)}+{rng.choice(PLUS_TAGS)}@{domain}"
    elif r < 0.3:
        return _recase(rng, local, domain)
    return alias or email


# ------------------------------------------------------------------------------------------ person

@dataclass(eq=False)
class Person:
    key: int
    culture: str
    gender: str
    given: Name
    family: Name
    middle: Name | None
    birth: dt.date
    country: str  # where they live
    city: str
    phone: Phone | None
    email: str
    iban: str | None = None
    profile: str | None = None
    devices: list = field(default_factory=list)
    ip_prefix: str = ""
    self_script: str = "native"  # how they write their own name: native / passport / ascii
    middle_habit: float = 0.2
    alias: str | None = None  # a second mailbox for when they want to look like someone else
    honest: bool = True
    disguised: bool = False
    fake: bool = False
    rank: float = 0.0  # honest referrers only refer fellow referrers of higher rank: no accidental rings
    # per company: {"refs": {referrer person key: True}, "app": bool, "hire": bool}
    known: dict = field(default_factory=dict)
    stints: list = field(default_factory=list)  # Hire objects, for overlap checks
    referred: list = field(default_factory=list)  # persons this person referred (honest friend circles)
    uni: str | None = None  # university mail domain of a student referrer's circle
    uni_email: str | None = None


def typo(rng: random.Random, s: str) -> str:
    letters = [i for i, ch in enumerate(s) if ch.isalpha()]
    if len(letters) < 4:
        return s
    i = rng.choice(letters[1:-1])
    kind = rng.random()
    if kind < 0.4 and i + 1 < len(s) and s[i + 1].isalpha():
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if kind < 0.7:
        return s[:i] + s[i + 1:]
    return s[:i] + s[i] + s[i:]


def _pick_latin(rng: random.Random, name: Name, typer: str | None) -> str:
    forms = list(dict.fromkeys(name.latin))
    if len(forms) == 1:
        return forms[0]
    if name.cyrillic:
        if typer == "de":
            pref = [f for f in forms if "sch" in f.lower() or f.lower().startswith("w") or "j" in f.lower()]
        elif typer == "pl":
            pref = [f for f in forms if "sz" in f.lower() or "cz" in f.lower() or "w" in f.lower()]
        else:
            pref = []
        if pref and rng.random() < 0.5:
            return rng.choice(pref)
        return forms[0] if rng.random() < 0.5 else rng.choice(forms[1:])
    # Latin with diacritics: keep them, or lose them the German (ue) or the plain (u) way
    r = rng.random()
    if r < 0.6:
        return forms[0]
    return rng.choice(forms[1:])


def full_name(rng: random.Random, p: Person, mode: str, typer: str | None = None) -> str:
    """Render a person's name as it appears on one record."""
    cyr = p.given.cyrillic
    order_formal = False
    if mode == "self":
        script = p.self_script if rng.random() < 0.93 else "passport"
        with_middle = p.middle is not None and rng.random() < p.middle_habit
        swap = rng.random() < 0.02
        typo_p = 0.01
    elif mode == "other":
        if cyr:
            script = "native" if (typer in ("ua", "ru") and rng.random() < 0.4) else "pick"
        else:
            script = "native" if rng.random() < 0.65 else "pick"
        with_middle = p.middle is not None and rng.random() < (0.12 if not cyr else 0.08)
        swap = rng.random() < 0.04
        typo_p = 0.03
    else:  # disguise: deliberately not what they usually type
        if cyr:
            script = "pick" if p.self_script == "native" or rng.random() < 0.55 else "native"
        else:
            script = "pick" if rng.random() < 0.6 else "native"
        with_middle = p.middle is not None and rng.random() < (0.2 if p.middle_habit > 0.3 else 0.5)
        swap = rng.random() < 0.3
        typo_p = 0.2

    def part(n: Name) -> str:
        if script == "native":
            return n.native
        if script == "passport":
            return n.latin[0]
        if script == "ascii":
            return strip_diacritics(n.latin[0]) if rng.random() < 0.5 else fold_german(n.latin[0])
        return _pick_latin(rng, n, typer if mode == "other" else None)

    given, family = part(p.given), part(p.family)
    if rng.random() < typo_p:
        family = typo(rng, family)
    middle = part(p.middle) if with_middle else None
    if cyr and script == "native" and middle and rng.random() < 0.5:
        order_formal = True  # Прізвище Ім'я По-батькові
    if order_formal:
        s = f"{family} {given} {middle}"
    elif swap:
        s = f"{family}, {given}" if rng.random() < 0.4 else f"{family} {given}"
        if middle:
            s += f" {middle}"
    else:
        s = " ".join(x for x in (given, middle, family) if x)
    r = rng.random()
    if r < 0.02:
        s = s.lower()
    elif r < 0.04:
        s = s.replace(family, family.upper(), 1)
    return s


def profile_spelling(rng: random.Random, url: str) -> str:
    r = rng.random()
    if r < 0.55:
        return url
    bare = url.replace("https://www.", "")
    if r < 0.75:
        return bare
    if r < 0.9:
        return url + "/"
    return url.replace("https://", "http://")


def make_profile(rng: random.Random, p: Person) -> str:
    g, f = ascii_local(p.given), ascii_local(p.family)
    if p.country in ("DE", "AT", "CH") and rng.random() < 0.4:
        return f"https://www.xing.com/profile/{fold_german(p.given.latin[0])}_{fold_german(p.family.latin[0])}{rng.randrange(2, 999)}"
    suffix = "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice((6, 8, 9))))
    return f"https://www.linkedin.com/in/{g}-{f}-{suffix}"

"""Identities for the synthetic data: names, e-mails, phones, IBANs, and the ways one person disguises them.

Real people type their own details differently on every form, and abusers vary them on purpose, so the
generator renders each person's true identity through these functions. Everything here is pure: it takes
a numpy Generator for every random choice, so one seed gives the same identities every time.
"""
from __future__ import annotations

import unicodedata

# --- places --------------------------------------------------------------------------------------------

# country -> cities with the spellings people actually type (the first is the usual local one)
CITIES: dict[str, list[list[str]]] = {
    "DE": [["Berlin"], ["Hamburg"], ["München", "Muenchen", "Munich"], ["Köln", "Koeln", "Cologne"],
           ["Frankfurt am Main", "Frankfurt", "Frankfurt/Main"], ["Stuttgart"], ["Düsseldorf", "Duesseldorf"],
           ["Leipzig"], ["Dresden"], ["Hannover"], ["Nürnberg", "Nuernberg", "Nuremberg"], ["Bremen"]],
    "AT": [["Wien", "Vienna"], ["Graz"], ["Linz"], ["Salzburg"], ["Innsbruck"]],
    "CH": [["Zürich", "Zurich", "Zuerich"], ["Basel"], ["Bern"], ["Genève", "Geneva", "Genf"], ["Lausanne"]],
    "PL": [["Warszawa", "Warsaw"], ["Kraków", "Krakow", "Cracow"], ["Wrocław", "Wroclaw"], ["Gdańsk", "Gdansk"],
           ["Poznań", "Poznan"], ["Łódź", "Lodz"]],
    "UA": [["Kyiv", "Kiev", "Київ"], ["Lviv", "Lwów", "Львів"], ["Kharkiv", "Kharkov", "Харків"],
           ["Odesa", "Odessa", "Одеса"], ["Dnipro", "Dnepr", "Дніпро"]],
}
COUNTRY_WEIGHTS = {"DE": 0.45, "AT": 0.10, "CH": 0.08, "PL": 0.20, "UA": 0.17}

# residence country -> name culture of the people living there
ORIGIN_BY_COUNTRY = {
    "DE": {"de": 0.70, "ua": 0.12, "ru": 0.08, "pl": 0.10},
    "AT": {"de": 0.78, "ua": 0.10, "ru": 0.05, "pl": 0.07},
    "CH": {"de": 0.85, "ua": 0.08, "ru": 0.07},
    "PL": {"pl": 0.80, "ua": 0.20},
    "UA": {"ua": 0.75, "ru": 0.25},
}

# --- names ---------------------------------------------------------------------------------------------

DE_MALE = ["Thomas", "Michael", "Andreas", "Stefan", "Christian", "Markus", "Daniel", "Tobias", "Jan", "Lukas",
           "Felix", "Jonas", "Maximilian", "Florian", "Sebastian", "Matthias", "Jürgen", "Uwe", "Kai", "Niklas",
           "Björn", "Moritz", "Philipp", "Simon", "Dominik", "Patrick", "Benedikt", "Fabian", "Timo", "Sören"]
DE_FEMALE = ["Anna", "Julia", "Laura", "Sarah", "Lisa", "Katharina", "Sabine", "Claudia", "Nicole", "Lena",
             "Sophie", "Hannah", "Marie", "Johanna", "Miriam", "Jana", "Carina", "Annika", "Jülide", "Birgit",
             "Franziska", "Vanessa", "Theresa", "Melanie", "Kerstin", "Nadine", "Svenja", "Paula", "Greta", "Ute"]
DE_MIDDLE = ["Maria", "Sophie", "Luise", "Johannes", "Alexander", "Peter", "Elisabeth", "Christoph"]
DE_SURNAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
               "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
               "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
               "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König",
               "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß",
               "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger",
               "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Simon",
               "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher", "Krämer", "Vogt", "Stein", "Jäger",
               "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Dietrich",
               "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt",
               "Sauer", "Arnold", "Wolff", "Pfeiffer", "Gruber", "Steiner", "Moser", "Brunner", "Egger",
               "Wyss", "Gerber", "Frei", "Baumgartner", "Hofer", "Leitner"]
PL_MALE = ["Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Łukasz", "Grzegorz",
           "Jakub", "Mateusz", "Wojciech", "Kamil", "Maciej", "Bartosz", "Dawid", "Rafał", "Szymon"]
PL_FEMALE = ["Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa", "Magdalena", "Joanna",
             "Aleksandra", "Monika", "Zofia", "Justyna", "Natalia", "Karolina", "Dorota", "Beata", "Agata"]
# (male form, female form)
PL_SURNAMES = [("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"),
               ("Wójcik", "Wójcik"), ("Kowalczyk", "Kowalczyk"), ("Kamiński", "Kamińska"),
               ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"), ("Szymański", "Szymańska"),
               ("Woźniak", "Woźniak"), ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"),
               ("Jankowski", "Jankowska"), ("Mazur", "Mazur"), ("Kwiatkowski", "Kwiatkowska"),
               ("Krawczyk", "Krawczyk"), ("Piotrowski", "Piotrowska"), ("Grabowski", "Grabowska"),
               ("Zając", "Zając"), ("Pawłowski", "Pawłowska"), ("Michalski", "Michalska"), ("Król", "Król"),
               ("Wieczorek", "Wieczorek"), ("Jabłoński", "Jabłońska"), ("Wróbel", "Wróbel"),
               ("Nowakowski", "Nowakowska"), ("Majewski", "Majewska"), ("Olszewski", "Olszewska"),
               ("Stępień", "Stępień"), ("Malinowski", "Malinowska"), ("Jaworski", "Jaworska"),
               ("Adamczyk", "Adamczyk"), ("Dudek", "Dudek"), ("Nowicki", "Nowicka"), ("Pawlak", "Pawlak"),
               ("Górski", "Górska"), ("Witkowski", "Witkowska"), ("Walczak", "Walczak"), ("Sikora", "Sikora")]

# Cyrillic given names (Ukrainian and Russian forms) with the Latin spellings found in passports, CVs and
# German/Polish paperwork; the first spelling is the most common one.
CYR_MALE = {
    "Сергій": ["Serhii", "Serhiy", "Sergii", "Sergey", "Sergej"],
    "Сергей": ["Sergey", "Sergei", "Sergej", "Serhii", "Serguei"],
    "Олександр": ["Oleksandr", "Oleksander", "Aleksandr", "Alexander", "Olexandr"],
    "Александр": ["Aleksandr", "Alexander", "Alexandr", "Aleksander", "Oleksandr"],
    "Андрій": ["Andrii", "Andriy", "Andrij", "Andrey", "Andrej"],
    "Андрей": ["Andrey", "Andrei", "Andrej", "Andrii"],
    "Дмитро": ["Dmytro", "Dmitro", "Dmitry", "Dmitrij", "Dmitriy"],
    "Дмитрий": ["Dmitry", "Dmitriy", "Dmitrii", "Dmitrij", "Dmytro"],
    "Олексій": ["Oleksii", "Oleksiy", "Aleksey", "Alexey", "Oleksij"],
    "Алексей": ["Aleksey", "Alexey", "Aleksei", "Alexej", "Oleksii"],
    "Іван": ["Ivan", "Iwan"],
    "Иван": ["Ivan", "Iwan"],
    "Михайло": ["Mykhailo", "Mykhaylo", "Mikhail", "Michail", "Mychajlo"],
    "Михаил": ["Mikhail", "Michail", "Mihail", "Mykhailo"],
    "Володимир": ["Volodymyr", "Volodimir", "Vladimir", "Wladimir", "Wolodymyr"],
    "Владимир": ["Vladimir", "Wladimir", "Vladimyr", "Volodymyr"],
    "Микола": ["Mykola", "Mikola", "Nikolay", "Nikolai", "Nikolaj"],
    "Павло": ["Pavlo", "Pawlo", "Pavel", "Pawel"],
    "Юрій": ["Yurii", "Yuriy", "Iurii", "Jurij", "Yuri"],
    "Евгений": ["Evgeny", "Evgenii", "Yevgeniy", "Jewgeni", "Ievgen"],
    "Богдан": ["Bohdan", "Bogdan"],
    "Тарас": ["Taras"],
    "Віктор": ["Viktor", "Victor", "Wiktor"],
    "Артем": ["Artem", "Artjom", "Artyom", "Artiom"],
}
CYR_FEMALE = {
    "Юлія": ["Yuliia", "Iuliia", "Yulia", "Julija", "Yuliya"],
    "Юлия": ["Yulia", "Iuliia", "Julija", "Yuliya", "Julia"],
    "Олена": ["Olena", "Olena", "Elena", "Jelena", "Helena"],
    "Елена": ["Elena", "Yelena", "Jelena", "Olena"],
    "Ольга": ["Olga", "Olha", "Olgha"],
    "Наталія": ["Nataliia", "Natalia", "Natalija", "Natalya", "Natalie"],
    "Наталья": ["Natalya", "Natalia", "Natalja", "Nataliya"],
    "Тетяна": ["Tetiana", "Tetyana", "Tatiana", "Tatjana", "Tatyana"],
    "Татьяна": ["Tatyana", "Tatiana", "Tatjana", "Tetiana"],
    "Катерина": ["Kateryna", "Katerina", "Ekaterina", "Katharina"],
    "Екатерина": ["Ekaterina", "Yekaterina", "Jekaterina", "Kateryna"],
    "Анастасія": ["Anastasiia", "Anastasia", "Anastasija", "Anastasiya"],
    "Анастасия": ["Anastasia", "Anastasiya", "Anastasija", "Anastasiia"],
    "Ірина": ["Iryna", "Irina", "Iryna"],
    "Ирина": ["Irina", "Iryna"],
    "Марія": ["Mariia", "Maria", "Marija", "Mariya"],
    "Анна": ["Anna", "Hanna", "Ganna"],
    "Вікторія": ["Viktoriia", "Viktoria", "Victoria", "Wiktorija"],
    "Оксана": ["Oksana", "Oxana"],
    "Світлана": ["Svitlana", "Svetlana", "Swetlana"],
    "Людмила": ["Liudmyla", "Lyudmila", "Ludmila", "Ljudmila"],
    "Дарина": ["Daryna", "Darina", "Daria"],
}
# surnames: (male, female); Ukrainian -enko/-uk forms do not change with gender
CYR_SURNAMES = [("Щукин", "Щукина"), ("Петров", "Петрова"), ("Иванов", "Иванова"), ("Смирнов", "Смирнова"),
                ("Кузнецов", "Кузнецова"), ("Попов", "Попова"), ("Соколов", "Соколова"), ("Лебедев", "Лебедева"),
                ("Козлов", "Козлова"), ("Новиков", "Новикова"), ("Морозов", "Морозова"), ("Волков", "Волкова"),
                ("Жуков", "Жукова"), ("Яковлев", "Яковлева"), ("Коваленко", "Коваленко"),
                ("Шевченко", "Шевченко"), ("Бондаренко", "Бондаренко"), ("Ткаченко", "Ткаченко"),
                ("Кравченко", "Кравченко"), ("Олійник", "Олійник"), ("Мельник", "Мельник"), ("Шевчук", "Шевчук"),
                ("Поліщук", "Поліщук"), ("Захарченко", "Захарченко"), ("Юрченко", "Юрченко"),
                ("Щербак", "Щербак"), ("Хоменко", "Хоменко"), ("Бойко", "Бойко"), ("Ковальчук", "Ковальчук"),
                ("Савченко", "Савченко"), ("Руденко", "Руденко"), ("Мороз", "Мороз"), ("Лисенко", "Лисенко"),
                ("Гончаренко", "Гончаренко"), ("Литвиненко", "Литвиненко"), ("Марченко", "Марченко"),
                ("Зайцев", "Зайцева"), ("Павленко", "Павленко"), ("Кириленко", "Кириленко"),
                ("Гриценко", "Гриценко"), ("Черненко", "Черненко"), ("Ющенко", "Ющенко")]
CYR_PATRONYMIC_M = ["Петрович", "Иванович", "Сергеевич", "Олександрович", "Миколайович", "Васильович"]
CYR_PATRONYMIC_F = ["Петрівна", "Ивановна", "Сергеевна", "Олександрівна", "Миколаївна", "Васильевна"]

# Letter-by-letter transliteration schemes, because a person's surname appears in all of them:
# Ukrainian national 2010 (passports), English/BGN style, German Duden style, scholarly/ISO-ish.
_TRANSLIT = {
    "ua": {"а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh", "з": "z",
           "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
           "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
           "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "ы": "y", "э": "e", "ё": "e", "ъ": ""},
    "en": {"а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ye", "ж": "zh", "з": "z",
           "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
           "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
           "щ": "shch", "ь": "", "ю": "yu", "я": "ya", "ы": "y", "э": "e", "ё": "yo", "ъ": ""},
    "de": {"а": "a", "б": "b", "в": "w", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "je", "ж": "sch", "з": "s",
           "и": "i", "і": "i", "ї": "ji", "й": "j", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
           "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "ch", "ц": "z", "ч": "tsch", "ш": "sch",
           "щ": "schtsch", "ь": "", "ю": "ju", "я": "ja", "ы": "y", "э": "e", "ё": "jo", "ъ": ""},
    "pl": {"а": "a", "б": "b", "в": "w", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "je", "ж": "ż", "з": "z",
           "и": "y", "і": "i", "ї": "ji", "й": "j", "к": "k", "л": "ł", "м": "m", "н": "n", "о": "o", "п": "p",
           "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "ch", "ц": "c", "ч": "cz", "ш": "sz",
           "щ": "szcz", "ь": "", "ю": "ju", "я": "ja", "ы": "y", "э": "e", "ё": "jo", "ъ": ""},
}
TRANSLIT_SCHEMES = tuple(_TRANSLIT)

# folding of German and Polish letters as typed on foreign keyboards
_FOLD_DE = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}


def is_cyrillic(text: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def transliterate(text: str, scheme: str) -> str:
    table = _TRANSLIT[scheme]
    out = []
    for word in text.split(" "):
        chars = []
        for i, ch in enumerate(word):
            low = ch.lower()
            if low not in table:
                chars.append(ch)
                continue
            lat = table[low]
            # the national systems write є, ї, й, ю, я at the start of a word with y-
            if i == 0 and scheme == "ua" and low in "єїйюя":
                lat = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}[low]
            if ch.isupper() and lat:
                lat = lat[0].upper() + lat[1:]
            chars.append(lat)
        out.append("".join(chars))
    return " ".join(out)


def ascii_fold(text: str, rng) -> str:
    """Müller -> Mueller or Muller, Łukasz -> Lukasz: what a person types without the right keyboard."""
    if rng.random() < 0.6:
        text = "".join(_FOLD_DE.get(ch, ch) for ch in text)
    text = text.replace("ł", "l").replace("Ł", "L")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def plain_ascii(text: str) -> str:
    """A deterministic ASCII form for e-mail local parts and profile slugs."""
    if is_cyrillic(text):
        text = transliterate(text, "en")
    text = "".join(_FOLD_DE.get(ch, ch) for ch in text).replace("ł", "l").replace("Ł", "L")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def pick_weighted(rng, weights: dict):
    # one uniform draw and a walk over the cumulative weights: rng.choice(p=...) is ~20x slower per call
    x = rng.random() * sum(weights.values())
    for key, w in weights.items():
        x -= w
        if x < 0:
            return key
    return key


def new_name(rng, origin: str, gender: str) -> dict:
    """A person's true name: given, optional middle part (middle name or patronymic), surname."""
    middle = ""
    if origin in ("de", "at", "ch"):
        given = pick(rng, DE_MALE if gender == "m" else DE_FEMALE)
        surname = pick(rng, DE_SURNAMES)
        if rng.random() < 0.12:
            middle = pick(rng, DE_MIDDLE)
    elif origin == "pl":
        given = pick(rng, PL_MALE if gender == "m" else PL_FEMALE)
        pair = pick(rng, PL_SURNAMES)
        surname = pair[0] if gender == "m" else pair[1]
    else:
        names = CYR_MALE if gender == "m" else CYR_FEMALE
        # Ukrainians mostly carry the Ukrainian form, Russian speakers the Russian one
        pool = [n for n in names if any(ch in n.lower() for ch in "іїє") == (origin == "ua")]
        given = pick(rng, sorted(pool) or sorted(names))
        pair = pick(rng, CYR_SURNAMES)
        surname = pair[0] if gender == "m" else pair[1]
        if rng.random() < 0.25:
            middle = pick(rng, CYR_PATRONYMIC_M if gender == "m" else CYR_PATRONYMIC_F)
    return {"given": given, "middle": middle, "surname": surname, "origin": origin, "gender": gender}


def _latin_given(name: dict, rng, variant: bool) -> str:
    given = name["given"]
    if not is_cyrillic(given):
        return given
    table = CYR_MALE if name["gender"] == "m" else CYR_FEMALE
    spellings = table.get(given) or [transliterate(given, "en")]
    return pick(rng, spellings) if variant else spellings[0]


def _latin_part(part: str, rng, scheme: str | None) -> str:
    if not part or not is_cyrillic(part):
        return part
    return transliterate(part, scheme or "en")


def usual_name(name: dict, script: str) -> str:
    """The name as the person writes it first: own script, or the usual Latin form."""
    if script == "cyr" or not is_cyrillic(name["given"]):
        parts = [name["given"], name["middle"], name["surname"]]
    else:
        table = CYR_MALE if name["gender"] == "m" else CYR_FEMALE
        given = (table.get(name["given"]) or [transliterate(name["given"], "en")])[0]
        scheme = "ua" if name["origin"] == "ua" else "en"
        parts = [given, "", transliterate(name["surname"], scheme)]
    return " ".join(p for p in parts if p)


def typo(word: str, rng) -> str:
    """One keyboard slip: swapped, dropped or doubled letter (never the first letter)."""
    if len(word) < 4:
        return word + word[-1]
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(3))
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def disguised_name(name: dict, rng, avoid: str) -> str:
    """Another way the same person writes their name; never the string `avoid` itself."""
    for _ in range(12):
        cyr = is_cyrillic(name["given"])
        given, surname, middle = name["given"], name["surname"], name["middle"]
        if cyr and rng.random() < 0.8:
            scheme = pick(rng, TRANSLIT_SCHEMES)
            given = _latin_given(name, rng, variant=True)
            surname = _latin_part(surname, rng, scheme)
            middle = _latin_part(middle, rng, scheme)
        elif not cyr and rng.random() < 0.5:
            given, surname, middle = ascii_fold(given, rng), ascii_fold(surname, rng), ascii_fold(middle, rng)
        if middle and rng.random() < 0.6:
            middle = ""  # the middle part is the first thing people leave out
        if rng.random() < 0.25:
            if rng.random() < 0.5:
                surname = typo(surname, rng)
            else:
                given = typo(given, rng)
        if rng.random() < 0.3:
            text = " ".join(p for p in (surname, given, middle) if p)  # "Petrov Ivan"
        else:
            text = " ".join(p for p in (given, middle, surname) if p)
        roll = rng.random()
        if roll < 0.08:
            text = text.upper()
        elif roll < 0.14:
            text = text.lower()
        if text != avoid:
            return text
    return avoid + "."  # practically unreachable; keeps the contract "differs" honest


# --- e-mail --------------------------------------------------------------------------------------------

MAIL_DOMAINS = {
    "DE": {"gmail.com": 0.35, "web.de": 0.2, "gmx.de": 0.2, "t-online.de": 0.1, "outlook.com": 0.1, "posteo.de": 0.05},
    "AT": {"gmail.com": 0.4, "gmx.at": 0.25, "aon.at": 0.15, "outlook.com": 0.2},
    "CH": {"gmail.com": 0.4, "bluewin.ch": 0.3, "gmx.ch": 0.15, "outlook.com": 0.15},
    "PL": {"gmail.com": 0.35, "wp.pl": 0.2, "onet.pl": 0.2, "o2.pl": 0.1, "interia.pl": 0.15},
    "UA": {"gmail.com": 0.45, "ukr.net": 0.35, "i.ua": 0.1, "meta.ua": 0.1},
}


def _slug(text: str) -> str:
    return "".join(ch for ch in plain_ascii(text).lower() if ch.isalnum())


def new_email(name: dict, birth_year: int, country: str, rng) -> str:
    given = _slug(_latin_given(name, rng, variant=False))
    surname = _slug(_latin_part(name["surname"], rng, "ua" if name["origin"] == "ua" else "en"))
    style = int(rng.integers(6))
    local = [f"{given}.{surname}", f"{given[0]}{surname}", f"{surname}.{given}", f"{given}_{surname}",
             f"{given}{surname}{birth_year % 100:02d}", f"{given}.{surname}{int(rng.integers(1, 999))}"][style]
    return f"{local}@{pick_weighted(rng, MAIL_DOMAINS[country])}"


def email_alias(email: str, rng, country: str, name: dict, birth_year: int) -> str:
    """Another address that reaches (or claims to be) the same person; never equal to `email`."""
    local, domain = email.split("@")
    for _ in range(12):
        roll = rng.random()
        if domain in ("gmail.com", "googlemail.com") and roll < 0.7:
            # Gmail ignores dots and +tags and treats googlemail.com as gmail.com
            base = local.replace(".", "")
            kind = int(rng.integers(4))
            if kind == 0 and len(base) > 3:
                cut = int(rng.integers(1, len(base) - 1))
                new_local = base[:cut] + "." + base[cut:]
            elif kind == 1:
                new_local = local + "+" + pick(rng, ["jobs", "work", "ref", "cv", "bonus", "x"])
            elif kind == 2:
                new_local = local
                domain = "googlemail.com" if domain == "gmail.com" else "gmail.com"
            else:
                new_local = base
            alias = f"{new_local}@{domain}"
        elif roll < 0.85:
            # capitals typed on a phone keyboard; most mail systems ignore case
            alias = (local[:1].upper() + local[1:] + "@" + domain) if rng.random() < 0.5 else email.upper()
        else:
            alias = new_email(name, birth_year, country, rng)  # a second mailbox altogether
        if alias != email:
            return alias
    return "x" + email


# --- phones --------------------------------------------------------------------------------------------

COUNTRY_CODES = {"DE": "49", "AT": "43", "CH": "41", "PL": "48", "UA": "380"}
# mobile prefixes (national significant number, without trunk 0) and subscriber lengths that libphonenumber
# accepts as valid, so a normaliser can turn every variant into one E.164 number
_MOBILE = {
    "DE": [("151", 8), ("152", 8), ("157", 8), ("160", 7), ("162", 7), ("170", 7), ("171", 7), ("172", 7),
           ("173", 7), ("175", 7), ("176", 8), ("177", 8), ("178", 8), ("179", 8)],
    "AT": [("650", 7), ("660", 7), ("664", 7), ("676", 7), ("699", 8)],
    "CH": [("76", 7), ("77", 7), ("78", 7), ("79", 7)],
    "PL": [("50", 7), ("51", 7), ("53", 7), ("60", 7), ("66", 7), ("69", 7), ("72", 7), ("78", 7), ("79", 7),
           ("88", 7)],
    "UA": [("50", 7), ("63", 7), ("66", 7), ("67", 7), ("68", 7), ("73", 7), ("93", 7), ("95", 7), ("96", 7),
           ("97", 7), ("98", 7), ("99", 7)],
}


def new_phone(country: str, rng) -> tuple[str, str]:
    """(area/prefix, subscriber digits) of a mobile number in `country`."""
    prefix, length = pick(rng, _MOBILE[country])
    first = str(int(rng.integers(1, 10)))
    rest = "".join(str(int(d)) for d in rng.integers(0, 10, size=length - 1))
    return prefix, first + rest


def _grouped(digits: str, sizes) -> str:
    out, i = [], 0
    for s in sizes:
        if i >= len(digits):
            break
        out.append(digits[i:i + s])
        i += s
    if i < len(digits):
        out[-1] += digits[i:]
    return " ".join(out)


PHONE_STYLES = ("intl_spaced", "national", "intl_00", "national_paren", "intl_compact", "national_slash")


def format_phone(country: str, phone: tuple[str, str], style: str) -> str:
    cc = COUNTRY_CODES[country]
    prefix, sub = phone
    trunk = "" if country == "PL" else "0"
    if country == "PL":
        nsn = prefix + sub
        three = f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}"
        return {"intl_spaced": f"+48 {three}", "national": three, "intl_00": f"0048-{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}",
                "national_paren": f"(+48) {nsn}", "intl_compact": f"+48{nsn}",
                "national_slash": f"{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"}[style]
    return {
        "intl_spaced": f"+{cc} {prefix} {sub}",
        "national": f"{trunk}{prefix} {sub}",
        "intl_00": f"00{cc}-{prefix}-{sub}",
        "national_paren": f"({trunk}{prefix}) {_grouped(sub, (3, 2, 2))}",
        "intl_compact": f"+{cc}{prefix}{sub}",
        "national_slash": f"{trunk}{prefix}/{sub}",
    }[style]


# --- IBANs ---------------------------------------------------------------------------------------------

# (bank code length, account length, example bank codes) per country; check digits by ISO 13616 mod 97
_IBAN_LAYOUT = {
    "DE": (["10010010", "37040044", "50010517", "20041133", "12030000", "10070000", "70020270", "60050101"], 10),
    "AT": (["20111", "12000", "14000", "32000", "60000", "38000"], 11),
    "CH": (["00230", "00700", "09000", "00762", "08390"], 12),
    "PL": (["10201026", "11602202", "10501038", "12401037", "10901014", "11401010"], 16),
    "UA": (["305299", "322001", "300528", "320649", "351005"], 19),
}


def iban_check_digits(country: str, bban: str) -> str:
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{98 - int(digits) % 97:02d}"


def new_iban(country: str, rng) -> str:
    banks, account_len = _IBAN_LAYOUT[country]
    account = "".join(str(int(d)) for d in rng.integers(0, 10, size=account_len))
    bban = pick(rng, banks) + account
    return country + iban_check_digits(country, bban) + bban


def iban_is_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    digits = "".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


IBAN_STYLES = ("grouped", "compact", "lower_grouped", "lower_compact", "odd_spacing")


def format_iban(iban: str, style: str) -> str:
    grouped = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    if style == "grouped":
        return grouped
    if style == "compact":
        return iban
    if style == "lower_grouped":
        return grouped.lower()
    if style == "lower_compact":
        return iban.lower()
    return iban[:4] + " " + iban[4:12] + " " + iban[12:]  # as pasted from a bank letter


# --- profiles ------------------------------------------------------------------------------------------

def new_profile_url(name: dict, rng) -> str:
    given = _slug(_latin_given(name, rng, variant=False))
    surname = _slug(_latin_part(name["surname"], rng, "en"))
    roll = rng.random()
    tag = "".join(pick(rng, "0123456789abcdef") for _ in range(6))
    if roll < 0.6:
        return f"https://www.linkedin.com/in/{given}-{surname}-{tag}"
    if roll < 0.9:
        return f"https://www.xing.com/profile/{given.capitalize()}_{surname.capitalize()}{int(rng.integers(1, 99))}"
    return f"https://github.com/{given[0]}{surname}{tag[:2]}"

"""Each normaliser: the variants abusers type meet on one key, and junk gives no key."""
import pytest

from bountyguard.normalize import (
    city_key,
    country_for_city,
    email_key,
    iban_key,
    name_key,
    name_tokens,
    names_nest,
    phone_key,
    phone_national_key,
    profile_key,
)


@pytest.mark.parametrize("variants", [
    ["sergey.petrov@gmail.com", "Sergey.Petrov+referral@GoogleMail.com", " sergeypetrov@gmail.com ",
     "s.e.r.g.e.y.petrov+x@gmail.com", "mailto:SergeyPetrov@gmail.com"],
    ["anna.schmidt+jobs@web.de", "Anna.Schmidt@WEB.DE"],
])
def test_email_variants_meet(variants):
    assert len({email_key(v) for v in variants}) == 1
    assert email_key(variants[0]) is not None


def test_email_dots_only_dropped_where_the_provider_ignores_them():
    assert email_key("anna.schmidt@web.de") == "anna.schmidt@web.de"
    assert email_key("anna.schmidt@web.de") != email_key("annaschmidt@web.de")


@pytest.mark.parametrize("junk", [None, "", "   ", "no-at-sign", "a@b", "@gmail.com", "+tag@gmail.com",
                                  "two@@gmail.com", "x@localhost"])
def test_email_junk_gives_no_key(junk):
    assert email_key(junk) is None


@pytest.mark.parametrize("raw, city", [
    ("+49 170 1234567", None), ("0170-1234567", "Berlin"), ("0049 170 1234567", None),
    ("(0170) 123 45 67", "Köln"), ("+49 (0)170 1234567", None), ("0170 1234567", None),
])
def test_german_phone_formats_meet(raw, city):
    assert phone_key(raw, city) == "+491701234567"


def test_phone_region_comes_from_the_city():
    assert phone_key("0664 1234567", "Wien") == "+436641234567"
    assert phone_key("8 916 123-45-67", "Москва") == "+79161234567"
    assert phone_key("+7 916 123 45 67", "Berlin") == "+79161234567"  # an explicit code wins
    assert phone_key("0170 1234567", "Nowhere Town") == "+491701234567"  # fallback DE
    assert phone_key("0664 1234567", None, "AT") == "+436641234567"


@pytest.mark.parametrize("junk", [None, "", "abc", "12", "+49 1", "---"])
def test_phone_junk_gives_no_key(junk):
    assert phone_key(junk, "Berlin") is None


def test_iban_spacing_and_case_meet():
    assert iban_key("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert iban_key("DE89370400440532013000") == "DE89370400440532013000"
    assert iban_key(" gb82-west-1234-5698-7654-32 ") == "GB82WEST12345698765432"


@pytest.mark.parametrize("junk", [None, "", "DE89370400440532013001", "DE00", "XX1234", "not an iban"])
def test_iban_with_bad_checksum_or_structure_gives_no_key(junk):
    assert iban_key(junk) is None


def test_national_number_ignores_the_guessed_country():
    # no city: the number is read as German, its E.164 key is wrong, its national number is not
    assert phone_key("079 9060892") != phone_key("+41 79 906 08 92")
    assert phone_national_key("079 9060892") == phone_national_key("+41 79 906 08 92") == "799060892"
    assert phone_national_key("0041-79-9060892", "Lausanne") == "799060892"
    assert phone_national_key("12") is None and phone_national_key("no phone") is None


def test_profile_urls_meet():
    variants = ["https://www.linkedin.com/in/Sergey-Petrov/", "http://linkedin.com/in/sergey-petrov?trk=abc",
                "linkedin.com/in/sergey-petrov#about", "https://de.linkedin.com/in/sergey-petrov",
                "  HTTPS://WWW.LINKEDIN.COM/in/sergey-petrov// "]
    assert {profile_key(v) for v in variants} == {"linkedin.com/in/sergey-petrov"}
    assert profile_key("https://www.xing.com/profile/Sergey_Petrov") == "xing.com/profile/sergey_petrov"


@pytest.mark.parametrize("junk", [None, "", "   ", "https://www.linkedin.com/", "not a url", "http://"])
def test_profile_junk_gives_no_key(junk):
    assert profile_key(junk) is None


@pytest.mark.parametrize("variants", [
    ["Сергей Петров", "Sergey Petrov", "Sergei Petrow", "Petrov Sergey", "Serhii Petrov", "Сергій Петров",
     "SERGEJ  PETROW", "petrov, sergey"],
    ["Юлия Щукина", "Yulia Shchukina", "Iuliia Shchukina", "Julija Schtschukina", "Yuliya Shchukina"],
    ["Михаил Хабенский", "Mikhail Khabensky", "Michail Chabenski", "Mikhail Khabenskiy"],
    ["Антон Чехов", "Anton Chekhov", "Anton Tschechow"],
    ["Дмитрий Жуков", "Dmitriy Zhukov", "Dmitrii Zhukov", "Dmitri Zhukov"],
    ["Наталья Иванова", "Natalya Ivanova", "Natalja Iwanowa", "Natalia Ivanova", "Natal'ya Ivanova"],
    ["Евгений Смирнов", "Yevgeny Smirnov", "Evgenii Smirnov", "Jewgeni Smirnow"],
    ["Ольга Коваленко", "Olha Kovalenko", "Olga Kowalenko"],
    ["Jürgen Müller", "Juergen Mueller", "Jurgen Muller"],
])
def test_name_transliterations_and_orders_meet(variants):
    keys = {name_key(v) for v in variants}
    assert len(keys) == 1, keys
    assert None not in keys


@pytest.mark.parametrize("variants", [
    # patronymic (Ukrainian -ovych, Russian -evich, German -ewitsch) left out; German з -> s, ц -> z, в -> w
    ["Александр Васильович Кузнецов", "Kusnezow Alexander", "Aleksandr Kuznetsov",
     "Kuznetsov Aleksandr Vasilyevich", "Oleksandr Vasylovych Kuznetsov", "Alexander Wassiljewitsch Kusnezow",
     "Aleksander Kuznecow"],
    # Polish transliteration: sz, cz, w, y; the patronymic -owycz
    ["Артем Иванович Шевчук", "Artyom Ywanowycz Szewczuk", "Artem Shevchuk", "Artjom Schewtschuk"],
    # female patronymics: -ivna, -evna, -ovna
    ["Yuliya Petrivna Goncharenko", "Yulia Goncharenko", "Юлія Петрівна Гончаренко"],
    ["Марія Сергеевна Гриценко", "Mariia Hrytsenko", "Marija Grizenko", "Maria Sergejewna Gritsenko"],
    ["Ирина Ивановна Волкова", "Irina Volkova", "Iryna Iwanowna Wolkowa"],
    # German s for з and z (tz) for ц, Polish ż for ж
    ["Юрій Зайцев", "Jurij Sajzew", "Iurii Zajcew", "Yurii Zaitsev"],
    ["Yurii Zhukov", "Jurij Żukow", "Juri Schukow"],
    # Ukrainian / Russian forms of one given name
    ["Mykola Bondarenko", "Nikolai Bondarenko", "Nikolaj Bondarenko", "Микола Бондаренко", "Николай Бондаренко"],
    ["Volodymyr Kovalenko", "Vladimir Kovalenko", "Wladimir Kowalenko"],
    ["Olena Melnyk", "Elena Melnik", "Jelena Melnik"],
])
def test_patronymics_and_transliterations_meet(variants):
    keys = {name_key(v) for v in variants}
    assert len(keys) == 1, keys


def test_a_typo_in_a_given_name_variant_stays_close():
    assert name_key("Niklai Bondarenko") == name_key("Mykola Bondarenko")
    assert name_key("Alksej Schneider") == name_key("Oleksii Schneider")


def test_what_is_not_a_patronymic_stays():
    assert name_key("Ivan Abramovich") == "abramovih ivan"  # two parts: given name and surname
    assert name_key("Petrovich Ivan Sergeevich") == "ivan petrovih"  # never the first part typed
    assert "friedrih" in name_key("Anna Maria Friedrich")  # German -ich is no patronymic
    # father and son: Ivan Petrovich / Petr Ivanovich
    assert name_key("Ivan Petrovich Sidorov") != name_key("Petr Ivanovich Sidorov")
    # the feminine form of a given name is another person's name, even one letter away
    assert name_key("Alexandra Schmidt") != name_key("Alexander Schmidt")
    assert name_key("Oleksandra Bondarenko") != name_key("Oleksandr Bondarenko")


@pytest.mark.parametrize("a, b, nest", [
    ("han ian", "hahn ian peter", True),  # middle name left out, surname typo
    ("iulai lanh", "hristof iulia lanh", True),  # middle name left out, given-name typo
    ("ian peter", "hahn ian peter", True),
    ("ivan sidorov", "ivan sidorov", True),
    ("ivan sidorov", "petr sidorov", False),
    ("ana shmidt", "laura maria shmidt", False),
    ("ian", "hahn ian peter", False),  # one token says too little
    ("ian ian", "ian peter", False),  # each token needs its own partner
    (None, "ian peter", False),
])
def test_names_nest(a, b, nest):
    assert names_nest(a, b) is nest
    assert names_nest(b, a) is nest


def test_different_names_stay_different():
    assert name_key("Sergey Petrov") != name_key("Sergey Petrova")  # spouses are not one person
    assert name_key("Anna Ivanova") != name_key("Maria Ivanova")
    assert name_key("Ivan Petrov") != name_key("Pavel Petrov")


def test_name_tokens_are_sorted():
    assert name_tokens("Petrov Sergey") == name_tokens("Sergey Petrov") == ("petrov", "serhi")


@pytest.mark.parametrize("junk", [None, "", "   ", "---", "123"])
def test_name_junk_gives_no_key(junk):
    assert name_key(junk) is None


def test_city_spellings_meet():
    assert {city_key(c) for c in ["Köln", "Koeln", "Cologne", " KÖLN ", "Colgone"]} == {"koln"}
    assert {city_key(c) for c in ["München", "Muenchen", "Munich"]} == {"munchen"}
    assert {city_key(c) for c in ["Москва", "Moscow", "Moskau"]} == {"moskva"}
    assert {city_key(c) for c in ["Вінниця", "Винница", "Vinnytsia", "Vinnitsa"]} == {"vinnytsia"}
    assert {city_key(c) for c in ["Житомир", "Zhytomyr", "Zhitomir"]} == {"zhytomyr"}
    assert city_key("Bad Homburg") == "bad homburg"  # unknown towns keep their folded spelling
    assert city_key("Bonn") != city_key("Bern")  # short names are not "corrected" into each other
    assert country_for_city("Wien") == "AT" and country_for_city("Atlantis") is None


@pytest.mark.parametrize("junk", [None, "", "  ", "12345"])
def test_city_junk_gives_no_key(junk):
    assert city_key(junk) is None


# ---------------------------------------------------------------------------------------------------
# How people really type (the examples of the issue; tests/test_normalize_properties.py generalises them)


def test_iban_as_typed_meets():
    typed = ["DE48-5353-0915-5563-0183-58", "de48 5353 0915 5563 0183 58", "DE48.5353.0915.5563.0183.58",
             "IBAN: DE48 5353 0915 5563 0183 58", "DE48\u00a05353\u00a00915\u00a05563\u00a00183\u00a058",
             "DE48_5353_0915_5563_0183_58", "ＤＥ４８５３５３０９１５５５６３０１８３５８"]
    assert {iban_key(v) for v in typed} == {"DE48535309155563018358"}


def test_phones_with_trunk_prefixes_meet_with_the_fallback_regions():
    regions = "DE,RU,UA,PL,AT,CH"
    assert phone_key("8 (911) 930-07-56", None, regions) == "+79119300756"
    assert phone_key("8 (911) 930-07-56", "Berlin", regions) == "+79119300756"  # 8... is no German number
    assert phone_key("+7 911 930 07 56", None, regions) == "+79119300756"
    assert phone_key("007 911 930 07 56", "Москва", regions) == "+79119300756"
    for typed in ["0171 2345678", "0049 171 2345678", "+49 171 2345678", "+49 (0)171 234 56 78", "(0171) 2345678"]:
        assert phone_key(typed, None, regions) == "+491712345678"
    assert phone_key("079 906 08 92", None, regions) == "+41799060892"  # valid in Switzerland only
    assert phone_national_key("8 (911) 930-07-56", None, regions) == "9119300756"


def test_email_pasted_with_invisible_characters_or_a_root_dot_meets():
    assert email_key("Anna.Schmidt@GMAIL.COM.") == "annaschmidt@gmail.com"
    assert email_key("\u200banna.schmidt @ web.de") == "anna.schmidt@web.de"
    assert email_key("ａｎｎａ＠ｇｍａｉｌ．ｃｏｍ") == "anna@gmail.com"


def test_yo_is_typed_as_e_as_often_as_yo():
    variants = ["Пётр Королёв", "Петр Королев", "Pyotr Korolyov", "Petr Korolev", "Pjotr Koroljow", "Piotr Koroliov"]
    assert len({name_key(v) for v in variants}) == 1


def test_given_name_forms_across_languages_meet():
    assert len({name_key(v) for v in ["Oleksandr Shevchenko", "Aleksandr Shevchenko", "Alexander Schewtschenko",
                                      "Олександр Шевченко", "Александр Шевченко", "Aleksander Szewczenko"]}) == 1
    assert len({name_key(v) for v in ["Anna Müller", "Anna Mueller", "Anna Muller", "MÜLLER, ANNA"]}) == 1

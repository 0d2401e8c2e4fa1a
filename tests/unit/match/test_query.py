"""The query language: a table of queries, items and expected results in every language,
and syntax errors with their exact offsets."""

from __future__ import annotations

import pytest

from bot.errors import RuleSyntaxError
from bot.match import compile_query
from bot.model import Item


def item(title: str, text: str = "", lang: str | None = "en", source: str = "src", tags=(), summary: str = "") -> Item:
    return Item(source_id=source, guid="g", url=None, title=title, summary=summary, text=text,
                language=lang, tags=list(tags))


CASES = [
    # --- English: stemming, prefixes, phrases, operators, fields
    ("migrant", "Migrants arrive in Lampedusa", "", "en", True),
    ("migrants", "A migrant boat", "", "en", True),
    ("migrant", "Immigration debate in parliament", "", "en", False),
    ("migra*", "Migration talks resume", "", "en", True),
    ("migra*", "Immigration talks resume", "", "en", False),  # a prefix starts a word
    ("country", "Countries close their borders", "", "en", True),  # Snowball y -> i
    ('"detention centre"', "Inside the Detention Centre", "", "en", True),
    ('"detention centre"', "New detention centres opened", "", "en", False),  # phrases are not stemmed
    ('"detention centre*"', "New detention centres opened", "", "en", True),
    ('"pre-trial detention"', "Pre trial detention extended", "", "en", True),
    ("push-back", "Push-backs at the border", "", "en", True),
    ("push-back", "A push to get back home", "", "en", False),
    ("asylum seekers", "Seekers of asylum wait", "", "en", True),  # implicit AND, any order
    ("asylum AND seekers", "Asylum rules change", "", "en", False),
    ("asylum OR refugee", "Refugees welcome", "", "en", True),
    ("asylum OR refugee camp", "Refugee news", "", "en", False),  # OR binds loosest
    ("asylum OR refugee camp", "Asylum news", "", "en", True),
    ("(asylum OR refugee) camp", "Refugee camp flooded", "", "en", True),
    ("asylum -football", "Asylum seekers play football", "", "en", False),
    ("asylum NOT football", "Asylum claims rise", "", "en", True),
    ("NOT football", "Stock markets fall", "", "en", True),
    ("-(football OR rugby)", "Rugby final tonight", "", "en", False),
    ("pushback NEAR/3 Greece", "Pushbacks at the border of Greece", "", "en", False),  # 4 words between
    ("pushback NEAR/4 Greece", "Pushbacks at the border of Greece", "", "en", True),
    ("Greece NEAR/4 pushback", "Pushbacks at the border of Greece", "", "en", True),  # either order
    ("pushback NEAR/0 Greece", "Greece pushbacks", "", "en", True),
    ('"border guards" NEAR/2 (beat* OR violence)', "Border guards used violence", "", "en", True),
    ('"border guards" NEAR/2 (beat* OR violence)', "Violence: a report on how border guards work", "", "en", False),
    ("pushback NEAR/5 Greece", "Pushbacks reported", "Greece denies it", "en", False),  # not across fields
    ("title:asylum", "Weather report", "asylum office closed", "en", False),
    ("asylum", "Weather report", "asylum office closed", "en", True),
    ("title:(asylum OR refugee) office", "Refugee office", "", "en", True),
    ('title:"asylum office"', "The asylum office", "", "en", True),
    ("text:asylum", "Asylum", "", "en", False),
    ("ASYLUM", "asylum", "", "en", True),
    ("asylum and refugee", "and so on", "", "en", False),  # lower-case 'and' is a word
    ("and", "Asylum and refugee", "", "en", True),
    ("lang:en asylum", "Asylum", "", "en", True),
    ("lang:fr asylum", "Asylum", "", "en", False),
    # --- French: elisions, accents both ways, stemming
    ("asile", "Demande d'asile rejetée", "", "fr", True),
    ("asile", "Demande d’asile rejetée", "", "fr", True),  # typographic apostrophe
    ('"demandeur d\'asile"', "Un demandeur d’asile expulsé", "", "fr", True),
    ('"demandeur d\'asile"', "Des demandeurs d'asile expulsés", "", "fr", False),
    ("rétention", "RETENTION ADMINISTRATIVE", "", "fr", True),
    ("retention", "centre de rétention", "", "fr", True),
    ("expulsion", "Les expulsions se multiplient", "", "fr", True),
    ('"centre de rétention" -football', "Le centre de rétention de Vincennes", "", "fr", True),
    ("sans-papiers", "Manifestation des sans papiers", "", "fr", True),
    # --- Spanish
    ("migrante", "Los migrantes llegan a Canarias", "", "es", True),
    ("deportación", "Deportaciones masivas", "", "es", True),
    ("cayuco NEAR/4 Canarias", "Un cayuco llega a las islas Canarias", "", "es", True),
    ("cayuco NEAR/3 Canarias", "Un cayuco llega a las islas Canarias", "", "es", False),
    # Snowball conflates deportación and deportivo (both "deport"): packs use phrases or exclude
    ('"deportaciones"', "El Deportivo gana la liga", "", "es", False),
    ("deportacion*", "El Deportivo gana la liga", "", "es", False),
    # --- Italian
    ("migrante", "Migranti sbarcati a Lampedusa", "", "it", True),
    ("sbarco", "Nuovi sbarchi in Sicilia", "", "it", True),
    ('"guardia costiera"', "La Guardia Costiera soccorre", "", "it", True),
    ("naufrag*", "Naufragio al largo della Libia", "", "it", True),
    # --- German: ß, umlauts, compounds
    ("Flüchtling", "Flüchtlinge an der Grenze", "", "de", True),
    ("Fluchtling", "FLÜCHTLINGE", "", "de", True),
    ("Abschiebung", "Abschiebungen nach Afghanistan", "", "de", True),
    ("Straße", "Protest auf der Strasse", "", "de", True),
    ("grenz*", "Grenzschutz verschärft", "", "de", True),
    ("Grenze", "Neuer Grenzwert für Stickoxide", "", "de", False),
    # --- Portuguese
    ("migrante", "Migrantes resgatados no Mediterrâneo", "", "pt", True),
    ("refugiado", "Refugiados chegam a Lisboa", "", "pt", True),
    ('"pedido de asilo"', "O pedido de asilo foi negado", "", "pt", True),
    ("deportação", "deportacao", "", "pt", True),
    # --- Greek: tonos, final sigma, case
    ("μετανάστες", "ΜΕΤΑΝΑΣΤΕΣ στη Λέσβο", "", "el", True),
    ("μετανάστης", "Νέοι μετανάστες έφτασαν", "", "el", True),
    ("πρόσφυγας", "Πρόσφυγες στη Μόρια", "", "el", True),
    ('"λιμενικό σώμα"', "Το Λιμενικό Σώμα διέσωσε", "", "el", True),
    ("ναυάγιο NEAR/4 Πύλου", "Ναυάγιο ανοιχτά της Πύλου", "", "el", True),
    ("ναυάγιο", "Ναυαγοσώστες στην παραλία", "", "el", False),
    # --- Dutch
    ("asielzoeker", "Asielzoekers in Ter Apel", "", "nl", True),
    ("vluchteling", "Vluchtelingen aan de grens", "", "nl", True),
    ("uitzetting", "De uitzettingen gaan door", "", "nl", True),
    # --- unknown language: no stemming, the folded word itself
    ("migrants", "MIGRANTS rescued", "", None, True),
    ("migrant", "Migrants rescued", "", None, False),
    ("migrant", "A migrant rescued", "", None, True),
    ("réfugié", "Refugie", "", None, True),
    ("migra*", "Migrations", "", "xx", True),
]


@pytest.mark.parametrize("query,title,text,lang,expected", CASES)
def test_query_table(query, title, text, lang, expected):
    assert compile_query(query).matches(item(title, text, lang)) is expected


@pytest.mark.parametrize("query,source,tags,expected", [
    ("source:picum", "picum", (), True),
    ("source:picum", "ecre", (), False),
    ("tag:ngo asylum", "x", ("NGO", "europe"), True),
    ("tag:ngo asylum", "x", ("media",), False),
    ("-source:tabloid asylum", "tabloid", (), False),
    ("(source:a OR tag:b) asylum", "z", ("b",), True),
])
def test_source_and_tag_filters(query, source, tags, expected):
    assert compile_query(query).matches(item("Asylum news", source=source, tags=tags)) is expected


def test_summary_is_part_of_the_default_field():
    assert compile_query("asylum").matches(item("News", summary="asylum office"))
    assert compile_query("summary:asylum").matches(item("News", summary="asylum office"))
    assert not compile_query("summary:asylum").matches(item("asylum", text="asylum"))


ERRORS = [
    ("(asylum OR refugee", "expected ')' to close '(' at col 1", 18),
    ("asylum AND (a OR (b c)", "expected ')' to close '(' at col 12", 22),
    ("asylum OR", "expected a term after 'OR'", 9),
    ("asylum AND OR refugee", "expected a term after 'AND', got 'OR'", 11),
    ("OR asylum", "expected a term before 'OR'", 0),
    ("asylum NOT", "expected a term after 'NOT'", 10),
    ("asylum)", "unexpected ')' with no '(' to close", 6),
    ("", "empty query", 0),
    ("   ", "empty query", 0),
    ("()", "empty parentheses", 0),
    ('asylum ""', "empty phrase", 7),
    ('asylum " , "', "empty phrase", 7),
    ('"asylum seekers', "expected '\"' to close the phrase opened at col 1", 15),
    ("a NEAR/x b", "expected a distance after 'NEAR/', e.g. NEAR/5", 7),
    ("a NEAR b", "expected a distance after 'NEAR/', e.g. NEAR/5", 6),
    ("a NEAR/ b", "expected a distance after 'NEAR/', e.g. NEAR/5", 7),
    ("a NEAR/500 b", "NEAR distance must be at most 100", 7),
    ("a NEAR/5", "expected a term after 'NEAR/5'", 8),
    ("(a AND b) NEAR/3 c", "NEAR needs a word, a phrase, a prefix or an OR-group of those on each side", 1),
    ("a NEAR/3 NOT b", "NEAR needs a word, a phrase, a prefix or an OR-group of those on each side", 9),
    ("foo:bar", "unknown field 'foo:'; expected one of title:, summary:, text:, source:, tag:, lang:", 0),
    ("asylum Title:x", None, None),  # field names are case-insensitive: valid
    ("title: asylum", "expected a term right after 'title:'", 6),
    ("source:(a OR b)", "expected a value after 'source:', such as source:picum", 7),
    ("lang:french", "expected a language code such as en or fr after 'lang:'", 5),
    ("mi*gr", "'*' is only allowed at the end of a word", 2),
    ("m*", "prefix too short: 'm*' needs at least 2 letters before '*'", 0),
    ("asylum -", "expected a term right after '-'", 8),
    ("asylum - refugee", "expected a term right after '-'", 8),
    ("asylum &", "'&' has no letters or digits to match", 7),
]


@pytest.mark.parametrize("query,message,pos", ERRORS)
def test_syntax_errors(query, message, pos):
    if message is None:
        compile_query(query)
        return
    with pytest.raises(RuleSyntaxError) as info:
        compile_query(query)
    assert str(info.value) == message
    assert info.value.pos == pos


def test_error_names_the_open_parenthesis_for_the_caller():
    with pytest.raises(RuleSyntaxError) as info:
        compile_query("x AND (y OR z")
    assert info.value.related == 6
    assert info.value.render(lambda p: f"7:{p + 12}") == "expected ')' to close '(' at 7:18"


def test_near_chain_means_each_neighbour_pair():
    q = compile_query("a1 NEAR/1 b1 NEAR/1 c1")
    assert q.matches(item("a1 x b1 y c1"))
    assert not q.matches(item("a1 x b1 y z c1"))


def test_describe():
    assert compile_query('pushback NEAR/5 (Greece OR "Evros river")').describe() == \
        'pushback NEAR (Greece OR "Evros river")'

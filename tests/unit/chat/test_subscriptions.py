"""What a member's words mean to /subscribe and /unsubscribe (bot.chat.subscriptions): themes
by slug, regions in any case and spelling, unknown words kept for the answer."""

from __future__ import annotations

import pytest

from bot.chat.subscriptions import describe, parse_targets

TITLES = {"pushbacks": "Pushbacks & violence", "detention": "Detention"}


@pytest.mark.parametrize("words, expected", [
    (["pushbacks"], (["pushbacks"], [], [])),
    (["Detention,", "europe"], (["detention"], ["Europe"], [])),
    (["middle", "east", "Asia"], ([], ["Middle East", "Asia"], [])),
    (["Middle-East"], ([], ["Middle East"], [])),
    (["middle_east", "pushbacks"], (["pushbacks"], ["Middle East"], [])),
    (["atlantis", ",", "pushbacks"], (["pushbacks"], [], ["atlantis"])),
    (["middle"], ([], [], ["middle"])),
])
def test_words_become_themes_regions_and_unknowns(words: list[str], expected: tuple) -> None:
    assert parse_targets(words, TITLES) == expected


def test_describe_names_titles_and_escapes() -> None:
    assert describe(None, None, TITLES) == "You follow all themes, everywhere."
    assert describe(["pushbacks"], ["Europe", "Asia"], TITLES) == "You follow Pushbacks &amp; violence, in Europe, Asia."
    assert describe([], [], TITLES) == "You follow no themes, in no region."
    assert describe(["retired"], None, TITLES) == "You follow retired, everywhere."

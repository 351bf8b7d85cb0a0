"""The check that a parameter's description says more than its name."""

from __future__ import annotations

import pytest

from lsp_server.features.restating import restates_name
from lsp_server.text import words


@pytest.mark.parametrize(
    ("name", "description"),
    [
        ("price", "The price."),
        ("rate", "the rate"),
        ("items", "A list of items."),
        ("item", "The items."),
        ("entries", "Entry values."),
        ("name", "The names"),
        ("maxTokens", "The max tokens value."),
        ("max_tokens", "The maximum tokens."),
        ("src_dir", "The source directory."),
        ("HTTPResponse", "An HTTP response object."),
        ("flag", ""),
    ],
)
def test_a_description_made_of_the_name_and_empty_words_restates_it(
    name: str, description: str
) -> None:
    assert restates_name(name, description)


@pytest.mark.parametrize(
    ("name", "description"),
    [
        ("price", "The price before the discount is applied."),
        ("rate", "Discount as a fraction of the price, from 0 to 1."),
        ("path", "File to read the settings from."),
        ("x", "Horizontal coordinate, in pixels."),
        ("max_len", "Longest line kept; longer ones are cut."),
        ("items", "What is in the cart."),
    ],
)
def test_a_description_that_says_what_the_parameter_is_for_does_not(
    name: str, description: str
) -> None:
    assert not restates_name(name, description)


def test_words_split_names_at_underscores_and_case_changes() -> None:
    assert words("parseHTTPResponse_v2") == ["parse", "http", "response", "v", "2"]

"""Quoting what people typed inside the tool's sentences: one pair of quotes, one full stop."""

from __future__ import annotations

import pytest

from lti_app.web.text_filters import quoted, sentence


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("More examples.", "“More examples.”"),
        ('"More examples."', "“More examples.”"),
        ("“More examples”", "“More examples”"),
        ("  spaced  ", "“spaced”"),
        (None, "“”"),
    ],
)
def test_quoted(typed: str | None, shown: str) -> None:
    assert quoted(typed) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("latest score: 3", "latest score: 3."),
        ("set by the teacher: “More examples.”", "set by the teacher: “More examples.”"),
        ("Done!", "Done!"),
        ("a list,", "a list."),
        ("", ""),
    ],
)
def test_sentence(text: str, shown: str) -> None:
    assert sentence(text) == shown

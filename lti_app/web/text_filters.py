"""Jinja filters for quoting what people typed inside the tool's own sentences.

A reason typed as "More examples." must not read “More examples.”. nor "examples.." on a page:
``quoted`` wraps it once in curly quotes, ``sentence`` ends a sentence with exactly one mark.
"""

from __future__ import annotations

from flask import Flask

_ENDS = (".", "!", "?", ".”", "!”", "?”", ".)", "…")


def quoted(text: str | None) -> str:
    """“text”, with quotes the person typed around it (straight or curly) taken off first."""
    inner = (text or "").strip().strip('"“”').strip()
    return f"“{inner}”"


def sentence(text: str | None) -> str:
    """The text with one full stop at its end, unless it already ends a sentence."""
    body = (text or "").rstrip()
    if not body or body.endswith(_ENDS):
        return body
    return body.rstrip(",;:") + "."


def init_app(app: Flask) -> None:
    app.jinja_env.filters["quoted"] = quoted
    app.jinja_env.filters["sentence"] = sentence

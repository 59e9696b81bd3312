"""The progress report as a PDF, made on the server from the print view's HTML.

WeasyPrint lays out HTML and CSS (paged media: @page, page breaks) in pure Python on pango,
without a browser. It is given the page as a string with its stylesheet inlined and may load
nothing else: its fetcher refuses every URL, so a report never makes the server read a file or
request an address.
"""

from __future__ import annotations

from typing import Any, NoReturn

from weasyprint import HTML
from weasyprint.urls import URLFetcher


class _NoFetch(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type information
    def fetch(self, url: str, headers: Any = None) -> NoReturn:
        raise ValueError(f"the report PDF loads nothing from outside: {url[:60]}")


def _document(html: str) -> Any:
    return HTML(string=html, url_fetcher=_NoFetch()).render()


def to_pdf(html: str) -> bytes:
    body = _document(html).write_pdf()
    assert isinstance(body, bytes)
    return body


def page_count(html: str) -> int:
    """How many pages the PDF of ``html`` has (the layout alone, no PDF written)."""
    return len(_document(html).pages)

"""CSV that HR opens in a spreadsheet: the one writer, with formulas neutralised.

A field that starts with ``=``, ``+``, ``-`` or ``@``, a tab or a carriage return (OWASP, "CSV
Injection"), or a NUL (ASVS 1.2.10) may be taken by Excel, LibreOffice or Google Sheets for a
formula: ``=HYPERLINK("http://x","y")`` as an applicant's name would become a link. ``write_csv``
prefixes such a field with a single quote, which the spreadsheet shows as text, and quotes
fields as RFC 4180 says (the ``csv`` module: a comma, a quote or a line break inside a field is
quoted). Every ``--csv`` of the ``hr`` command line goes through it; numbers written here are
never negative (scores, ranks, counts), so none loses its sign to the prefix.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
"""First characters that make a spreadsheet read a field as a formula."""


def neutralise(value: object) -> str:
    """A field as text, with a single quote before it if it could be read as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(rows: Iterable[Sequence[object]], header: Sequence[str]) -> str:
    """The header and the rows as CSV text (CRLF line ends), every field neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    writer.writerows([neutralise(value) for value in row] for row in rows)
    return out.getvalue()

"""A self-contained HTML document (a check report, a postmortem) as a PDF through WeasyPrint, the
optional dependency `pip install 'opsplan[pdf]'`.

Print layout: A4, page numbers, table headers repeated on each page, rows and charts not split,
inline SVG charts kept as vectors. Hangul needs a font that has it: the first of PREFERRED_FONTS
that fontconfig knows for Korean (`fc-list :lang=ko`), else any Korean family it lists, named
first in the print stylesheet. Without one the document is refused (one line, how to install
one) rather than printed as boxes, and after rendering the PDF must have embedded that font.
Nothing is fetched while rendering: the documents are self-contained, and a link in one must not
make the server read a file or a URL.
"""

from __future__ import annotations

import functools
import html as html_text
import logging
import re
import shutil
import subprocess
import warnings
from typing import Any

from opsplan.errors import OpsplanError, said

PREFERRED_FONTS = ("Noto Sans CJK KR", "NanumGothic", "Noto Sans KR")
_PLAIN_NAME = re.compile(r"[\w][\w .+-]*")
_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_PRINT_CSS = """
@page {{ size: A4; margin: 16mm 14mm 18mm 14mm;
  @bottom-center {{ content: counter(page) " / " counter(pages); font-family: {font}; font-size: 8pt;
                   color: #555; }} }}
html, body, svg, svg text, code, pre {{ font-family: {font}; }}
body {{ margin: 0; max-width: none; font-size: 9.5pt; line-height: 1.35; }}
h1 {{ font-size: 16pt; }} h2 {{ font-size: 12.5pt; }} h3 {{ font-size: 10.5pt; }}
h1, h2, h3 {{ break-after: avoid; }}
table {{ width: 100%; }} thead {{ display: table-header-group; }}
tr, li, svg, pre, p {{ break-inside: avoid; }}
td, th {{ overflow-wrap: anywhere; }}
pre {{ white-space: pre-wrap; overflow-wrap: anywhere; font-size: 7.5pt; }}
svg {{ max-width: 100%; height: auto; }}
"""


class PdfError(OpsplanError):
    """A PDF cannot be made here (WeasyPrint or a Korean font missing, or rendering failed)."""


def _weasyprint() -> Any:
    try:
        with warnings.catch_warnings():  # "No fonts configured": korean_font() has said so in one line
            warnings.simplefilter("ignore", UserWarning)
            import weasyprint
    except (ImportError, OSError):  # not installed, or Pango's libraries missing (OSError from cffi)
        raise said(PdfError, "pdf.error.no_weasyprint") from None
    return weasyprint


def korean_fonts() -> list[str]:
    """The font families fontconfig has for Korean, the preferred ones first."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise said(PdfError, "pdf.error.no_fc_list")
    try:
        listed = subprocess.run([fc_list, ":lang=ko", "family"], capture_output=True, text=True, timeout=30,
                                check=False).stdout
    except (OSError, subprocess.SubprocessError):
        raise said(PdfError, "pdf.error.no_fc_list") from None
    # One font a line, its family names separated by commas ("Noto Sans CJK KR,Noto Sans CJK KR Bold").
    # A name goes into a stylesheet and an attribute between quotes: plain names only.
    families = sorted({name.strip().replace("\\-", "-") for line in listed.splitlines()
                       for name in line.split(",") if _PLAIN_NAME.fullmatch(name.strip().replace("\\-", "-"))})
    # Then any other, a Korean cut ("... KR") before a Japanese or Chinese one of the same glyphs.
    others = sorted((f for f in families if f not in PREFERRED_FONTS), key=lambda f: (not f.endswith(" KR"), f))
    return [f for f in PREFERRED_FONTS if f in families] + others


def korean_font() -> str:
    """The family the PDF names first for Hangul; PdfError when fontconfig has none."""
    found = korean_fonts()
    if not found:
        raise said(PdfError, "pdf.error.no_korean_font")
    return found[0]


@functools.cache
def unavailable() -> str | None:
    """Why this process cannot make PDFs (the error's English line), or None when it can: for a page
    that offers a PDF link only where it would work. Checked once a process."""
    try:
        korean_font()
        _weasyprint()
    except PdfError as exc:
        return str(exc)
    return None


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"a PDF is made from a self-contained document: not fetching {url[:60]!r}")


def _no_fetching(weasyprint: Any) -> Any:
    """A URL fetcher that fetches nothing: a `URLFetcher` subclass where WeasyPrint has the class (70
    does, and reads the instance's settings when a fetch fails), else a plain function (older ones)."""
    base = getattr(weasyprint, "URLFetcher", None)
    if base is None:
        return _refuse_fetch

    class Refusing(base):  # type: ignore[misc, valid-type]
        def fetch(self, url: str, headers: Any = None) -> Any:
            return _refuse_fetch(url)

    return Refusing()


def html_to_pdf(html: str) -> bytes:
    """The document as PDF bytes; PdfError (one line) when it cannot be made with Hangul readable."""
    font = korean_font()  # first: WeasyPrint warns on import when fontconfig has no font at all
    weasyprint = _weasyprint()
    family = f'"{font}", sans-serif'
    # WeasyPrint draws an inline <svg> with its own renderer, which reads the font from the SVG's
    # attributes, not from the page's stylesheet: without this a chart's Hangul takes whatever
    # fontconfig falls back to (a Japanese face).
    html = re.sub(r"<svg\b", f'<svg font-family="{html_text.escape(font)}, sans-serif"', html)
    # WeasyPrint reports a refused fetch or an unsupported CSS property as a warning: the documents
    # have none worth telling an operator about, and the CLI's output stays one line.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = _no_fetching(weasyprint)
    try:
        document = weasyprint.HTML(string=html, url_fetcher=fetcher).render(
            stylesheets=[weasyprint.CSS(string=_PRINT_CSS.format(font=family), url_fetcher=fetcher)])
        data: bytes = document.write_pdf()
    except Exception as exc:  # WeasyPrint raises what its parsers and Pango raise
        raise said(PdfError, "pdf.error.render_failed", reason=type(exc).__name__) from None
    used = {getattr(f, "family", "") for f in getattr(document, "fonts", {}).values()}
    if _HANGUL.search(html) and font not in used:
        raise said(PdfError, "pdf.error.font_not_used", font=font)
    return data

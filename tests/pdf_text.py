"""What a PDF says, read back with pypdf: its embedded font names, its text layer (as a reader's
copy-and-paste or a search in a PDF viewer sees it), its pages and their sizes, and its images.
`pdftotext` (poppler-utils) cross-checks where it is installed."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader


@dataclass
class PdfText:
    fonts: list[str]  # BaseFont names without their subset tag ("NotoSansCJKkr-Regular")
    text: str  # every page's text
    pages: int
    page_sizes: list[tuple[float, float]]  # each page's MediaBox width and height, in points
    images: int  # image XObjects (a chart drawn as vectors adds none)


def read_pdf(data: bytes) -> PdfText:
    reader = PdfReader(io.BytesIO(data))
    fonts: set[str] = set()
    images = 0
    for page in reader.pages:
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else {}
        fonts |= _fonts(resources, set())
        images += len(page.images)
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return PdfText(sorted(fonts), text, len(reader.pages), sizes, images)


def _fonts(resources: Any, seen: set[int]) -> set[str]:
    """The fonts of a page's resources and of the forms (SVG charts) drawn on it."""
    found: set[str] = set()
    if id(resources) in seen:
        return found
    seen.add(id(resources))
    for font in (resources.get("/Font") or {}).values():
        name = str(font.get_object().get("/BaseFont", ""))
        found.add(name.lstrip("/").split("+", 1)[-1])
    for xobject in (resources.get("/XObject") or {}).values():
        inner = xobject.get_object().get("/Resources")
        if inner is not None:
            found |= _fonts(inner.get_object(), seen)
    return found


def pdftotext(path: str) -> str | None:
    """poppler's reading of the PDF, where poppler-utils is installed (None elsewhere)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    return subprocess.run([tool, "-layout", path, "-"], capture_output=True, text=True, check=True).stdout

"""What a PDF says, read back without a PDF library (pypdf is not a dependency): its embedded font
names and its text layer, decoded through each font's ToUnicode map, as a reader's copy-and-paste
or a search in a PDF viewer would see it. Enough for the PDFs WeasyPrint writes (Flate streams,
object streams, Type0 and TrueType fonts); `pdftotext` (poppler-utils) is used to cross-check
where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n")


@dataclass
class PdfText:
    fonts: list[str]  # BaseFont names without their subset tag ("Noto-Sans-CJK-KR")
    text: str  # every text run, a line per positioned run
    pages: int
    page_sizes: list[tuple[float, float]]  # each page's MediaBox width and height, in points
    images: int  # image XObjects (a chart drawn as vectors adds none)


def _objects(data: bytes) -> tuple[dict[int, bytes], dict[int, bytes]]:
    """(object number -> its dictionary text, object number -> its decompressed stream)."""
    dicts: dict[int, bytes] = {}
    streams: dict[int, bytes] = {}
    for match in _OBJECT.finditer(data):
        number, body = int(match.group(1)), match.group(2)
        head, _, rest = body.partition(b"stream")
        dicts[number] = head
        if rest:
            length = re.search(rb"/Length (\d+)", head)
            raw = rest.lstrip(b"\r\n")[: int(length.group(1))] if length else rest
            streams[number] = zlib.decompress(raw) if b"/FlateDecode" in head else raw
    for number, head in list(dicts.items()):  # objects packed in object streams (PDF 1.5+)
        if b"/ObjStm" not in head:
            continue
        first = int(re.search(rb"/First (\d+)", head).group(1))
        body = streams[number]
        pairs = [int(x) for x in body[:first].split()]
        offsets = list(zip(pairs[::2], pairs[1::2], strict=True))
        for index, (inner, offset) in enumerate(offsets):
            end = first + offsets[index + 1][1] if index + 1 < len(offsets) else len(body)
            dicts[inner] = body[first + offset:end]
    return dicts, streams


def _cmap(text: bytes) -> tuple[dict[bytes, str], int]:
    """A ToUnicode CMap: code (bytes) -> text, and the code length in bytes."""
    space = re.search(rb"begincodespacerange\s*<([0-9a-fA-F]+)>", text)
    width = len(space.group(1)) // 2 if space else 2
    found: dict[bytes, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for code, value in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            found[bytes.fromhex(code.decode())] = bytes.fromhex(value.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, value in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            start, stop = int(low, 16), int(high, 16)
            base = bytes.fromhex(value.decode()).decode("utf-16-be")
            for offset in range(stop - start + 1):
                code = (start + offset).to_bytes(width, "big")
                found[code] = base[:-1] + chr(ord(base[-1]) + offset)
    return found, width


def _decode(hexes: list[bytes], cmap: tuple[dict[bytes, str], int]) -> str:
    table, width = cmap
    raw = b"".join(bytes.fromhex(h.decode()) for h in hexes)
    return "".join(table.get(raw[i:i + width], "\ufffd") for i in range(0, len(raw), width))


def read_pdf(data: bytes) -> PdfText:
    assert data.startswith(b"%PDF-"), data[:20]
    dicts, streams = _objects(data)
    fonts: dict[bytes, tuple[dict[bytes, str], int]] = {}
    names = []
    for head in dicts.values():
        base = re.search(rb"/BaseFont\s*/([A-Z]{6})\+([^\s/<>\[\]]+)", head)
        if base is None:
            continue
        names.append(base.group(2).decode())
        unicode_map = re.search(rb"/ToUnicode (\d+) 0 R", head)
        if unicode_map:
            fonts[base.group(1)] = _cmap(streams[int(unicode_map.group(1))])
    lines = []
    token = re.compile(rb"/([A-Za-z0-9]+)\s+[\d.]+\s+Tf|\[([^\[\]]*)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj"
                       rb"|(-?[\d.]+)\s+Tm\b|\b(ET|Td|TD|T\*)\b", re.S)
    for number, stream in streams.items():
        head = dicts[number]
        # Page contents and form XObjects (a chart's text) only: a font file may hold "BT" too.
        if (b"BT" not in stream or (b"/Subtype" in head and b"/Form" not in head) or b"/Length1" in head
                or b"/ObjStm" in head or b"/XRef" in head):
            continue
        font: tuple[dict[bytes, str], int] = ({}, 2)
        line: list[str] = []
        baseline = b""
        for match in token.finditer(stream):
            if match.group(1):
                font = fonts.get(match.group(1), ({}, 2))
            elif match.group(2) is not None:
                line.append(_decode(re.findall(rb"<([0-9a-fA-F]*)>", match.group(2)), font))
            elif match.group(3) is not None:
                line.append(_decode([match.group(3)], font))
            elif match.group(4) is not None and match.group(4) == baseline:
                continue  # the next glyphs of the same line (a chart's text)
            elif line:
                lines.append("".join(line))
                line = []
            if match.group(4) is not None:
                baseline = match.group(4)
        if line:
            lines.append("".join(line))
    heads = b"".join(dicts.values())
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", heads))
    sizes = [(float(w) - float(x), float(h) - float(y)) for x, y, w, h in
             re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", heads)]
    images = len(re.findall(rb"/Subtype\s*/Image", heads))
    return PdfText(sorted(set(names)), "\n".join(lines), pages, sizes, images)


def pdftotext(path: str) -> str | None:
    """poppler's reading of the PDF, where poppler-utils is installed (None elsewhere)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    return subprocess.run([tool, "-layout", path, "-"], capture_output=True, text=True, check=True).stdout

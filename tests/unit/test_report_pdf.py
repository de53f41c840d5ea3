"""`opsplan report export ID --format pdf`: a real daily check run over a real metrics store, exported
as PDF through WeasyPrint and read back (tests/pdf_text.py): Hangul is in the text layer, drawn with
the CJK font the export chose, the charts stay vectors, pages are A4 and numbered. Without a Korean
font (fontconfig pointed at an empty font folder) or without WeasyPrint the command says so in one
line and writes nothing, never a PDF of boxes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsplan import pdf
from pdf_text import pdftotext, read_pdf
from unit.test_checks_runs import invoke, planned

SRC = Path(__file__).resolve().parents[2] / "src"
needs_pdf = pytest.mark.skipif(pdf.unavailable() is not None,
                               reason=f"no PDF here: {pdf.unavailable()} (scripts/setup.sh test installs it)")


def a_daily_run(tmp_path: Path) -> tuple[Path, int]:
    path = planned(tmp_path)
    run = json.loads(invoke(path, "check", "run", "daily", "--for", "2026-11-30", "--json").output)
    return path, run["id"]


def export_cli(path: Path, run_id: int, out: Path, env: dict[str, str], *pre: str) -> subprocess.CompletedProcess:
    """The export in a process of its own: fontconfig reads its configuration once a process."""
    code = "; ".join(["import sys", *pre, "from opsplan.cli.main import main", "sys.exit(main())"])
    return subprocess.run([sys.executable, "-c", code, "--plan", str(path), "report", "export", str(run_id),
                           "--format", "pdf", "--lang", "ko", "--out", str(out)],
                          env={**os.environ, "PYTHONPATH": str(SRC), "OPSPLAN_LANG": "en", **env},
                          capture_output=True, text=True, timeout=120, check=False)


@needs_pdf
def test_a_korean_report_as_pdf_has_hangul_in_a_korean_font_charts_as_vectors_and_numbered_pages(tmp_path):
    path, run_id = a_daily_run(tmp_path)
    out = tmp_path / "daily.ko.pdf"
    done = invoke(path, "report", "export", str(run_id), "--format", "pdf", "--lang", "ko", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert out.stat().st_mode & 0o077 == 0  # a report names hosts and people: its owner's only
    data = out.read_bytes()
    document = read_pdf(data)
    chosen = pdf.korean_font().replace(" ", "-")
    assert any(name.startswith(chosen) for name in document.fonts), document.fonts
    # Every font embedded is the Korean one: no Hangul left to a fallback face.
    assert all(name.startswith(chosen) for name in document.fonts), document.fonts
    text = document.text
    assert "\ufffd" not in text  # every glyph maps back to its character (search, copy and paste work)
    assert "일일 점검 보고서 #" in text and "점검 기간" in text and "2026-11-30 09:00:00 KST" in text
    assert "마운트 지점 /data의 디스크 사용률이 95%로" in text
    assert "시각 (KST)" in text and "경고 임계값 80%" in text  # a chart's own text, drawn as text
    assert f"1 / {document.pages}" in text and document.pages >= 2
    # A4 portrait (595 x 842 points), and the charts drawn as paths: no picture of a chart.
    assert document.page_sizes and {(round(w), round(h)) for w, h in document.page_sizes} == {(595, 842)}
    assert document.images == 0
    poppler = pdftotext(str(out))
    if poppler is not None:  # where poppler-utils is installed, it reads the same words
        assert "일일 점검 보고서" in poppler and "/data" in poppler
    english = tmp_path / "daily.en.pdf"
    assert invoke(path, "report", "export", str(run_id), "--format", "pdf", "--lang", "en",
                  "--out", str(english)).exit_code == 0
    assert "Daily check report #" in read_pdf(english.read_bytes()).text


@needs_pdf
def test_a_pdf_goes_to_standard_output_when_it_is_not_a_terminal(tmp_path):
    path, run_id = a_daily_run(tmp_path)
    done = subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(path), "report", "export", str(run_id),
                           "--format", "pdf"], env={**os.environ, "PYTHONPATH": str(SRC)},
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Daily check report #" in read_pdf(done.stdout).text  # the plan's language (en)


def test_without_a_korean_font_the_export_is_one_line_and_writes_nothing(tmp_path):
    path, run_id = a_daily_run(tmp_path)
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    config = tmp_path / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>{empty}</dir>'
                      f"<cachedir>{tmp_path / 'font-cache'}</cachedir></fontconfig>", encoding="utf-8")
    out = tmp_path / "boxes.pdf"
    done = export_cli(path, run_id, out, {"FONTCONFIG_FILE": str(config)})
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no font with Korean glyphs" in lines[0] and "fonts-noto-cjk" in lines[0], lines
    assert not out.exists()


def test_without_weasyprint_the_export_says_how_to_install_it(tmp_path):
    path, run_id = a_daily_run(tmp_path)
    out = tmp_path / "none.pdf"
    # As on a machine without the extra: importing WeasyPrint fails (a None entry makes `import` raise).
    done = export_cli(path, run_id, out, {}, "sys.modules['weasyprint'] = None")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'opsplan[pdf]'" in lines[0] and "libpango-1.0-0" in lines[0], lines
    assert not out.exists()


@needs_pdf
def test_rendering_fetches_nothing_a_document_points_at(tmp_path):
    from PIL import Image

    picture = tmp_path / "secret.png"
    Image.new("RGB", (40, 40), "red").save(picture)
    stylesheet = tmp_path / "big.css"
    stylesheet.write_text("p { font-size: 90pt }", encoding="utf-8")
    document = read_pdf(pdf.html_to_pdf(
        f'<html><head><link rel="stylesheet" href="file://{stylesheet}"></head><body><p>가나다</p>'
        f'<img src="file://{picture}"><p style="background: url(file://{picture})">x</p>'
        f'<svg width="40" height="40"><image href="file://{picture}" width="40" height="40"/></svg></body></html>'))
    assert document.images == 0 and "가나다" in document.text
    assert document.pages == 1  # the 90 pt stylesheet was not read either


@needs_pdf
def test_a_pdf_is_not_written_to_a_terminal(tmp_path):
    import pty

    path, run_id = a_daily_run(tmp_path)
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(path), "report", "export", str(run_id),
                               "--format", "pdf"], env={**os.environ, "PYTHONPATH": str(SRC)}, stdout=terminal,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 2
    assert done.stderr.strip() == ("opsplan: a PDF is not printed to a terminal: give --out FILE or redirect the "
                                   "output to a file")

"""`opsplan init`: the seed's plan as a commented opsplan.yaml, in Korean or English.

The packaged default.{ko,en}.yaml files are the output itself (not generated from `Plan()`),
so their comments survive; tests hold them equal to `Plan()`.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Literal

from opsplan.errors import PlanError
from opsplan.i18n import t

Language = Literal["ko", "en"]
LANGUAGES: tuple[Language, ...] = ("ko", "en")


def template_text(language: Language) -> str:
    """The commented default plan whose comments (and `language:`) are in `language`."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return resources.files("opsplan.plan").joinpath(f"default.{language}.yaml").read_text(encoding="utf-8")


def write_template(path: Path, language: Language, *, force: bool = False) -> None:
    """Write the default plan to `path`; an existing file is kept unless `force`."""
    if path.is_dir():
        raise PlanError(t("plan.error.is_directory", "en"), path=str(path), ko=t("plan.error.is_directory", "ko"))
    if path.exists() and not force:
        raise PlanError(t("plan.error.exists", "en"), path=str(path), ko=t("plan.error.exists", "ko"))
    text = template_text(language)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so an interrupted init never leaves half a plan.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        detail = (exc.strerror or str(exc)).lower()
        raise PlanError(t("plan.error.cannot_write", "en", detail=detail), path=str(path),
                        ko=t("plan.error.cannot_write", "ko", detail=detail)) from None

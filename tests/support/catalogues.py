"""The message catalogues: the respondent's pages are checked in Turkish, Dutch and Estonian, so
the catalogues must be compiled. `make test` does it; ``compile_catalogues`` (and the session
fixture ``compiled_catalogues`` of tests/conftest.py) does it too when a .mo file is missing or
older than its .po, so that `pytest tests/respond/test_x.py` works from a clone."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"


def compile_catalogues() -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source, locale=po.parent.parent.name)
        # Written aside and moved in: another test process may be reading the old file.
        handle, temporary = tempfile.mkstemp(dir=po.parent, suffix=".mo-tmp")
        with os.fdopen(handle, "wb") as target:
            write_mo(target, catalogue)
        os.replace(temporary, mo)

"""Jinja's compiled templates shared by every app a test process builds.

Each test builds its own app, and each app's Jinja environment would compile every template it
renders again (a fifth of the time of a page-heavy test file). The cache is keyed by template
name and a checksum of its source, so an edited template is compiled afresh."""

from __future__ import annotations

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class SharedBytecode(BytecodeCache):
    """Compiled templates kept in this process's memory."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedBytecode()

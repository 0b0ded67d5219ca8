"""A study pack or a 容错自查 result as a file to hand over — its name, media type and bytes —
the same for the REST API, the web UI and the CLI. What the file says is written by
study_export.py and self_check_export.py."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import self_check_export, study_export
from .self_check import SelfCheckResult
from .study import StudyPack

MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    data: bytes

    def temp_file(self) -> Path:
        """The file under its own name in a fresh folder (a gradio file output is served from a path)."""
        path = Path(tempfile.mkdtemp(prefix="policyqa-download-")) / self.filename
        path.write_bytes(self.data)
        return path


def study_pack(pack: StudyPack, fmt: str) -> Download:
    return _download(pack, pack.file_stem, fmt, study_export.to_markdown, study_export.to_docx)


def self_check(result: SelfCheckResult, fmt: str) -> Download:
    return _download(result, self_check_export.TITLE, fmt, self_check_export.to_markdown, self_check_export.to_docx)


def _download(content, stem: str, fmt: str, markdown: Callable[..., str], word: Callable[..., bytes]) -> Download:
    media_type = MEDIA_TYPES[fmt]  # a KeyError: a format no file is written in (JSON is sent as it is)
    data = word(content) if fmt == "docx" else markdown(content).encode("utf-8")
    return Download(f"{stem}.{fmt}", media_type, data)

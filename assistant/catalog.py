"""The corpus catalog: what each document is (title, issuer, dates, kind, status).

`corpus/catalog.toml` describes the shipped documents. A file in the corpus folder without
an entry still loads; its metadata is derived from the file itself.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .audience import AudienceError, default_audiences

CATALOG_FILE = "catalog.toml"
DATE_KEYS = ("adopted", "promulgated", "revised", "published", "effective")
KINDS = ("law", "administrative regulation", "party regulation", "party normative document", "opinion",
         "news report", "other")
KIND_NAMES = {
    "law": "法律",
    "administrative regulation": "行政法规",
    "party regulation": "党内法规",
    "party normative document": "党内规范性文件",
    "opinion": "意见",
    "news report": "新闻报道",
    "other": "其他",
}
# How lists of documents are ordered: the opinion (or its report) first, then laws, regulations,
# Party regulations, the rest.
KIND_ORDER = {"news report": 0, "opinion": 0, "law": 1, "administrative regulation": 2, "party regulation": 3,
              "party normative document": 4}
UNCATALOGUED_STATUS = "未登记（目录中无此文件的信息，效力未核实）"


class CatalogError(ValueError):
    """The catalog file itself is unusable."""


@dataclass(frozen=True)
class DocInfo:
    id: str
    file: str
    title: str
    short_title: str
    kind: str = "other"
    status: str = UNCATALOGUED_STATUS
    issuer: str = ""
    number: str = ""
    dates: dict[str, str] = field(default_factory=dict)
    note: str = ""
    catalogued: bool = True
    applies_to: tuple[str, ...] = ()  # audience ids (data/audiences.toml): whom the document governs
    superseded_by: str = ""  # id of the catalog document that replaced this one

    @property
    def cite_title(self) -> str:
        """How citations name the document: the full title in 《》; a news report is cited
        by the short title of what it reports on, marked as a report."""
        if self.kind == "news report":
            return f"《{self.short_title}》（新闻报道）"
        return f"《{self.title}》"

    @property
    def cite_short(self) -> str:
        if self.kind == "news report":
            return f"《{self.short_title}》（新闻报道）"
        return f"《{self.short_title}》"

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    def status_on(self, today: str) -> str:
        """The status as of a date (ISO): not yet in force before its effective date."""
        effective = self.dates.get("effective", "")
        if effective and today < effective:
            return f"尚未施行（{effective}起施行）"
        return self.status

    @property
    def date(self) -> str:
        """The most telling date: when it took effect, else when it was issued."""
        for key in ("effective", "published", "promulgated", "adopted", "revised"):
            if self.dates.get(key):
                return self.dates[key]
        return ""


def load_catalog(corpus_dir: Path) -> dict[str, DocInfo]:
    """Catalog entries keyed by file name. A missing catalog is an empty one."""
    path = corpus_dir / CATALOG_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"目录文件 {path} 无法解析 / cannot parse the catalog: {exc}") from exc
    entries: dict[str, DocInfo] = {}
    ids: set[str] = set()
    for i, raw in enumerate(data.get("document", []), 1):
        missing = [k for k in ("id", "file", "title") if not raw.get(k)]
        if missing:
            raise CatalogError(f"{path}: document #{i} lacks {', '.join(missing)}")
        if raw["id"] in ids:
            raise CatalogError(f"{path}: duplicate id {raw['id']!r}")
        kind = raw.get("kind", "other")
        if kind not in KINDS:
            raise CatalogError(f"{path}: document {raw['id']!r} has unknown kind {kind!r} (one of {KINDS})")
        ids.add(raw["id"])
        applies_to = tuple(raw.get("applies_to", ()))
        try:
            default_audiences().check(applies_to)
        except AudienceError as exc:
            raise CatalogError(f"{path}: document {raw['id']!r}: {exc}") from None
        entries[raw["file"]] = DocInfo(
            id=raw["id"],
            file=raw["file"],
            title=raw["title"],
            short_title=raw.get("short_title") or raw["title"],
            kind=kind,
            status=raw.get("status", ""),
            issuer=raw.get("issuer", ""),
            number=raw.get("number", ""),
            dates={k: str(raw[k]) for k in DATE_KEYS if raw.get(k)},
            note=raw.get("note", ""),
            applies_to=applies_to,
            superseded_by=str(raw.get("superseded_by", "")),
        )
    return entries


def doc_id_for_file(file_name: str) -> str:
    """A stable id for an uncatalogued file: its stem, reduced to safe characters."""
    stem = Path(file_name).stem
    slug = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff_-]+", "-", stem).strip("-").lower()
    return slug or "document"


def uncatalogued(file_name: str, title: str) -> DocInfo:
    return DocInfo(
        id=doc_id_for_file(file_name),
        file=file_name,
        title=title,
        short_title=title,
        catalogued=False,
    )

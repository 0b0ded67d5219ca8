"""Turn a document file into the plain text that clauses are cut from.

The returned text is the document's *source text*: every clause's offsets and verbatim
quotes refer to it. For .txt/.md it is the file's own text (newlines normalised); for
.docx/.pdf/.html it is the extracted text, one paragraph per line pair, headings marked
with `#` so the splitter sees the document's structure.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
# Sentence-final punctuation after which a PDF line break is a real paragraph break.
_PARA_END = tuple("。！？；：!?;:”」』）)")
_HEADING_LINE = re.compile(r"^(第[零〇一二三四五六七八九十百千0-9]+[章节编]|#)")
_STRUCTURE_LINE = re.compile(
    r"^(第[零〇一二三四五六七八九十百千0-9]+[章节条]|[（(][一二三四五六七八九十]+[）)]|#)"
)


class LoadError(ValueError):
    """A file that cannot be read as a document; the message says why, in Chinese and English."""


@dataclass(frozen=True)
class LoadedText:
    text: str
    heading: str  # first heading, or "" — the title of an uncatalogued document


def load_document(path: Path) -> LoadedText:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            f"不支持的文件类型 {suffix or '（无扩展名）'}，支持 {' '.join(SUPPORTED_SUFFIXES)} / "
            f"unsupported file type {suffix!r}"
        )
    data = path.read_bytes()
    if suffix in (".txt", ".md"):
        text = _plain_text(data, path.name)
    elif suffix == ".docx":
        text = _docx_text(path)
    elif suffix == ".pdf":
        text = _pdf_text(path)
    else:
        text = _html_text(data)
    if not text.strip():
        raise LoadError(f"{path.name}：文件中没有可用的文字 / no text found in the file")
    return LoadedText(text=text, heading=_first_heading(text))


def _plain_text(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise LoadError(f"{name}：看起来是二进制文件，不是文本 / looks like a binary file, not text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LoadError(f"{name}：无法识别文字编码（支持 UTF-8、GB18030）/ unknown text encoding")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text) // 100):
        raise LoadError(f"{name}：含大量控制字符，不是文本文件 / too many control characters for a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _docx_text(path: Path) -> str:
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"{path.name}：不是有效的 Word 文档 / not a valid .docx file ({exc})") from exc
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):  # a table: one line per row
            for row in item.rows:
                cells = [c.text.strip() for c in row.cells]
                if any(cells):
                    blocks.append(" | ".join(cells))
            continue
        text = item.text.strip()
        if not text:
            continue
        level = _heading_level(item.style.name if item.style is not None else "")
        blocks.append(("#" * level + " " + text) if level else text)
    return "\n\n".join(blocks)


def _heading_level(style_name: str) -> int:
    if style_name in ("Title", "标题"):
        return 1
    match = re.match(r"^(?:Heading|标题)\s*(\d)$", style_name)
    return min(int(match.group(1)) + 1, 6) if match else 0


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"{path.name}：PDF 无法解析 / cannot parse the PDF ({exc})") from exc
    lines = [line.strip() for page in pages for line in page.splitlines()]
    text = "\n\n".join(_rejoin_wrapped_lines([line for line in lines if line]))
    if not text.strip():
        raise LoadError(f"{path.name}：PDF 中没有可提取的文字（可能是扫描件）/ no extractable text (scanned?)")
    return text


def _rejoin_wrapped_lines(lines: list[str]) -> list[str]:
    """PDF text breaks lines where the page did; Chinese paragraphs are rejoined without
    spaces unless the line ends a sentence, or either line is a heading, 条 or 项."""
    paragraphs: list[str] = []
    for line in lines:
        prev = paragraphs[-1] if paragraphs else ""
        if prev and not prev.endswith(_PARA_END) and not _STRUCTURE_LINE.match(line) \
                and not _HEADING_LINE.match(prev):
            paragraphs[-1] = prev + line
        else:
            paragraphs.append(line)
    return paragraphs


_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "table", "tr", "td", "th", "section", "article", "br",
    "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "main", "dd", "dt",
    "body", "html",
}


def _html_text(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["head", "script", "style", "noscript", "template"]):
        tag.decompose()
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = re.sub(r"\s+", " ", "".join(current)).strip()
        if line.strip("# "):
            lines.append(line)
        current.clear()

    def walk(node) -> None:
        for child in node.children:
            name = getattr(child, "name", None)
            if name is None:
                current.append(str(child))
            elif name in _BLOCK_TAGS:
                flush()
                if re.fullmatch(r"h[1-6]", name):
                    current.append("#" * int(name[1]) + " ")
                walk(child)
                flush()
            else:
                walk(child)

    walk(soup)
    flush()
    if title and not any(line.startswith("#") for line in lines):
        lines.insert(0, "# " + title)
    return "\n\n".join(lines)


def _first_heading(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line.lstrip("#").strip()[:80]
    return ""

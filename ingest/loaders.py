"""Read guidance files (.md, .txt, .html, .pdf) into structured Documents.

Each loader recovers document -> section -> sub-section -> paragraph and drops
boilerplate (navigation, footers, cookie banners, marketing). A file that cannot be
read raises CorpusError naming it, so one broken file never stops the others.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml

from ingest.errors import CorpusError
from ingest.model import Block, Document

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
DEFAULT_JURISDICTION = "England and Wales"

# Publisher marketing and disclaimers that are not guidance. Matched per paragraph,
# case-insensitively; a match drops the paragraph (and a heading that matches drops
# its whole section).
BOILERPLATE_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^check if \w[\w ]{0,40} can help",
        r"^solve your legal question",
        r"for general information only and does not constitute",
        r"not regulated by the solicitors regulation authority",
        r"\bwe use cookies\b",
        r"^(accept|reject) (all )?cookies",
        r"^skip to (main )?content",
        r"^(share|print) this page",
    )
)

_HTML_DROP_TAGS = ("script", "style", "nav", "footer", "header", "aside", "form", "noscript", "iframe", "svg", "button")
_HTML_DROP_ATTR = re.compile(r"cookie|consent|banner|breadcrumb|navbar|menu|footer|share|newsletter|skip-link|sidebar", re.I)


def discover_files(paths: list[Path], refused: list[CorpusError] | None = None) -> list[Path]:
    """Expand folders into the supported files below them, sorted for stable order.

    A file in a folder that is, or sits behind, a link leading outside that folder is
    left out and reported in `refused` (a `notes.md -> ../.env` link must not become
    a citation).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for p in sorted(path.rglob("*")):
                if not (p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith((".", "README"))):
                    continue
                if root not in p.resolve().parents:
                    if refused is not None:
                        refused.append(CorpusError(str(p), "a link that leads outside the corpus folder (skipped)"))
                    continue
                found.append(p)
        elif path.is_file():
            found.append(path)
        else:
            raise CorpusError(str(path), "no such file or folder")
    return found


def content_hash(raw: bytes) -> str:
    """A file's version: the hash of its bytes (`Document.content_hash`)."""
    return hashlib.sha256(raw).hexdigest()


def load_document(path: Path, max_bytes: int | None = None) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CorpusError(str(path), f"unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise CorpusError(str(path), f"file is larger than the {max_bytes:,}-byte limit (SIGNPOST_MAX_FILE_BYTES)")
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(str(path), f"cannot read file ({exc.strerror or exc})") from None
    if not raw.strip():
        raise CorpusError(str(path), "file is empty")
    if suffix == ".pdf":
        meta, blocks = _parse_pdf(path, raw)
    else:
        text = _decode(path, raw)
        if suffix in (".md", ".markdown"):
            meta, blocks = _parse_markdown(text)
        elif suffix in (".html", ".htm"):
            meta, blocks = _parse_html(text)
        else:
            meta, blocks = {}, _parse_plain_text(text)
    blocks = [b for b in blocks if not _is_boilerplate(b.text)]
    if not any(b.kind == "paragraph" for b in blocks):
        raise CorpusError(str(path), "no readable guidance text found")
    title = str(meta.get("title") or (blocks[0].section if blocks else path.stem))
    doc_id = _slug(str(meta.get("id") or path.stem))
    return Document(
        doc_id=doc_id,
        title=title,
        source=str(meta.get("source") or path.name),
        content_hash=content_hash(raw),
        jurisdiction=str(meta.get("jurisdiction") or DEFAULT_JURISDICTION),
        last_reviewed=str(meta.get("last_reviewed") or ""),
        blocks=tuple(blocks),
    )


def _decode(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(str(path), f"not valid UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if "\x00" in text:
        raise CorpusError(str(path), "contains NUL bytes; is it really a text file?")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _is_boilerplate(text: str) -> bool:
    return any(p.search(text) for p in BOILERPLATE_PATTERNS)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "document"


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text).strip()


# --- Markdown ---------------------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def _md_inline(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    return text


FRONT_MATTER_MAX_CHARS = 4096
FRONT_MATTER_MAX_VALUE = 500


def _front_matter(block: str) -> dict:
    """Front matter as a flat mapping of short scalars. Anchors and aliases are refused
    before anything is built (a 340-byte alias bomb expands to megabytes)."""
    if len(block) > FRONT_MATTER_MAX_CHARS:
        raise CorpusError("front matter", f"front matter is longer than {FRONT_MATTER_MAX_CHARS} characters")
    try:
        for event in yaml.parse(block, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise CorpusError("front matter", "front matter may not use YAML anchors or aliases")
        meta = yaml.safe_load(block) or {}
    except yaml.YAMLError as exc:
        raise CorpusError("front matter", f"front matter is not valid YAML ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise CorpusError("front matter", "front matter must be key: value lines")
    for key, value in meta.items():
        if isinstance(value, (dict, list)) or len(str(value)) > FRONT_MATTER_MAX_VALUE:
            raise CorpusError("front matter", f"front matter {str(key)[:40]!r} must be a single value under {FRONT_MATTER_MAX_VALUE} characters")
    return meta


def _parse_markdown(text: str) -> tuple[dict, list[Block]]:
    meta: dict = {}
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            meta = _front_matter(text[4:end])
            text = text[end + 4 :]
    headings = re.findall(r"^(#{1,6})\s", text, flags=re.M)
    levels = sorted({len(h) for h in headings})
    # A lone H1 above H2 sections is the document title, not a section.
    title_level = 1 if headings.count("#") == 1 and len(levels) > 1 else 0
    section_level = next((lv for lv in levels if lv != title_level), 2)

    blocks: list[Block] = []
    section, subsection = meta.get("title", ""), ""
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para or re.fullmatch(r"<!--.*?-->", para, flags=re.S):
            continue
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*$", para)
        if heading and "\n" not in para:
            level, name = len(heading.group(1)), _md_inline(heading.group(2)).rstrip(":")
            if level == title_level:
                meta.setdefault("title", name)
                section = name
            elif level <= section_level:
                section, subsection = name, ""
            else:
                subsection = name
            continue
        lines = [re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", ln) for ln in para.split("\n")]
        if all(ln.lstrip().startswith(">") for ln in lines):
            # Blockquoted questions are the guidance's own section-end questions.
            quoted = _clean(" ".join(ln.lstrip()[1:] for ln in lines))
            kind = "question" if quoted.endswith("?") else "paragraph"
            blocks.append(Block(kind, _md_inline(quoted), section or "Introduction", subsection if kind == "paragraph" else ""))
            continue
        blocks.append(Block("paragraph", _clean(_md_inline(" ".join(lines))), section or "Introduction", subsection))
    return meta, blocks


# --- Plain text (headings are bare lines) -----------------------------------------


def _looks_like_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 14 and len(line) <= 100 and line[0].isupper() and not line.rstrip().endswith((".", "!", "?", ",", ";"))


def _parse_plain_text(text: str) -> list[Block]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    blocks: list[Block] = []
    section, subsection = "Introduction", ""
    skipping = False
    for i, para in enumerate(paragraphs):
        lines = [ln.strip() for ln in para.split("\n") if ln.strip()]
        nxt = paragraphs[i + 1] if i + 1 < len(paragraphs) else ""
        if len(lines) == 1 and lines[0].endswith("?") and len(lines[0]) <= 160 and (not nxt or _is_heading_block(nxt)):
            if not skipping:
                blocks.append(Block("question", lines[0], section))
            continue
        if len(lines) == 1 and _looks_like_heading(lines[0]):
            name = lines[0].rstrip(":")
            if lines[0].endswith(":"):
                subsection = name
            else:
                # Boilerplate headings ("Check if X can help") take their section with them.
                skipping = _is_boilerplate(name)
                section, subsection = name, ""
            continue
        if skipping:
            continue
        if len(lines) > 1 and lines[0].endswith(":") and _looks_like_heading(lines[0]):
            subsection = lines[0].rstrip(":")
            lines = lines[1:]
        blocks.append(Block("paragraph", _clean(" ".join(lines)), section, subsection))
    return blocks


def _is_heading_block(para: str) -> bool:
    lines = [ln for ln in para.split("\n") if ln.strip()]
    return len(lines) == 1 and _looks_like_heading(lines[0].strip())


# --- HTML -------------------------------------------------------------------------


def _parse_html(text: str) -> tuple[dict, list[Block]]:
    from bs4 import BeautifulSoup  # bs4 is only needed for HTML files

    soup = BeautifulSoup(text, "html.parser")
    meta: dict = {}
    if soup.title and soup.title.string:
        meta["title"] = _clean(soup.title.string)
    for name in ("jurisdiction", "source", "last_reviewed"):
        tag = soup.find("meta", attrs={"name": name})
        if tag and tag.get("content"):
            meta[name] = tag["content"]
    for tag in soup.find_all(_HTML_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if getattr(tag, "decomposed", False):
            continue
        attrs = " ".join([tag.get("id") or "", *(tag.get("class") or []), tag.get("role") or ""])
        if attrs.strip() and _HTML_DROP_ATTR.search(attrs) and tag.name not in ("html", "body", "main", "article"):
            tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    h1 = root.find("h1")
    if h1 and "title" not in meta:
        meta["title"] = _clean(h1.get_text(" "))
    blocks: list[Block] = []
    section, subsection = meta.get("title", "Introduction"), ""
    for el in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "blockquote", "dd", "td"]):
        if el.find_parent(["p", "li", "blockquote", "dd", "td"]) is not None:
            continue  # its text is taken with the enclosing block
        content = _clean(el.get_text(" "))
        if not content:
            continue
        if el.name in ("h1", "h2"):
            section, subsection = content.rstrip(":"), ""
        elif el.name in ("h3", "h4"):
            subsection = content.rstrip(":")
        elif el.name == "blockquote" and content.endswith("?"):
            blocks.append(Block("question", content, section))
        else:
            blocks.append(Block("paragraph", content, section, subsection))
    return meta, blocks


# --- PDF --------------------------------------------------------------------------


def _parse_pdf(path: Path, raw: bytes) -> tuple[dict, list[Block]]:
    import io

    from pypdf import PdfReader  # pypdf is only needed for PDF files
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        raise CorpusError(str(path), "not a readable PDF (damaged, or not a PDF)") from None
    meta = {"title": info.get("/Title")} if info.get("/Title") else {}
    # Page breaks are paragraph breaks; lines inside a paragraph are wrapped text.
    return meta, _parse_plain_text("\n\n".join(pages))


from pathlib import Path

import pytest

from ingest import CorpusError, chunk_document, discover_files, load_document
from tests.conftest import CORPUS, SEED

GUIDE = CORPUS / "stalking-and-harassment-guidance.md"
SECTIONS = [
    "Understanding Stalking and Harassment",
    "Legal Protections Against Stalking and Harassment",
    "Reporting Stalking and Harassment",
    "Emergency Protection and Immediate Safety Measures",
    "Additional Support and Assistance",
    "Understanding Legal Consequences and Handling Charges",
    "Protecting Children and Vulnerable Persons",
]


def make_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF with text lines (no PDF library writes text here)."""
    text = "BT /F1 11 Tf 40 780 Td 14 TL " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_markdown_corpus_has_every_section_and_its_questions():
    doc = load_document(GUIDE)
    assert doc.sections == SECTIONS
    assert doc.jurisdiction == "England and Wales"
    assert doc.title == "Stalking and harassment: your legal options"
    assert [s for s, _ in doc.questions()] == SECTIONS[1:6]
    assert not any("Contend" in b.text for b in doc.blocks)


def test_plain_text_seed_recovers_sections_subsections_and_drops_footer():
    doc = load_document(SEED)
    assert doc.sections == SECTIONS
    subs = [b.subsection for b in doc.blocks if b.section == SECTIONS[2] and b.subsection]
    assert list(dict.fromkeys(subs)) == ["How to Report", "What to Expect", "Other Support"]
    assert len(doc.questions()) == 5
    text = " ".join(b.text for b in doc.blocks)
    assert "Contend" not in text and "Solicitors Regulation Authority" not in text


def test_seed_text_and_markdown_give_the_same_chunk_ids_and_text():
    md, txt = chunk_document(load_document(GUIDE)), chunk_document(load_document(SEED))
    assert [c.chunk_id for c in md] == [c.chunk_id for c in txt]
    assert [c.text for c in md] == [c.text for c in txt]


def test_chunk_ids_are_stable_and_unique():
    first = [c.chunk_id for c in chunk_document(load_document(GUIDE))]
    again = [c.chunk_id for c in chunk_document(load_document(GUIDE))]
    assert first == again
    assert len(set(first)) == len(first) == 31


def test_chunks_carry_section_and_metadata():
    chunks = chunk_document(load_document(GUIDE))
    report = [c for c in chunks if c.subsection == "How to Report"]
    assert len(report) == 1
    c = report[0]
    assert c.section == "Reporting Stalking and Harassment"
    assert c.anchor == "reporting-stalking-and-harassment"
    assert c.heading == "Reporting Stalking and Harassment - How to Report"
    assert c.embed_text == c.text  # the paragraph alone is embedded (README "Retrieval")
    assert c.text.startswith("You should report stalking or harassment to the police")
    assert [x.position for x in chunks] == list(range(len(chunks)))


def test_long_paragraph_is_split_on_sentences(tmp_path):
    sentence = "Harassment injunctions are court orders that stop abusive behaviour. "
    (tmp_path / "long.md").write_text("## Long section\n\n" + sentence * 40)
    chunks = chunk_document(load_document(tmp_path / "long.md"))
    assert len(chunks) > 1
    assert all(len(c.text.split()) <= 200 for c in chunks)
    assert all(c.section == "Long section" for c in chunks)


def test_html_drops_navigation_footer_and_cookie_banner(tmp_path):
    page = """<!doctype html><html><head><title>Injunctions guide</title>
    <meta name="jurisdiction" content="England and Wales"><script>track()</script></head><body>
    <div class="cookie-banner"><p>We use cookies to improve this site.</p></div>
    <nav><ul><li>Home</li><li>Contact</li></ul></nav>
    <main><h1>Injunctions guide</h1><h2>What an injunction does</h2>
    <p>An injunction is a court order that tells someone to stop <a href="#">harassing</a> you.</p>
    <h3>Who can apply</h3><ul><li>Anyone being harassed by a neighbour can apply.</li></ul>
    <blockquote>Can I get an injunction against my neighbour?</blockquote></main>
    <footer><p>Copyright 2026 Example Ltd</p></footer></body></html>"""
    (tmp_path / "guide.html").write_text(page)
    doc = load_document(tmp_path / "guide.html")
    assert doc.title == "Injunctions guide"
    assert [(b.kind, b.section, b.subsection, b.text) for b in doc.blocks] == [
        ("paragraph", "What an injunction does", "", "An injunction is a court order that tells someone to stop harassing you."),
        ("paragraph", "What an injunction does", "Who can apply", "Anyone being harassed by a neighbour can apply."),
        ("question", "What an injunction does", "", "Can I get an injunction against my neighbour?"),
    ]


def test_pdf_text_is_loaded(tmp_path):
    path = tmp_path / "leaflet.pdf"
    path.write_bytes(make_pdf(["Non-molestation orders", "A non-molestation order stops someone from using or", "threatening violence against you."]))
    doc = load_document(path)
    text = " ".join(b.text for b in doc.blocks)
    assert "non-molestation order stops someone" in text


@pytest.mark.parametrize(
    "name, payload, reason",
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "not a readable PDF"),
        ("latin1.txt", "Caf\xe9 guidance about harassment.".encode("latin-1"), "not valid UTF-8"),
        ("empty.md", b"   \n", "file is empty"),
        ("notes.docx", b"PK\x03\x04", "unsupported file type"),
    ],
)
def test_unreadable_files_raise_one_line_error_naming_the_file(tmp_path, name, payload, reason):
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(CorpusError) as err:
        load_document(path)
    message = str(err.value)
    assert message.startswith(str(path)) and reason in message and "\n" not in message


def test_front_matter_alias_bomb_is_refused_before_it_expands(tmp_path):
    lol = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\ntitle: *c\n"
    path = tmp_path / "bomb.md"
    path.write_text(f"---\n{lol}---\n\n## Section\n\nSome text here.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="anchors or aliases"):
        load_document(path)


@pytest.mark.parametrize(
    ("front", "message"),
    [("title:\n  nested: value\n", "must be a single value"), (f"title: {'x' * 600}\n", "must be a single value"), ("- a list\n", "key: value lines")],
)
def test_front_matter_values_are_short_scalars(tmp_path, front, message):
    path = tmp_path / "doc.md"
    path.write_text(f"---\n{front}---\n\n## Section\n\nSome text here.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        load_document(path)


def test_files_over_the_size_cap_are_refused_unread(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("Stalking guidance.\n" * 200, encoding="utf-8")
    with pytest.raises(CorpusError, match="larger than the 1,000-byte limit"):
        load_document(path, max_bytes=1000)
    assert load_document(path, max_bytes=100_000).blocks


def test_links_leading_out_of_the_corpus_folder_are_skipped_and_reported(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "secret"
    corpus.mkdir()
    outside.mkdir()
    (outside / "notes.md").write_text("## Keys\n\nSECRET=1\n", encoding="utf-8")
    (corpus / "guide.md").write_text("## Section\n\nGuidance text.\n", encoding="utf-8")
    (corpus / "notes.md").symlink_to(outside / "notes.md")
    (corpus / "inside.md").symlink_to(corpus / "guide.md")  # a link that stays inside is fine
    (corpus / "sub").symlink_to(outside, target_is_directory=True)  # a linked folder is not walked
    refused = []
    found = discover_files([corpus], refused)
    assert [p.name for p in found] == ["guide.md", "inside.md"]
    assert [Path(e.path) for e in refused] == [corpus / "notes.md"]
    assert all("outside the corpus folder" in e.reason for e in refused)

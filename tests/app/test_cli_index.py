"""The CLI contract for ingest and search, through the real `signpost` command."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, run_cli


def test_help_is_instant_because_heavy_libraries_are_not_imported():
    code = "import sys; from app.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\nprint(sorted(m for m in ('torch', 'chromadb', 'sentence_transformers', 'llama_index', 'gradio') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "usage: signpost" in out and out.strip().endswith("[]")


def test_ingest_then_search_json_contract(tmp_path):
    first = run_cli("ingest", str(CORPUS))
    assert first.returncode == 0, first.stderr
    assert "added: stalking-and-harassment-guidance" in first.stdout
    assert "chunks: 31 in index, 31 embedded" in first.stdout
    second = run_cli("ingest", str(CORPUS))
    assert "skipped (unchanged): stalking-and-harassment-guidance" in second.stdout
    assert "0 embedded" in second.stdout
    found = run_cli("search", "can I apply without the other person knowing", "--k", "3", "--json")
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)
    assert len(results) == 3
    assert {"chunk_id", "doc", "section", "text", "score"} <= set(results[0])
    # the passage that answers it (section prior or not; tests/index/test_retriever.py)
    assert any("without notifying the other party" in r["text"] for r in results)
    debug = json.loads(run_cli("search", "can I apply without the other person knowing", "--k", "3", "--json", "--debug").stdout)
    assert debug["searched"] == "can I apply without the other person knowing (without notifying the other party)"  # index/lay_terms.yaml
    assert [p["chunk_id"] for p in debug["kept"]] == [r["chunk_id"] for r in results]

    batch = tmp_path / "questions.jsonl"
    batch.write_text(
        '{"question": "can I apply without the other person knowing"}\n'
        "\n"
        "what is a stalking protection order\n"
        '{"question": "and how long does it last?", "history": ["what is a stalking protection order"]}\n',
        encoding="utf-8",
    )
    many = run_cli("search", "--batch", str(batch), "--k", "2", "--json")
    assert many.returncode == 0, many.stderr
    lines = [json.loads(ln) for ln in many.stdout.splitlines()]
    assert [ln["line"] for ln in lines] == [1, 3, 4]
    assert all(len(ln["passages"]) == 2 for ln in lines)
    assert lines[0]["passages"][0]["chunk_id"] == results[0]["chunk_id"]  # same ranking as a single search
    assert {"chunk_id", "section", "score", "text"} <= set(lines[1]["passages"][0])


def test_corrupt_file_gives_one_line_error_and_search_keeps_old_results(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(CORPUS / "stalking-and-harassment-guidance.md", folder)
    assert run_cli("ingest", str(folder)).returncode == 0
    before = json.loads(run_cli("search", "restraining order", "--json").stdout)
    (folder / "leaflet.pdf").write_bytes(b"%PDF-1.7 this is not really a pdf")
    broken = run_cli("ingest", str(folder))
    assert broken.returncode == 1
    errors = [ln for ln in broken.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: {folder / 'leaflet.pdf'}: not a readable PDF (damaged, or not a PDF) (skipped; an earlier indexed version, if any, is kept)"]
    assert "Traceback" not in broken.stderr
    after = json.loads(run_cli("search", "restraining order", "--json").stdout)
    assert [r["chunk_id"] for r in after] == [r["chunk_id"] for r in before]


def test_search_before_ingest_says_what_to_do():
    result = run_cli("search", "injunction")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("Run `signpost ingest` first.")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.server
def test_chroma_server_ingest_and_search(chroma_server):
    env = {"SIGNPOST_CHROMA_URL": chroma_server}
    ingest = run_cli("ingest", str(CORPUS), env=env)
    assert ingest.returncode == 0, ingest.stderr
    found = json.loads(run_cli("search", "emergency housing if I'm being stalked", "--json", env=env).stdout)
    assert found[0]["section"] == "Additional Support and Assistance"


@pytest.mark.server
def test_authenticated_chroma_server_over_https(chroma_auth_server):
    url, token, ca_file = chroma_auth_server
    env = {"SIGNPOST_CHROMA_URL": url, "SIGNPOST_CHROMA_TOKEN": token, "SIGNPOST_CHROMA_CA_FILE": str(ca_file)}
    ingest = run_cli("ingest", str(CORPUS), env=env)
    assert ingest.returncode == 0, ingest.stderr
    found = json.loads(run_cli("search", "emergency housing if I'm being stalked", "--json", env=env).stdout)
    assert found[0]["section"] == "Additional Support and Assistance"

    for token_env, says in ((token + "x", "refused the token in SIGNPOST_CHROMA_TOKEN."), ("", "asks for a token: set SIGNPOST_CHROMA_TOKEN.")):
        result = run_cli("search", "injunction", env={**env, "SIGNPOST_CHROMA_TOKEN": token_env})
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [f"signpost: The Chroma server at {url} {says}"]
        assert token not in result.stderr

    untrusted = run_cli("search", "injunction", env={**env, "SIGNPOST_CHROMA_CA_FILE": ""})  # self-signed: the system CAs refuse it
    assert untrusted.returncode == 2
    assert untrusted.stderr.strip().splitlines() == [
        f"signpost: The Chroma server at {url} has a certificate this machine does not trust; set SIGNPOST_CHROMA_CA_FILE to the CA that signed it."
    ]


@pytest.mark.server
def test_chroma_server_down_is_one_clear_line():
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("search", "injunction", env={"SIGNPOST_CHROMA_URL": url})
    assert result.returncode == 2
    assert result.stderr.startswith(f"signpost: Cannot open the Chroma server at {url}")
    assert result.stderr.strip().endswith("Is it running?")
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_setting_is_one_line_naming_the_variable_and_exit_2():
    result = run_cli("search", "foo", env={"SIGNPOST_TOP_K": "x"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("signpost: SIGNPOST_TOP_K: ")
    assert "Traceback" not in result.stderr and "pydantic" not in result.stderr


def test_a_model_folder_that_is_not_there_is_named_not_blamed_on_the_heads(tmp_path):
    missing = tmp_path / "no-such-model"
    result = run_cli("ask", "hello", env={"SIGNPOST_EMBEDDING_MODEL_PATH": str(missing)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"signpost: SIGNPOST_EMBEDDING_MODEL_PATH: Value error, {missing} is not a folder (a local sentence-transformers model)"]


def test_malformed_batch_file_is_one_line_with_its_line_number(tmp_path):
    batch = tmp_path / "bad.jsonl"
    batch.write_text('{"question": "fine"}\n{"question": \n', encoding="utf-8")
    result = run_cli("search", "--batch", str(batch))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"signpost: {batch}:2: not valid JSON"]


@pytest.mark.server
def test_with_chroma_down_a_danger_message_still_gets_its_emergency_notice_first():
    from tests.conftest import free_port

    result = run_cli("ask", "--json", "he's got a knife and he's kicking the door in", env={"SIGNPOST_CHROMA_URL": f"http://127.0.0.1:{free_port()}"})
    body = json.loads(result.stdout)
    assert body["status"] == "error" and body["reason"] == "unavailable"
    assert (body["notices"][0]["kind"], body["notices"][0]["source"]) == ("emergency", "triage")
    assert "999" in [i["number"] for i in body["notices"][0]["items"]]

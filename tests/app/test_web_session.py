"""Nothing of a question outlives its answer in the server's memory (real pipeline, real Gradio queue)."""

import json

from fastapi.testclient import TestClient

from app.web import create_app

SENTINEL = "SENTINEL-session-5e21"


def _holds(obj, needle: str, depth: int = 0, seen=None) -> bool:
    """Whether `needle` is anywhere in obj's values (dicts, lists, object attributes)."""
    seen = seen if seen is not None else set()
    if depth > 8 or id(obj) in seen:
        return False
    seen.add(id(obj))
    if isinstance(obj, str):
        return needle in obj
    if isinstance(obj, dict):
        return any(_holds(k, needle, depth + 1, seen) or _holds(v, needle, depth + 1, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set)):
        return any(_holds(v, needle, depth + 1, seen) for v in obj)
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("gradio"):
        return any(_holds(v, needle, depth + 1, seen) for v in vars(obj).values())
    return False


def test_the_search_sees_a_value_stored_in_a_session_state(services):
    app = create_app(services.settings, services)
    holder = app.state.blocks["/"].state_holder
    state = holder["probe"]
    ask_fn = app.state.blocks["/"].fns[0]
    state._update_value_in_config(ask_fn.inputs[0]._id, SENTINEL)
    assert _holds(holder.session_data, SENTINEL)


def test_no_gradio_session_keeps_the_question_after_the_answer(services):
    app = create_app(services.settings, services)
    blocks = app.state.blocks["/"]
    ask_fn = blocks.fns[0]
    with TestClient(app) as client:
        event = {"data": [f"Can I get a restraining order? {SENTINEL}", "[]"], "fn_index": 0, "trigger_id": next(iter(ask_fn.targets))[0], "session_hash": "sess12345", "event_data": None}
        joined = client.post("/gradio_api/queue/join", json=event)
        assert joined.status_code == 200, joined.text
        answered = False
        with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": "sess12345"}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("msg") == "process_completed":
                        answered = msg.get("success") is True and "restraining" in json.dumps(msg.get("output"))
    assert answered
    assert "sess12345" not in blocks.state_holder.session_data
    assert not _holds(blocks.state_holder.session_data, SENTINEL)
    assert blocks.state_holder.capacity <= services.settings.queue_size + services.settings.concurrency

"""Reply script for a STAND-IN judge model (tests only): answers ragas' prompts.

Every ragas PydanticPrompt states the JSON schema of its output and the input as
JSON; this script decodes both and synthesises a schema-valid reply from the input
(statements = the answer's sentences, verdicts = token containment in the context).
It is deterministic and roughly sensible, not a lookup on known prompt text.
"""

from __future__ import annotations

import json
import re
import typing as t

_DEC = json.JSONDecoder()
_TOK = re.compile(r"[a-z0-9]+")
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
_CITE = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")
_STOP = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "you", "your", "i", "we", "they", "their", "he", "she", "his", "her", "them", "can", "could", "may", "might", "must", "should", "would", "will", "do", "does", "did", "not", "no", "so", "than", "then", "there", "what", "which", "who", "how", "when", "where", "why", "also", "any", "all", "some", "such", "into", "about"]
)
_HEDGES = ("i don't know", "i do not know", "i'm not sure", "i am not sure", "cannot answer",
           "can't answer", "no information", "not able to answer", "unable to answer")
SUPPORT_THRESHOLD = 0.5


# ----------------------------------------------------------------------------- prompt parsing
def _decode_after(text: str, marker: str, last: bool = False) -> t.Any:
    i = text.rfind(marker) if last else text.find(marker)
    if i < 0:
        return None
    j = text.find("{", i + len(marker))
    if j < 0:
        return None
    try:
        return _DEC.raw_decode(text, j)[0]
    except json.JSONDecodeError:
        return None


def parse_ragas_prompt(prompt: str) -> tuple[dict | None, dict | None]:
    """-> (output JSON schema, input object) or (None, None) if not a ragas PydanticPrompt."""
    schema = _decode_after(prompt, "as specified in JSON Schema:")
    data = _decode_after(prompt, "Now perform the same with the following input", last=True)
    return schema, data


# ----------------------------------------------------------------------------- heuristics
def _toks(s: str) -> list[str]:
    return _TOK.findall((s or "").lower())


def _content(s: str) -> set[str]:
    return {w for w in _toks(s) if w not in _STOP and len(w) > 1}


def containment(claim: str, context: str) -> float:
    c = _content(claim)
    return len(c & set(_toks(context))) / len(c) if c else 0.0


def sentences(text: str) -> list[str]:
    out = [re.sub(r"\s+([.,;:!?])", r"\1", _CITE.sub("", s)).strip() for s in _SENT.split(text or "")]
    return [s for s in out if _content(s)]


def _as_text(v: t.Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "\n".join(_as_text(x) for x in v)
    if isinstance(v, dict):
        return "\n".join(_as_text(x) for x in v.values())
    return "" if v is None else str(v)


class _Ctx:
    def __init__(self, data: dict):
        self.data = data or {}
        strings = {k: v for k, v in self.data.items() if isinstance(v, str)}
        self.answer = next(
            (strings[k] for k in ("answer", "response", "text", "reference", "summary") if k in strings),
            max(strings.values(), key=len) if strings else "",
        )
        ctx = next((self.data[k] for k in ("context", "contexts", "retrieved_contexts",
                                          "reference_contexts") if k in self.data), None)
        self.context = _as_text(ctx) if ctx is not None else None
        self.question = strings.get("question") or strings.get("user_input") or ""
        self.list_items = next(
            (v for v in self.data.values()
             if isinstance(v, list) and v and all(isinstance(x, str) for x in v)), None)

    def verdict(self, item: str | None) -> int:
        if self.context is None:
            return 1
        if item is None:  # whole-answer verdict (e.g. context precision): either direction
            score = max(containment(self.answer, self.context), containment(self.context, self.answer))
        else:
            score = containment(item, self.context)
        return int(score >= SUPPORT_THRESHOLD)


def _resolve(schema: dict, root: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        schema = root.get("$defs", {}).get(ref, {})
    if isinstance(schema, dict) and "anyOf" in schema:  # Optional[X] -> X
        non_null = [s for s in schema["anyOf"] if s.get("type") != "null"]
        schema = _resolve(non_null[0], root) if non_null else {"type": "null"}
    if isinstance(schema, dict) and "allOf" in schema and len(schema["allOf"]) == 1:
        schema = _resolve(schema["allOf"][0], root)
    return schema


def synthesize(schema: dict, root: dict, ctx: _Ctx, name: str = "", item: str | None = None) -> t.Any:
    schema = _resolve(schema, root)
    if "enum" in schema:
        return schema["enum"][0]
    typ = schema.get("type")
    lname = name.lower()
    if typ == "object" or "properties" in schema:
        return {p: synthesize(s, root, ctx, p, item) for p, s in schema.get("properties", {}).items()}
    if typ == "array":
        items_schema = _resolve(schema.get("items", {}), root)
        sources = ctx.list_items if ctx.list_items is not None else sentences(ctx.answer)
        if items_schema.get("type") == "string":
            return list(sources)
        return [synthesize(items_schema, root, ctx, name, s) for s in sources]
    if typ == "string":
        if lname in ("reason", "reasoning", "explanation", "feedback"):
            src = item if item is not None else ctx.answer
            return (f"stand-in judge: token containment "
                    f"{containment(src, ctx.context or src):.2f} vs context")
        if lname == "question":
            first = (sentences(ctx.answer) or [ctx.answer or "this"])[0].rstrip(".!? ")
            return f"What is {first[0].lower() + first[1:] if first else 'this'}?"
        if item is not None:
            return item
        return ctx.answer
    if typ in ("integer", "number", "boolean"):
        if "noncommittal" in lname:
            v = int(any(h in ctx.answer.lower() for h in _HEDGES))
        else:
            v = ctx.verdict(item)
        return bool(v) if typ == "boolean" else (float(v) if typ == "number" else v)
    if typ == "null":
        return None
    return item if item is not None else ctx.answer


def answer_prompt(prompt: str) -> str:
    schema, data = parse_ragas_prompt(prompt)
    if schema is None:
        return json.dumps({"text": "stand-in judge: no JSON schema found in prompt"})
    return json.dumps(synthesize(schema, schema, _Ctx(data or {})))


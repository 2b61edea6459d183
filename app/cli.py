"""`signpost` command line. Heavy libraries are imported inside each command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ingest.errors import SignpostError


class UsageError(SignpostError):
    """The command line's words are off."""

DESCRIPTION = """Signpost: cited answers from UK stalking and harassment guidance.
General information, not legal advice. In danger now? Call 999."""

EPILOG = """examples:
  signpost ingest                      index corpus/ (only what changed)
  signpost search "restraining order"  ranked passages
  signpost ask "Can I get an SPO?"     a cited answer
  signpost serve                       web app on http://127.0.0.1:7860

Settings come from SIGNPOST_* environment variables or a .env file (see .env.example)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signpost", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ingest", help="load guidance files into the index (incremental)")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus folder, SIGNPOST_CORPUS_DIR)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything instead of only what changed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("search", help="ranked passages for a query (or one per line with --batch)")
    p.add_argument("query", nargs="?", help="the query (or use --batch)")
    p.add_argument("--batch", type=Path, metavar="FILE", help="one query per line: plain text, or JSONL with question (and optional history); one result per line, in one process")
    p.add_argument("--k", type=int, default=None, help="how many passages (default: SIGNPOST_TOP_K)")
    p.add_argument("--json", action="store_true", help="print JSON (one object per line with --batch)")
    p.add_argument("--debug", action="store_true", help="also show rejected passages and scores")

    p = sub.add_parser("ask", help="a cited answer to a question (or one per line with --batch)")
    p.add_argument("question", nargs="?", help="the question (omit for an interactive prompt)")
    p.add_argument("--history", action="append", default=[], metavar="EARLIER_QUESTION", help="an earlier question in this conversation (repeatable)")
    p.add_argument("--batch", type=Path, metavar="FILE", help="one question per line: plain text, or JSONL with question and optional history")
    p.add_argument("--json", action="store_true", help="print JSON (one object per line with --batch)")

    p = sub.add_parser("serve", help="start the web app (chat at /, widget at /widget, API at /api/ask)")
    p.add_argument("--host", default=None, help="interface to listen on (default: SIGNPOST_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: SIGNPOST_PORT, 7860)")

    p = sub.add_parser("eval", help="run the evaluation suite and write a report")
    p.add_argument("--report", type=Path, default=Path("reports/eval"), help="folder for the HTML report (default: reports/eval)")
    p.add_argument("--json", type=Path, default=None, help="also write the JSON summary here")
    p.add_argument("--split", choices=["all", "tuning", "held_out"], default="all", help="which part of the golden set")
    p.add_argument("--write-baseline", nargs="?", type=Path, const=Path("eval/baseline.json"), default=None, metavar="FILE", help="also write this run's gated metrics as the gate's baseline (default FILE: eval/baseline.json); review the diff before committing")

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    from app.offline import apply_offline_env

    apply_offline_env()
    try:
        from app.settings import load_settings

        settings = load_settings()
        return COMMANDS[args.command](args, settings)
    except SignpostError as err:
        print(f"signpost: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("signpost: interrupted; the index is unchanged unless the run finished.", file=sys.stderr)
        return 130


def cmd_ingest(args, settings) -> int:
    from app.services import Services

    services = Services(settings)
    paths = args.paths or [settings.corpus_dir]
    report = services.builder.ingest(paths, rebuild=args.rebuild, progress=not args.quiet and sys.stderr.isatty())
    for line in report.lines():
        print(line)
    for err in report.failed:
        print(f"error: {err} (skipped; an earlier indexed version, if any, is kept)", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_search(args, settings) -> int:
    from app.services import Services

    if (args.query is None) == (args.batch is None):
        raise UsageError("search needs a QUERY or --batch FILE (not both)")
    if args.k is not None and not 1 <= args.k <= 50:
        raise UsageError("--k must be between 1 and 50")
    batch = _batch_items(args.batch) if args.batch else None
    retriever = Services(settings).retriever  # the model loads once, for every query
    if batch is not None:
        from app.conversation import retrieval_query, trim_history

        for number, question, history in batch:
            result = retriever.retrieve(retrieval_query(question, trim_history(history, settings.history_turns)), k=args.k)
            if args.json:
                print(json.dumps({"line": number, "passages": [p.to_dict() for p in result.kept]}, ensure_ascii=False), flush=True)
            else:
                top = result.kept[0].heading if result.kept else "(no passage close enough)"
                print(f"{number}\t{len(result.kept)} passages\t{top}", flush=True)
        return 0
    result = retriever.retrieve(args.query, k=args.k)
    if args.json:
        data = [p.to_dict() for p in result.kept]
        if args.debug:
            data = {"searched": result.query, "kept": data, "rejected": [{**p.to_dict(), "reason": p.reason} for p in result.rejected]}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if not result.kept:
        print("No passage in the guidance is close enough to that query.")
    for i, p in enumerate(result.kept, 1):
        print(f"{i}. [{p.score:.3f}] {p.heading}  ({p.doc_id}#{p.anchor})")
        print(f"   {p.text}\n")
    if args.debug:
        if result.query != args.query:
            print(f"(searched as: {result.query})")
        for p in result.rejected:
            print(f"- rejected ({p.reason}) [{p.scores.get('dense', 0):.3f}] {p.heading}: {p.text[:80]}...")
    return 0


def _print_answer(answer) -> None:
    for notice in answer.notices:
        print(f"! {notice.text}")
        for item in notice.items:
            print(f"    {item['name']}: {item['number']} - {item['for']}")
    print()
    print(answer.answer)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"[{c.n}] {c.passage.heading}\n    {c.passage.text}")
    if answer.related:
        print("\nThese passages may be related:")
        for p in answer.related:
            print(f"- {p.heading}: {p.text}")
    print(f"\n{answer.disclaimer}")


def _batch_items(path: Path) -> list[tuple[int, str | None, list]]:
    """(line number, question, history) for each non-empty line, all checked before any work."""
    from ingest.jsonl import read_lines

    items = []
    for number, item in read_lines(path, "the batch file", plain_text=True):
        if isinstance(item, str):
            items.append((number, item, []))
            continue
        if not isinstance(item.get("question"), str):
            raise SignpostError(f"{path}:{number}: expected a JSON object with a \"question\" string")
        history = item.get("history") or []
        items.append((number, item["question"], history if isinstance(history, list) else []))
    return items


def cmd_ask(args, settings) -> int:
    from app.services import Services

    batch = _batch_items(args.batch) if args.batch else None
    pipeline = Services(settings).pipeline  # the model loads once, for every question
    if batch is not None:
        for _, question, history in batch:
            answer = pipeline.ask(question, history)
            print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else answer.answer, flush=True)
        return 0
    if args.question is None:
        if not sys.stdin.isatty():
            args.question = sys.stdin.read()
        else:
            return _interactive(pipeline)
    answer = pipeline.ask(args.question, args.history)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer)
    return 0 if answer.status.value != "error" else 2


def _interactive(pipeline) -> int:
    from app.conversation import remember

    print("Ask a question about stalking or harassment (empty line to quit). In danger now? Call 999.")
    history: list[str] = []
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        _print_answer(pipeline.ask(question, history))
        history = remember(history, question)


def cmd_serve(args, settings) -> int:
    from app.web import serve

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    serve(settings)
    return 0


def cmd_eval(args, settings) -> int:
    from eval.run import run_cli_eval

    return run_cli_eval(settings, report_dir=args.report, json_path=args.json, split=args.split, write_baseline=args.write_baseline)


COMMANDS = {"ingest": cmd_ingest, "search": cmd_search, "ask": cmd_ask, "serve": cmd_serve, "eval": cmd_eval}


if __name__ == "__main__":
    sys.exit(main())

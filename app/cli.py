"""`signpost` command line. Heavy libraries are imported inside each command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ingest.errors import SignpostError

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

    p = sub.add_parser("search", help="ranked passages for a query")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=None, help="how many passages (default: SIGNPOST_TOP_K)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--debug", action="store_true", help="also show rejected passages and scores")

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
        from app.settings import Settings

        settings = Settings()
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

    result = Services(settings).retriever.retrieve(args.query, k=args.k)
    if args.json:
        data = [p.to_dict() for p in result.kept]
        if args.debug:
            data = {"kept": data, "rejected": [{**p.to_dict(), "reason": p.reason} for p in result.rejected]}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if not result.kept:
        print("No passage in the guidance is close enough to that query.")
    for i, p in enumerate(result.kept, 1):
        print(f"{i}. [{p.score:.3f}] {p.heading}  ({p.doc_id}#{p.anchor})")
        print(f"   {p.text}\n")
    if args.debug:
        for p in result.rejected:
            print(f"- rejected ({p.reason}) [{p.scores.get('dense', 0):.3f}] {p.heading}: {p.text[:80]}...")
    return 0


COMMANDS = {"ingest": cmd_ingest, "search": cmd_search}


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The index of results/: one row a report, read from the reports themselves.

usage: results_index.py [--check INDEX] [RESULTS_DIR]

Without --check, prints the index (results/README.md's text) for RESULTS_DIR (default: the
repository's results/). With --check, compares it with INDEX: exit 0 when they are the same,
1 with the command that renews it when INDEX is stale, 2 on usage errors, an unreadable INDEX,
or a *.json file in RESULTS_DIR that is not a readable report (not JSON, not an object, another
"schema" than int8attn-bench/report/v1, a field of the wrong type): results/ holds reports only.
"""
import json
import os
import pathlib
import re
import sys
import urllib.parse

SCHEMA = "int8attn-bench/report/v1"

HEADER = """# results/

Reports measured on a GPU (`h200-*`, `h100-*`), the GPU-free CI gate's baselines (`ci-cpu-*`),
each the whole JSON report of one `sweep` (docs/report-schema.md). `compare` reads any of them
as a baseline; compare reports of one GPU with each other. This index is made from the
reports themselves by `python3 scripts/results_index.py > results/README.md`; a CPU test fails
when it is stale.

A report names the commit it was measured at (`tool.git_commit`; `-dirty`: the tree had
changes that were not committed, `unknown`: a report from before the commit was recorded),
its device, its config and when its sweep started. docs/perf-log.md says, by date and commit,
what each renewal measured and why.

| report | config | device | commit | started (UTC) | cases | kernels |
|---|---|---|---|---|---|---|
"""


class ReportError(ValueError):
    """A file of the folder that is not a report this index can read: exit 2, naming it."""


def shown(text):
    """Text for a terminal or a markdown cell: line breaks as spaces; control characters (C0,
    DEL, C1), bidi overrides and undecodable bytes as U+FFFD (as the tool's views do)."""
    out = []
    for ch in str(text):
        c = ord(ch)
        if ch in "\t\n\r":
            out.append(" ")
        elif (c < 0x20 or 0x7F <= c <= 0x9F or 0x202A <= c <= 0x202E or c in (0x200E, 0x200F)
              or 0x2066 <= c <= 0x2069 or 0xD800 <= c <= 0xDFFF):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _word_char(text, i):
    return 0 <= i < len(text) and text[i].isascii() and text[i].isalnum()


def markdown_cell(text):
    """A report's string as the text of a markdown table cell, never markup (src/report/
    text_table.cpp's markdown_cell): no cell boundary, HTML, code, emphasis, link or heading."""
    safe = shown(text)
    out = []
    for i, ch in enumerate(safe):
        if ch == "_" and _word_char(safe, i - 1) and _word_char(safe, i + 1):
            out.append(ch)  # kv_block: GFM's _ inside a word is text
        elif ch in "|\\`*_[]#~":
            out.append("\\" + ch)
        else:
            out.append({"<": "&lt;", ">": "&gt;", "&": "&amp;"}.get(ch, ch))
    return "".join(out)


def _kind(value):
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def _get(obj, key, expected, where):
    """obj[key] when present (None when absent), refused unless it is of type `expected`."""
    value = obj.get(key)
    if value is not None and not isinstance(value, expected):
        names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
        raise ReportError(f"{where}.{key}: expected {names[expected]}, found {_kind(value)}")
    return value


def load_report(path):
    name = shown(path)
    try:
        text = path.read_bytes().decode("utf-8")
        report = json.loads(text)
    except IsADirectoryError:
        raise ReportError(f"{name}: a directory, expected a report (JSON file)") from None
    except OSError as e:
        raise ReportError(f"{name}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ReportError(f"{name}: not UTF-8 text (byte {e.start}), expected a JSON report") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"{name}: not JSON ({e}), expected a report") from None
    except RecursionError:
        raise ReportError(f"{name}: JSON nested too deeply, expected a report") from None
    if not isinstance(report, dict):
        raise ReportError(f"{name}: expected a report (a JSON object), found {_kind(report)}")
    if report.get("schema") != SCHEMA:
        found = json.dumps(report["schema"]) if "schema" in report else "none"
        raise ReportError(f'{name}: not a report: expected "schema": "{SCHEMA}", found {shown(found)[:80]}'
                          " (results/ holds reports only)")
    return report


def row(path):
    report = load_report(path)
    try:
        config = _get(report, "config", dict, "$") or {}
        options = _get(config, "options", dict, "$.config")
        settings_object = _get(config, "settings", dict, "$.config")
        settings, where = (options, "$.config.options") if options else (settings_object or {}, "$.config.settings")
        name = _get(settings_object or {}, "name", str, "$.config.settings") or \
            _get(config, "path", str, "$.config") or "-"
        environment = _get(report, "environment", dict, "$") or {}
        device = _get(environment, "gpu_name", str, "$.environment") or \
            _get(environment, "backend", str, "$.environment") or "-"
        commit = _get(_get(report, "tool", dict, "$") or {}, "git_commit", str, "$.tool") or "unknown"
        started = _get(report, "started_at", str, "$") or "-"
        listed = _get(settings, "kernels", list, where) or []
        for i, k in enumerate(listed):
            if not isinstance(k, str):
                raise ReportError(f"{where}.kernels[{i}]: expected a string, found {_kind(k)}")
        complete = _get(report, "complete", bool, "$")
        cases = _get(report, "cases", list, "$") or []
    except ReportError as e:
        raise ReportError(f"{shown(path)}: at {e}") from None
    # "2026-12-04T00:24:30Z" -> "2026-12-04 00:24:30": the date/time separator only.
    started = re.sub(r"^(\d{4}-\d{2}-\d{2})T", r"\1 ", started)
    started = started[:-1] if started.endswith("Z") else started
    kernels = ", ".join(k for k in listed if k != "fp16-ref-cublaslt" or len(listed) == 1) or "-"
    marker = "" if complete is None or complete else " (incomplete)"
    link = urllib.parse.quote(path.name, errors="surrogateescape")
    cells = [f"[{markdown_cell(path.name)}]({link}){marker}"] + \
        [markdown_cell(c) for c in (name, device, commit, started)] + [str(len(cases)), markdown_cell(kernels)]
    return "| " + " | ".join(cells) + " |\n"


def index(results_dir):
    if not results_dir.is_dir():
        raise ReportError(f"{shown(results_dir)}: expected a folder of reports")
    reports = sorted(results_dir.glob("*.json"))
    if not reports:  # a typo would otherwise write an empty index over the real one
        raise ReportError(f"{shown(results_dir)}: expected *.json reports, found none")
    return HEADER + "".join(row(p) for p in reports)


def write_stdout(text):
    """Prints the index; 0, or 2 with a one-line message when standard output cannot take it."""
    if sys.stdout is None:  # started with stdout closed (>&-)
        print("results_index: standard output is closed (expected a file or pipe for the index)",
              file=sys.stderr)
        return 2
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (| head): quiet, as a filter killed by SIGPIPE
        _silence_stdout()
        return 141
    except (OSError, ValueError) as e:  # /dev/full, a stdout closed in another way
        _silence_stdout()
        print(f"results_index: cannot write the index to standard output: {getattr(e, 'strerror', None) or e}",
              file=sys.stderr)
        return 2
    return 0


def _silence_stdout():
    """After a failed write, the interpreter's own flush at exit must not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv):
    args = argv[1:]
    check = None
    if args[:1] == ["--check"]:
        if len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        check, args = pathlib.Path(args[1]), args[2:]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print(__doc__, file=sys.stderr)
        return 2
    results_dir = pathlib.Path(args[0]) if args else pathlib.Path(__file__).resolve().parent.parent / "results"
    try:
        text = index(results_dir)
    except ReportError as e:
        print(f"results_index: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the folder itself cannot be listed
        print(f"results_index: {shown(results_dir)}: cannot read: {e.strerror or e}", file=sys.stderr)
        return 2
    if check is None:
        return write_stdout(text)
    try:
        current = check.read_bytes().decode("utf-8") if check.exists() else ""
    except IsADirectoryError:
        print(f"results_index: {shown(check)}: a directory, expected the index file (markdown)", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"results_index: {shown(check)}: cannot read the index: {e.strerror or e}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        print(f"results_index: {shown(check)}: not UTF-8 text (byte {e.start}), expected the index (markdown)",
              file=sys.stderr)
        return 2
    if current == text:
        return 0
    source = f" {results_dir}" if args else ""
    print(f"results_index: {check} is stale; renew it with "
          f"python3 scripts/results_index.py{source} > {check}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

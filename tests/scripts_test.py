#!/usr/bin/python3
"""Hostile inputs for scripts/results_index.py and scripts/validate_report.py (from a hunt):
each gives its documented exit code and a message naming the file or JSON path, never a
traceback.

usage: scripts_test.py SOURCE_DIR [--results-index SCRIPT] [--validate-report SCRIPT]

SOURCE_DIR is the repository (its results/ and docs/report.schema.json are read, never
written). The options point at other copies of the scripts (an old version, to see the
checks fail). Exit 0 when every check passes, 1 when one fails, 77 (skipped) when
python3-jsonschema is missing and the results_index checks passed.
"""
import copy
import json
import pathlib
import subprocess
import sys
import tempfile

PY = sys.executable
failures = []


def run(args, stdout=subprocess.PIPE, shell_suffix=None, timeout=120):
    """(rc, stdout, stderr) of PY args...; shell_suffix runs it through sh with that redirection."""
    if shell_suffix is not None:
        command = ["sh", "-c", '"$0" "$@" ' + shell_suffix, PY] + [str(a) for a in args]
    else:
        command = [PY] + [str(a) for a in args]
    p = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace") if p.stdout is not None else ""
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f"\n     {detail}"))
    if not ok:
        failures.append(name)


def expect(name, result, rc, *needles, stream="err"):
    """rc as expected, every needle in stderr (or stdout), no traceback anywhere."""
    got_rc, out, err = result
    text = err if stream == "err" else out
    missing = [n for n in needles if n not in text]
    traceback = "Traceback" in err
    check(name, got_rc == rc and not missing and not traceback,
          f"rc {got_rc} (expected {rc}); missing {missing}; stderr: {err[-600:]!r}")


def results_index_checks(ri, source, tmp):
    report = json.loads((source / "results" / "ci-cpu-baseline.json").read_text())
    folder = tmp / "R"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(report))
    bad = folder / "b.json"

    def with_b(content):
        bad.write_bytes(content if isinstance(content, bytes) else content.encode())
        return run([ri, folder])

    expect("results_index: deeply nested JSON is exit 2 naming the file",
           with_b("[" * 100000 + "]" * 100000), 2, "b.json", "nested")
    for label, content, needle in [("a list", "[1]", "expected a report (a JSON object), found an array"),
                                   ("an empty file", "", "not JSON"),
                                   ("null", "null", "expected a report (a JSON object), found null"),
                                   ("bad UTF-8", b"{\"a\": \"\xff\"}", "not UTF-8"),
                                   ("cases: 5", json.dumps(dict(report, cases=5)),
                                    "$.cases: expected an array, found a number"),
                                   ("kernels: a string", json.dumps(dict(report, config=dict(
                                       report["config"], options={"kernels": "int8-fa"}))),
                                    "$.config.options.kernels: expected an array"),
                                   ("a sweep config", (source / "configs" / "ci-cpu.json").read_bytes(),
                                    'expected "schema": "int8attn-bench/report/v1"'),
                                   ("{}", "{}", 'expected "schema": "int8attn-bench/report/v1"'),
                                   ("report/v2", json.dumps(dict(report, schema="int8attn-bench/report/v2")),
                                    '"int8attn-bench/report/v2"')]:
        expect(f"results_index: {label} in the folder is exit 2 naming the file and what was expected",
               with_b(content), 2, "b.json", needle)
    bad.unlink()

    directory = tmp / "index-dir"
    directory.mkdir()
    expect("results_index: --check a directory is exit 2 naming it",
           run([ri, "--check", directory, folder]), 2, "index-dir", "directory")
    not_utf8 = tmp / "index-latin1.md"
    not_utf8.write_bytes(b"# r\xe9sultats\n")
    expect("results_index: --check a non-UTF-8 file is exit 2 naming it",
           run([ri, "--check", not_utf8, folder]), 2, "index-latin1.md", "UTF-8")
    rc, _, err = run([ri, folder], stdout=None, shell_suffix=">&-")
    check("results_index: a closed stdout is exit 2 with one line, no traceback",
          rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, f"rc {rc}, stderr {err!r}")
    rc, _, err = run([ri, folder], stdout=None, shell_suffix=">/dev/full")
    check("results_index: a full stdout is exit 2 with one line, no traceback",
          rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, f"rc {rc}, stderr {err!r}")

    hostile = copy.deepcopy(report)
    hostile["tool"]["git_commit"] = "ab|cd\nef<script>x</script> [l](u) *em* `c` #h ~s~ kv_block \\| & _x_"
    hostile["started_at"] = "2026-12-04T00:24:30.5 (Tue)Z"
    hostile["environment"]["gpu_name"] = "GPU</details><img src=x>\r\u202eTEXT\x1b[31m"
    (folder / "c.json").write_text(json.dumps(hostile))
    rc, out, err = run([ri, folder])
    rows = [line for line in out.splitlines() if line.startswith("| [")]
    row = rows[-1] if rows else ""
    unescaped_pipes, i = 0, 0
    while i < len(row):  # a backslash escapes the character after it
        unescaped_pipes += row[i] == "|"
        i += 2 if row[i] == "\\" else 1
    check("results_index: report strings stay in their cells (| and line breaks escaped)",
          rc == 0 and len(rows) == 2 and unescaped_pipes == 8 and "\\|" in row and "\r" not in out,
          f"rc {rc}, rows {rows!r}, err {err!r}")
    check("results_index: report strings are text, not HTML or markdown",
          all(s not in out for s in ("<script>", "</details>", "<img", "[l](u)", "*em*", "`c`", "\u202e", "\x1b"))
          and all(s in row for s in ("&lt;script&gt;", "&lt;/details&gt;", "\\[l\\](u)", "\\*em\\*", "\\`c\\`",
                                     "\\#h", "\\~s\\~", "kv_block", "\\_x\\_", "&amp;")),
          f"row {row!r}")
    check("results_index: only the date/time separator T becomes a space",
          "| 2026-12-04 00:24:30.5 (Tue) |" in row, f"row {row!r}")

    rc, out, err = run([ri, source / "results"])
    committed = (source / "results" / "README.md").read_text()
    check("results_index: the committed results/README.md is what the committed reports give",
          rc == 0 and out == committed, f"rc {rc}, stderr {err!r}")


def validate_report_checks(vr, source, tmp):
    schema = source / "docs" / "report.schema.json"
    report = json.loads((source / "results" / "ci-cpu-baseline.json").read_text())
    deep = tmp / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    expect("validate_report: a deeply nested report is invalid, naming it",
           run([vr, schema, deep]), 1, "deep.json", "nested")
    deep65 = tmp / "deep65.json"
    nested = json.loads("[" * 64 + "]" * 64)  # 64 levels under $.config.settings: 66 in all
    deep65.write_text(json.dumps(dict(report, config=dict(report["config"], settings=nested))))
    expect("validate_report: a report nested deeper than 64 levels is invalid, as the tool reads it",
           run([vr, schema, deep65]), 1, "deep65.json", "$.config.settings", "nested deeper than 64 levels")
    expect("validate_report: a deeply nested schema is exit 2",
           run([vr, deep, source / "results" / "ci-cpu-baseline.json"]), 2, "deep.json", "not a usable schema")

    def variant(name, change=None, text=None):
        r = copy.deepcopy(report)
        if change:
            change(r)
        path = tmp / name
        path.write_text(text(json.dumps(r)) if text else json.dumps(r))
        return path

    nan = variant("nan.json", lambda r: r["cases"][0].update(wall_seconds=float("nan")))
    expect("validate_report: a NaN literal is invalid, naming its path",
           run([vr, schema, nan]), 1, "nan.json", "$.cases[0].wall_seconds", "finite")
    inf = variant("inf.json", lambda r: r["cases"][1].update(wall_seconds=float("inf")),
                  text=lambda t: t.replace("Infinity", "1e999"))
    expect("validate_report: a number out of range is invalid, naming its path",
           run([vr, schema, inf]), 1, "inf.json", "$.cases[1].wall_seconds", "finite")
    dup_key = variant("dupkey.json", text=lambda t: t.replace('"complete": ', '"complete": false, "complete": ', 1))
    expect("validate_report: a key twice in an object is invalid, naming its path",
           run([vr, schema, dup_key]), 1, "dupkey.json", "$.complete", "duplicate key")

    def same_id(r):
        r["cases"][1]["id"] = r["cases"][0]["id"]
    expect("validate_report: a case id twice is invalid, naming its path",
           run([vr, schema, variant("dupid.json", same_id)]), 1, "dupid.json", "$.cases[1].id", "twice")

    def kernel_twice(r):
        r["cases"][2]["kernels"].append(copy.deepcopy(r["cases"][2]["kernels"][0]))
    expect("validate_report: a kernel twice in a case is invalid, naming its path",
           run([vr, schema, variant("dupkernel.json", kernel_twice)]), 1, "dupkernel.json", "$.cases[2].kernels[",
           "twice")
    expect("validate_report: the unchanged report is still valid",
           run([vr, schema, variant("same.json")]), 0, "same.json: valid", stream="out")

    small = variant("small-report-with-a-long-name-" + "x" * 150 + ".json", lambda r: r.update(cases=[]))
    p = subprocess.Popen([PY, vr, schema] + [str(small)] * 3000, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()  # | head -1
    err = p.stderr.read().decode("utf-8", "replace")
    rc = p.wait(timeout=120)
    check("validate_report: a closed pipe on stdout ends it quietly (exit 141, no traceback)",
          rc == 141 and not err.strip(), f"rc {rc}, stderr {err[-600:]!r}")


def main(argv):
    args = argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    source = pathlib.Path(args.pop(0)).resolve()
    scripts = {"--results-index": source / "scripts" / "results_index.py",
               "--validate-report": source / "scripts" / "validate_report.py"}
    while args:
        if args[0] not in scripts or len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        scripts[args[0]] = pathlib.Path(args[1]).resolve()
        args = args[2:]
    with tempfile.TemporaryDirectory(prefix="int8attn-scripts-test-") as tmp:
        tmp = pathlib.Path(tmp)
        results_index_checks(scripts["--results-index"], source, tmp)
        try:
            import jsonschema  # noqa: F401  (validate_report.py's own dependency)
        except ImportError:
            print("validate_report checks skipped: python3-jsonschema is not installed")
            return 1 if failures else 77
        validate_report_checks(scripts["--validate-report"], source, tmp)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""The index of results/: one row a report, read from the reports themselves.

usage: results_index.py [--check INDEX] [RESULTS_DIR]

Without --check, prints the index (results/README.md's text) for RESULTS_DIR (default: the
repository's results/). With --check, compares it with INDEX: exit 0 when they are the same,
1 with the command that renews it when INDEX is stale, 2 on usage errors or an unreadable report.
"""
import json
import pathlib
import sys

HEADER = """# results/

Reports measured on a GPU (`h200-*`), the GPU-free CI gate's baselines (`ci-cpu-*`), each the
whole JSON report of one `sweep` (docs/report-schema.md). `compare` reads any of them as a
baseline. This index is made from the reports themselves by
`python3 scripts/results_index.py > results/README.md`; a CPU test fails when it is stale.

A report names the commit it was measured at (`tool.git_commit`; `-dirty`: the tree had
changes that were not committed, `unknown`: a report from before the commit was recorded),
its device, its config and when its sweep started. docs/perf-log.md says, by date and commit,
what each renewal measured and why.

| report | config | device | commit | started (UTC) | cases | kernels |
|---|---|---|---|---|---|---|
"""


def row(path):
    report = json.loads(path.read_text())
    config = report.get("config") or {}
    settings = config.get("options") or config.get("settings") or {}
    name = (config.get("settings") or {}).get("name") or config.get("path") or "-"
    environment = report.get("environment") or {}
    device = environment.get("gpu_name") or environment.get("backend") or "-"
    commit = (report.get("tool") or {}).get("git_commit") or "unknown"
    started = (report.get("started_at") or "-").replace("T", " ").rstrip("Z")
    listed = settings.get("kernels", [])
    kernels = ", ".join(k for k in listed if k != "fp16-ref-cublaslt" or len(listed) == 1) or "-"
    complete = "" if report.get("complete", True) else " (incomplete)"
    return (f"| [{path.name}]({path.name}){complete} | {name} | {device} | {commit} | {started} | "
            f"{len(report.get('cases', []))} | {kernels} |\n")


def index(results_dir):
    if not results_dir.is_dir():
        raise ValueError(f"{results_dir}: expected a folder of reports")
    reports = sorted(results_dir.glob("*.json"))
    if not reports:  # a typo would otherwise write an empty index over the real one
        raise ValueError(f"{results_dir}: expected *.json reports, found none")
    return HEADER + "".join(row(p) for p in reports)


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
    except (OSError, ValueError, AttributeError, TypeError) as e:  # not a report object
        print(f"results_index: {e}", file=sys.stderr)
        return 2
    if check is None:
        sys.stdout.write(text)
        return 0
    current = check.read_text() if check.exists() else ""
    if current == text:
        return 0
    source = f" {results_dir}" if args else ""
    print(f"results_index: {check} is stale; renew it with "
          f"python3 scripts/results_index.py{source} > {check}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

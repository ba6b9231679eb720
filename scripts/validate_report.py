#!/usr/bin/python3
"""Validate int8attn-bench reports against the JSON Schema.

usage: validate_report.py SCHEMA REPORT...

Exit 0 when every report is valid; 1 with the failing file and JSON path on the first
problem of each invalid report; 2 on usage errors or a missing python3-jsonschema.
"""
import json
import sys


def json_path(parts):
    path = "$"
    for p in parts:
        path += f"[{p}]" if isinstance(p, int) else f".{p}"
    return path


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        import jsonschema
    except ImportError:
        print("validate_report.py: python3-jsonschema is not installed", file=sys.stderr)
        return 2

    try:
        with open(argv[1], encoding="utf-8") as f:
            schema = json.load(f)
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print(f"validate_report.py: {argv[1]}: not a usable schema: {e}", file=sys.stderr)
        return 2  # 1 means an invalid report
    validator = validator_class(schema)

    failed = 0
    for report_path in argv[2:]:
        try:
            with open(report_path, encoding="utf-8") as f:
                report = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{report_path}: cannot read as JSON: {e}", file=sys.stderr)
            failed += 1
            continue
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
        for e in errors[:10]:
            print(f"{report_path}: at {json_path(e.absolute_path)}: {e.message}", file=sys.stderr)
        if errors:
            failed += 1
        else:
            print(f"{report_path}: valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

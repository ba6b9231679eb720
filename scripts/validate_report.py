#!/usr/bin/python3
"""Validate int8attn-bench reports against the JSON Schema.

usage: validate_report.py SCHEMA REPORT...

Exit 0 when every report is valid; 1 with the failing file and JSON path on the first
problem of each invalid report (up to 10 problems each); 2 on usage errors, an unusable
schema or a missing python3-jsonschema.

Beyond the schema, a report is invalid where the tool's own reader refuses it
(docs/report-schema.md, Conventions): a NaN or Infinity literal or a number out of range, a
key twice in one object, nesting deeper than 64 levels, a case id twice in "cases" and a
kernel twice in one case. A closed pipe on standard output (| head) ends it quietly, exit 141
(as a filter killed by SIGPIPE).
"""
import json
import math
import os
import re
import sys
import urllib.parse

MAX_DEPTH = 64  # src/io/json_text.h's kMaxJsonDepth: containers nested in each other
MAX_ERRORS = 10  # printed per report


def json_path(parts):
    path = "$"
    for p in parts:
        if isinstance(p, int):
            path += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p):
            path += f".{p}"
        else:  # a key that is not a name (a line break, a terminal escape): quoted, escaped
            path += f"[{json.dumps(p)}]"
    return path


class _Duplicated(dict):
    """An object that had a key twice (json keeps the last value): found by the walk."""
    duplicate = None


def _object(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        obj = _Duplicated(obj)
        obj.duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
    return obj


def load_json(path):
    """The document, read as the tool's reader reads it where Python's json is laxer: duplicate
    keys are kept for the walk to name (_Duplicated), non-finite numbers become floats it names."""
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=_object)


def structure_problems(document):
    """(path, message) of what the tool's reader refuses and JSON Schema cannot say."""
    problems = []
    stack = [(document, (), 1)]
    while stack and len(problems) < MAX_ERRORS:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            problems.append((path, f"nested deeper than {MAX_DEPTH} levels (expected at most {MAX_DEPTH})"))
            continue
        if type(node) is _Duplicated:
            problems.append((path + (node.duplicate,),
                             f"duplicate key {json.dumps(node.duplicate)} (a key may appear once per object)"))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(value, (dict, list)):
                stack.append((value, path + (key,), depth + 1))
            elif type(value) is float and not math.isfinite(value):
                problems.append((path + (key,), "not a finite JSON number (NaN, Infinity or out of range; a "
                                 'report writes non-finite reals as "nan", "inf", "-inf")'))
    if not problems and isinstance(document, dict) and isinstance(document.get("cases"), list):
        problems += repeats(document["cases"])
    return problems


def repeats(cases):
    """A case id twice in the report, a kernel twice in one case: compare could match neither."""
    problems = []
    ids = {}
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            continue
        case_id = case.get("id")
        if isinstance(case_id, str):
            if case_id in ids:
                problems.append((("cases", i, "id"), f"case id {json.dumps(case_id)} appears twice "
                                 f"(first at {json_path(('cases', ids[case_id], 'id'))})"))
            else:
                ids[case_id] = i
        kernels = {}
        for k, result in enumerate(case.get("kernels") if isinstance(case.get("kernels"), list) else []):
            name = result.get("kernel") if isinstance(result, dict) else None
            if not isinstance(name, str):
                continue
            if name in kernels:
                problems.append((("cases", i, "kernels", k, "kernel"), f"kernel {json.dumps(name)} appears "
                                 f"twice in the case (first at {json_path(('cases', i, 'kernels', kernels[name]))})"))
            else:
                kernels[name] = k
    return problems


def _resolve(root, ref):
    node = root
    for part in ref[2:].split("/") if ref != "#" else []:
        part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ValueError(f"unresolvable $ref {json.dumps(ref)}")
    return node


_SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
_NOT_SCHEMAS = {"enum", "const", "default", "examples", "required", "dependentRequired", "type"}
_SCOPE_KEYS = {"$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor"}


def inline_refs(schema, limit=200_000):
    """The schema with its local "$ref"s replaced by what they name (siblings kept, the target
    under "allOf", as 2020-12 applies both), or the schema itself where that is not plainly the
    same: another dialect (siblings of $ref ignored there), ids below the root or anchors, a schema
    that would grow too large. jsonschema resolves each $ref through its registry at every use (about half
    of the time of a large report); an inlined schema validates the same with no lookups."""
    size = [0]

    def has_scope_keys(node):
        if isinstance(node, dict):
            return bool(_SCOPE_KEYS & node.keys()) or any(has_scope_keys(v) for v in node.values())
        return isinstance(node, list) and any(has_scope_keys(v) for v in node)

    def schema_node(node, stack):
        size[0] += 1
        if size[0] > limit:
            raise OverflowError
        if isinstance(node, list):
            return [schema_node(v, stack) for v in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref":
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {k: schema_node(v, stack) for k, v in value.items()}
            elif key in _NOT_SCHEMAS:
                out[key] = value
            else:
                out[key] = schema_node(value, stack)
        ref = node.get("$ref")
        if ref is None:
            return out
        if not isinstance(ref, str) or not ref.startswith("#") or (ref != "#" and not ref.startswith("#/")) \
                or ref in stack:
            out["$ref"] = ref  # remote, an anchor, or recursive: left to jsonschema
            return out
        target = schema_node(_resolve(schema, ref), stack + (ref,))
        if not out:
            return target
        if isinstance(out.get("allOf"), list):
            out["allOf"] = out["allOf"] + [target]
        elif "allOf" in out:
            out["$ref"] = ref
        else:
            out["allOf"] = [target]
        return out

    if not isinstance(schema, dict):
        return schema
    try:
        # An "$id" at the root only sets the base URI that "#/..." resolves against: kept as it is.
        if has_scope_keys({k: v for k, v in schema.items() if k != "$id"}):
            return schema
        return schema_node(schema, ())
    except (OverflowError, RecursionError):
        return schema


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
        fast_schema = schema
        if validator_class in (jsonschema.Draft202012Validator, jsonschema.Draft201909Validator):
            fast_schema = inline_refs(schema)
    except RecursionError:
        print(f"validate_report.py: {argv[1]}: not a usable schema: nested too deeply", file=sys.stderr)
        return 2
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print(f"validate_report.py: {argv[1]}: not a usable schema: {e}", file=sys.stderr)
        return 2  # 1 means an invalid report
    validator = validator_class(fast_schema)
    # A $ref the schema cannot resolve shows only when a report reaches it (private name in
    # jsonschema >= 4.18, public before).
    ref_errors = tuple(e for e in (getattr(jsonschema.exceptions, "_RefResolutionError", None),) if e) or \
        (jsonschema.exceptions.RefResolutionError,)

    failed = 0
    for report_path in argv[2:]:
        try:
            report = load_json(report_path)
        except RecursionError:
            print(f"{report_path}: cannot read as JSON: nested too deeply "
                  f"(expected at most {MAX_DEPTH} levels)", file=sys.stderr)
            failed += 1
            continue
        except (OSError, ValueError) as e:
            print(f"{report_path}: cannot read as JSON: {e}", file=sys.stderr)
            failed += 1
            continue
        problems = structure_problems(report)
        if not any("nested deeper" in message for _, message in problems):  # else too deep for jsonschema
            try:
                errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
            except RecursionError:
                print(f"validate_report.py: {argv[1]}: not a usable schema: nested too deeply", file=sys.stderr)
                return 2
            except ref_errors as e:
                print(f"validate_report.py: {argv[1]}: not a usable schema: {e}", file=sys.stderr)
                return 2
            problems += [(tuple(e.absolute_path), e.message) for e in errors]
        for path, message in problems[:MAX_ERRORS]:
            where = json_path(path)
            if len(where) > 80:  # 64 levels of "[0]" say nothing more
                where = where[:60] + "..."
            print(f"{report_path}: at {where}: {message}", file=sys.stderr)
        if problems:
            failed += 1
        else:
            print(f"{report_path}: valid")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        status = main(sys.argv)
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        # Python's documented idiom (signal module, "Note on SIGPIPE"): no traceback, and no
        # second error when the interpreter flushes stdout at exit; 141 is what a shell reports
        # for a filter killed by SIGPIPE (1 would read as an invalid report).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        status = 141
    sys.exit(status)

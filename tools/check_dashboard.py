#!/usr/bin/env python3
"""Check that a Grafana dashboard queries only metrics that exist.

usage: check_dashboard.py [-v] DASHBOARD.json METRIC_NAMES_SOURCE

Every PromQL query of the dashboard is read: each `expr` anywhere in the JSON (panel targets,
annotation queries, nested rows) and the query of every template variable of type `query`
(`label_values(METRIC{...}, LABEL)`, `query_result(EXPR)` or plain PromQL). The metric names in
them are found with a small PromQL lexer: identifiers that are not functions, aggregations,
keywords, label names inside {...} or by/without/on/ignoring/group_left/group_right lists,
durations, numbers, strings or Grafana variables ($var, ${var}, [[var]]). A `{__name__="x"}`
matcher names x.

METRIC_NAMES_SOURCE says which names exist:
  - a Prometheus text exposition (e.g. `curl -s http://127.0.0.1:9842/metrics > m.txt`, or `-`
    for standard input): the names of its `# TYPE` / `# HELP` lines and of its samples;
  - a markdown file (*.md) such as docs/METRICS.md: every `name` or `name{labels}` in backticks.

Exit status: 0 when every name exists, 1 when some do not (each is listed with the queries using
it) or a query cannot be read (unknown function, stray character), 2 on a usage error or an
unreadable file. Python 3 standard library only.
"""
import json
import re
import sys

# PromQL functions of Prometheus 2.42, and the aggregation operators.
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
    "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
    "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate",
    "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "max_over_time",
    "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time",
    "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort",
    "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh",
    "time", "timestamp", "vector", "year",
    "start", "end",  # the @ modifier's start() and end()
}
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile",
}
# Words followed by a parenthesised list of label names.
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "atan2", "bool", "offset"} | LABEL_LIST_KEYWORDS
NUMBER_WORDS = {"inf", "nan"}  # any case
# Grafana's Prometheus template variable functions (variable queries only).
GRAFANA_VARIABLE_FUNCTIONS = {"label_values", "label_names", "metrics", "query_result"}

TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    | (?P<gvar>\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z_][A-Za-z0-9_:.]*\]\])
    | (?P<duration>(?:[0-9]+(?:ms|[smhdwy]))+(?![A-Za-z0-9_:]))
    | (?P<number>0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@])
    """,
    re.VERBOSE,
)
NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


class QueryError(Exception):
    pass


def tokenize(text):
    tokens = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise QueryError(f"cannot read {text[pos:pos + 20]!r} at offset {pos}")
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            tokens.append((kind, m.group()))
        pos = m.end()
    stack = []
    for kind, value in tokens:
        if kind == "op" and value in "({[":
            stack.append(value)
        elif kind == "op" and value in ")}]":
            if not stack or "({[".index(stack.pop()) != ")}]".index(value):
                raise QueryError(f"unbalanced {value!r}")
    if stack:
        raise QueryError(f"unclosed {stack[-1]!r}")
    return tokens


def matching(tokens, i):
    """Index of the bracket closing the one at tokens[i]."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opening = tokens[i][1]
    depth = 0
    for j in range(i, len(tokens)):
        kind, value = tokens[j]
        if kind != "op":
            continue
        if value == opening:
            depth += 1
        elif value == pairs[opening]:
            depth -= 1
            if depth == 0:
                return j
    raise QueryError(f"unbalanced {opening!r}")


def split_arguments(tokens):
    """Top-level comma-separated pieces of a token list."""
    pieces, current, depth = [], [], 0
    for kind, value in tokens:
        if kind == "op" and value in "({[":
            depth += 1
        elif kind == "op" and value in ")}]":
            depth -= 1
        if kind == "op" and value == "," and depth == 0:
            pieces.append(current)
            current = []
        else:
            current.append((kind, value))
    if current or pieces:
        pieces.append(current)
    return pieces


def metric_names(tokens, variable_query=False):
    """The metric names a PromQL token list refers to, in order of appearance."""
    names = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else (None, None)
        opens_call = following == ("op", "(")
        if kind == "op" and value == "{":
            end = matching(tokens, i)
            inner = tokens[i + 1:end]
            for k in range(len(inner) - 2):
                if inner[k] == ("ident", "__name__") and inner[k + 1] == ("op", "=") and inner[k + 2][0] == "string":
                    names.append(inner[k + 2][1][1:-1])
            i = end + 1
        elif kind == "op" and value == "[":
            i = matching(tokens, i) + 1  # a range or subquery: durations and variables only
        elif kind != "ident":
            i += 1
        elif value in LABEL_LIST_KEYWORDS:
            i = matching(tokens, i + 1) + 1 if opens_call else i + 1  # group_left may stand alone
        elif value in KEYWORDS or value.lower() in NUMBER_WORDS or value in AGGREGATIONS:
            i += 1
        elif opens_call and value in FUNCTIONS:
            i += 1
        elif opens_call and variable_query and value in GRAFANA_VARIABLE_FUNCTIONS:
            end = matching(tokens, i + 1)
            args = split_arguments(tokens[i + 2:end])
            if value == "label_values" and len(args) == 2:
                names.extend(metric_names(args[0]))  # the second argument is a label name
            elif value == "query_result":
                names.extend(metric_names(tokens[i + 2:end]))
            # label_values(LABEL), label_names(...) and metrics(REGEX) name no metric.
            i = end + 1
        elif opens_call:
            raise QueryError(f"unknown function {value}()")
        else:
            names.append(value)
            i += 1
    return names


def dashboard_queries(dashboard):
    """(where, query, is_variable_query) for every PromQL query of the dashboard."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            if node is not dashboard and "title" in node and "type" in node:
                where = f"panel {node['title']!r}"
            elif node is not dashboard and "name" in node and "expr" in node:
                where = f"annotation {node['name']!r}"
            if isinstance(node.get("expr"), str) and node["expr"].strip():
                ref = f" query {node['refId']}" if "refId" in node else ""
                found.append((where + ref, node["expr"], False))
            for key, value in node.items():
                if key != "templating":
                    walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(dashboard, "dashboard")
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):  # Grafana 10: {"query": "...", "refId": ...}
            query = query.get("query")
        if not query:
            query = variable.get("definition")
        if isinstance(query, str) and query.strip():
            found.append((f"variable ${variable.get('name')}", query, True))
    return found


def names_from_exposition(text):
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 3 and parts[1] in ("TYPE", "HELP", "UNIT"):
                names.add(parts[2])
        elif line:
            m = NAME.match(line)
            if m and (line[m.end():m.end() + 1] in ("{", " ", "\t")):
                names.add(m.group())
    return names


def names_from_markdown(text):
    names = set()
    for span in re.findall(r"`([^`\n]+)`", text):
        m = re.fullmatch(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?", span.strip())
        if m:
            names.add(m.group(1))
    return names


def main(argv):
    verbose = False
    args = []
    for arg in argv[1:]:
        if arg in ("-v", "--verbose"):
            verbose = True
        elif arg in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            args.append(arg)
    if len(args) != 2:
        print("usage: check_dashboard.py [-v] DASHBOARD.json METRIC_NAMES_SOURCE (exposition text, - for stdin, or *.md)",
              file=sys.stderr)
        return 2
    dashboard_path, source_path = args
    try:
        with open(dashboard_path, encoding="utf-8") as f:
            dashboard = json.load(f)
        if source_path == "-":
            source_text = sys.stdin.read()
        else:
            with open(source_path, encoding="utf-8") as f:
                source_text = f.read()
    except (OSError, ValueError) as e:
        print(f"check_dashboard: error: {e}", file=sys.stderr)
        return 2
    if source_path.lower().endswith((".md", ".markdown")):
        known = names_from_markdown(source_text)
    else:
        known = names_from_exposition(source_text)
    if not known:
        print(f"check_dashboard: error: no metric names found in {source_path}", file=sys.stderr)
        return 2

    queries = dashboard_queries(dashboard)
    used = {}  # name -> places
    problems = []
    for where, query, is_variable in queries:
        try:
            if is_variable and re.fullmatch(r"\s*metrics\(.*\)\s*", query, re.DOTALL):
                names = []  # metrics(REGEX): a regular expression over names, not PromQL
            else:
                names = metric_names(tokenize(query), variable_query=is_variable)
        except QueryError as e:
            problems.append(f"{where}: {e}: {query}")
            continue
        if verbose:
            print(f"{where}: {', '.join(dict.fromkeys(names)) or '(no metric)'}")
        for name in names:
            used.setdefault(name, [])
            if where not in used[name]:
                used[name].append(where)
    unknown = sorted(name for name in used if name not in known)
    for name in unknown:
        problems.append(f"unknown metric {name}, used by: {'; '.join(used[name])}")

    print(f"check_dashboard: {dashboard_path}: {len(queries)} queries, {len(used)} distinct metric names "
          f"checked against {source_path} ({len(known)} names)")
    if not queries:
        problems.append("no queries found in the dashboard")
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if problems:
        print(f"check_dashboard: FAILED: {len(unknown)} unknown metric names, "
              f"{len(problems) - len(unknown)} other problems", file=sys.stderr)
        return 1
    print("check_dashboard: all metric names exist")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

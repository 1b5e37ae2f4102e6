#!/usr/bin/env python3
"""long_functions.py: lists the functions of runner/, model/, store/ and analysis/ (.cc, .h, .cu,
.cuh) longer than 80 lines, and fails (exit 1) when one has no one-line reason above it.

The style rule (STYLE.md, issue 9): a function fits on a screen (<= 80 lines from its first
signature line to its closing brace) or the comment block directly above it holds a line with
"over 80 lines" saying why, e.g. `// Over 80 lines: one table of the 16 kernels, in order.`
A brace-matching scan, not a C++ parser: comments, strings and character literals are blanked,
then every `{` whose enclosing scopes are all namespaces or classes and whose head looks like a
function's (a parameter list, no `=` outside it, no control keyword) opens a function.
Usage: long_functions.py [REPO_ROOT] [--limit 80] [--list]   (--list: print every long one)
"""
import argparse
import os
import re
import sys

FOLDERS = ("runner", "model", "store", "analysis")
EXTENSIONS = (".cc", ".h", ".cu", ".cuh")
CONTROL = {"if", "for", "while", "switch", "catch", "do", "else", "try", "return"}


def blank(text):
    """Comments, string and char literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + (m.group(1) if m else "") + '"', i)
            j = n if end < 0 else end + len(m.group(1) if m else "") + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_parens(head):
    depth, out = 0, []
    for c in head:
        if c in "(<[":
            depth += 1
        elif c in ")>]":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(c)
    return "".join(out)


def kind_of(head):
    h = " ".join(head.split())
    if not h:
        return "block"
    if re.search(r"\bnamespace\b", h) or h.startswith('extern "C"') or h == "extern":
        return "namespace"
    outer = strip_parens(h)
    if re.search(r"\b(class|struct|union)\b", outer) and "(" not in h.split(":")[0]:
        return "class"
    if re.search(r"\benum\b", outer):
        return "other"
    first = re.match(r"[A-Za-z_]\w*", h)
    if first and first.group(0) in CONTROL:
        return "other"
    if "(" in h and ")" in h and ("=" not in outer or "operator" in h):
        return "function"
    return "other"


def functions(text):
    """(first line, last line, name) of every function body at namespace or class scope."""
    code = blank(text)
    stack, head_start, out = [], 0, []
    for i, c in enumerate(code):
        if c in ";":
            head_start = i + 1
        elif c == "{":
            head = code[head_start:i]
            k = kind_of(head) if all(s[0] in ("namespace", "class") for s in stack) else "other"
            lead = len(head) - len(head.lstrip())
            start_line = code.count("\n", 0, head_start + lead) + 1
            name = re.findall(r"([~\w:]+|operator\S+)\s*\(", " ".join(head.split()))
            stack.append((k, start_line, name[0] if name else "?"))
            head_start = i + 1
        elif c == "}":
            if stack:
                k, start_line, name = stack.pop()
                if k == "function":
                    out.append((start_line, code.count("\n", 0, i) + 1, name))
            head_start = i + 1
    return out


def has_reason(lines, first_line):
    """True when the comment block directly above line `first_line` (1-based) says why."""
    i = first_line - 2
    while i >= 0 and lines[i].strip().startswith(("//", "template", "[[")):
        if "over 80 lines" in lines[i].lower():
            return True
        i -= 1
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    bad = 0
    for folder in FOLDERS:
        for dirpath, _, files in os.walk(os.path.join(args.root, folder)):
            for f in sorted(files):
                if not f.endswith(EXTENSIONS):
                    continue
                path = os.path.join(dirpath, f)
                text = open(path, encoding="utf-8", errors="replace").read()
                lines = text.split("\n")
                for first, last, name in functions(text):
                    length = last - first + 1
                    if length <= args.limit:
                        continue
                    ok = has_reason(lines, first)
                    rel = os.path.relpath(path, args.root)
                    missing = "" if ok else " (no 'over 80 lines' reason above it)"
                    if not ok or args.list:
                        print(f"{rel}:{first}: {name}: {length} lines{missing}")
                    bad += 0 if ok else 1
    if bad:
        print(f"{bad} function(s) over {args.limit} lines without a reason; split them or add "
              f"a comment line above saying why (\"// Over 80 lines: ...\")", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

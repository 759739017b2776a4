#!/usr/bin/env python3
"""Expands a crate's own `macro_rules!` invocations in place, so that cargo-mutants
(which never mutates inside a macro call) reaches the code they generate.

Run it in a scratch clone, never in the tree you commit:

    python3 .cargo/expand-macros.py crates/medmij-oauth --cfg 'feature="axum"' \
        --cfg 'feature="http"' --cfg 'feature="postgres"' --cfg 'feature="tokio"' > /tmp/re
    cargo mutants -p medmij-oauth --in-place --all-features --re "$(cat /tmp/re)" ...

(the arguments after the crate go to rustc as they are: the crate's features, so that
the expansion keeps what `--all-features` builds).

Every item-level invocation `name!(...)`/`name! {...}` of a macro defined with
`macro_rules!` in the crate's `src/` is replaced by rustc's own expansion of it
(`-Zunpretty=expanded` on a small file holding the crate's macro definitions and
that file's invocations; `RUSTC_BOOTSTRAP=1`). Derives inside the macro bodies stay
derives (cargo-mutants does not mutate derived code either). `extern crate alloc;`
is added at the end of the crate root for the expansions of `vec!`/`format!`. The script
prints, per file, the line ranges now holding expanded code, and a `--re`
pattern for cargo-mutants that picks exactly the mutants in those ranges.

See MUTANTS.md, "Code inside macros".
"""

import os
import re
import subprocess
import sys
import tempfile


def skip_string(s, i):
    """i at an opening quote (normal or raw string); returns the index after it."""
    if s[i] == 'r' or s[i] == 'b':
        j = i
        if s[j] == 'b':
            j += 1
        if s[j] == 'r':
            j += 1
            hashes = 0
            while s[j] == '#':
                hashes += 1
                j += 1
            assert s[j] == '"'
            end = '"' + '#' * hashes
            k = s.index(end, j + 1)
            return k + len(end)
        i = j
    assert s[i] == '"'
    j = i + 1
    while s[j] != '"':
        j += 2 if s[j] == '\\' else 1
    return j + 1


def balanced_end(s, i):
    """i at an opening delimiter; returns the index after its matching closer."""
    pairs = {'(': ')', '[': ']', '{': '}'}
    stack = [pairs[s[i]]]
    j = i + 1
    while stack:
        c = s[j]
        if s.startswith('//', j):
            j = s.index('\n', j)
            continue
        if s.startswith('/*', j):
            j = s.index('*/', j) + 2
            continue
        if c == '"' or (c in 'rb' and re.match(r'(b?r#*"|b")', s[j:j + 4]) and not re.match(r'\w', s[j - 1])):
            j = skip_string(s, j)
            continue
        if c == "'":
            # A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", s[j:])
            if m:
                j += m.end()
                continue
            j += 1
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif c in ')]}':
            if c != stack[-1]:
                raise ValueError(f"unbalanced at {j}: {s[j - 40:j + 40]!r}")
            stack.pop()
        j += 1
    return j


def rs_files(src):
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if f.endswith('.rs'):
                yield os.path.join(root, f)


def main():
    crate = sys.argv[1]
    cfgs = sys.argv[2:]
    src = os.path.join(crate, 'src')
    texts = {p: open(p).read() for p in rs_files(src)}
    defs = {}
    for p, s in texts.items():
        for m in re.finditer(r'macro_rules!\s+(\w+)\s*\{', s):
            end = balanced_end(s, m.end() - 1)
            defs[m.group(1)] = s[m.start():end]
    if not defs:
        print(f"{crate}: no macro_rules!", file=sys.stderr)
        return
    derive = re.compile(r'#\[derive\(([^()]*)\)\]')
    prelude = '\n'.join(derive.sub(lambda m: f'#[doc = "__DERIVE__({m.group(1)})"]', d)
                        for d in defs.values())
    names = '|'.join(map(re.escape, defs))
    ranges = {}
    for p, s in texts.items():
        calls = []
        for m in re.finditer(rf'(?m)^[ \t]*({names})!\s*([\(\[\{{])', s):
            end = balanced_end(s, m.end() - 1)
            if m.group(2) in '([' and s[end:end + 1] == ';':
                end += 1
            calls.append((m.start(), end))
        if not calls:
            continue
        tiny = prelude + '\n'
        for k, (a, b) in enumerate(calls):
            tiny += f'\nconst __MARK_{k}: () = ();\n' + derive.sub(lambda m: f'#[doc = "__DERIVE__({m.group(1)})"]', s[a:b]) + '\n'
        tiny += f'\nconst __MARK_{len(calls)}: () = ();\n'
        with tempfile.NamedTemporaryFile('w', suffix='.rs', delete=False) as f:
            f.write(tiny)
        cmd = ['rustc', '--edition', '2024', '--crate-type', 'lib', '-Zunpretty=expanded', f.name]
        cmd += cfgs
        out = subprocess.run(cmd, capture_output=True, text=True,
                             env=dict(os.environ, RUSTC_BOOTSTRAP='1'))
        os.unlink(f.name)
        if out.returncode != 0 and '__MARK_0' not in out.stdout:
            sys.exit(f"{p}: rustc failed:\n{out.stderr}")
        exp = out.stdout
        pieces = []
        for k in range(len(calls)):
            a = exp.index(f'const __MARK_{k}: () = ();')
            a = exp.index('\n', a) + 1
            b = exp.index(f'const __MARK_{k + 1}: () = ();')
            body = exp[a:b].rstrip() + '\n'
            body = re.sub(r'#\[doc\s*=\s*"__DERIVE__\(([^()"]*)\)"\]', r'#[derive(\1)]', body)
            pieces.append(body)
        new, last, spans = '', 0, []
        for (a, b), body in zip(calls, pieces):
            new += s[last:a]
            first = new.count('\n') + 1
            new += body
            spans.append((first, new.count('\n')))
            last = b
        new += s[last:]
        open(p, 'w').write(new)
        ranges[p] = spans
    lib = os.path.join(src, 'lib.rs')
    with open(lib, 'a') as f:
        f.write('\nextern crate alloc;\n')
    alts = []
    for p, spans in ranges.items():
        rel = os.path.relpath(p, crate)
        print(f"{rel}: " + ', '.join(f"{a}-{b}" for a, b in spans), file=sys.stderr)
        lines_ = '|'.join(str(n) for a, b in spans for n in range(a, b + 1))
        alts.append(f"{re.escape(os.path.relpath(p, crate))}:({lines_}):")
    print('(' + '|'.join(alts) + ')')


if __name__ == '__main__':
    main()

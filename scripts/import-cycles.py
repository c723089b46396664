#!/usr/bin/env python3
"""Checks the module graph of node/src: no two top-level modules import each other (directly
or through others), no two files of one folder do, and the engine (raft, raft_types, storage,
bus, gateway) imports no face. An import is any `crate::a::…` path (or `super::x` between files
of one folder) outside comments and `#[cfg(test)] mod tests`. Prints the graph; exits 1 on a
violation. Run by tests/tests/layout.rs."""
import os
import re
import sys

ENGINE = {"raft", "raft_types", "storage", "bus", "gateway"}


def module_path(root, path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def graph(root):
    top, inner = {}, {}
    for d, _, names in os.walk(root):
        for name in names:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(d, name)
            mp = module_path(root, path)
            if not mp:
                continue
            src = open(path, encoding="utf-8").read()
            src = re.split(r"#\[cfg\(test\)\]\s*mod tests", src)[0]
            src = re.sub(r"//[^\n]*", "", src)
            here = mp[0]
            for m in re.finditer(r"crate::([a-z_]+)(?:::([a-z_]+))?", src):
                target, child = m.group(1), m.group(2)
                if target != here:
                    top.setdefault(here, set()).add(target)
                elif child and len(mp) > 1 and child != mp[1]:
                    inner.setdefault(here, {}).setdefault(mp[1], set()).add(child)
            if len(mp) == 2:
                for m in re.finditer(r"\bsuper::([a-z_]+)", src):
                    if m.group(1) != mp[1]:
                        inner.setdefault(here, {}).setdefault(mp[1], set()).add(m.group(1))
    return top, inner


def cycles(g):
    found = set()

    def walk(node, stack):
        for t in g.get(node, ()):
            if t in stack:
                c = stack[stack.index(t):]
                k = min(range(len(c)), key=lambda i: c[i])
                found.add(tuple(c[k:] + c[:k]))
            elif len(stack) < 10:
                walk(t, stack + [t])

    for n in list(g):
        walk(n, [n])
    return sorted(found, key=len)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "node/src"
    top, inner = graph(root)
    bad = []
    print("imports between top-level modules:")
    for k in sorted(top):
        print(f"  {k} -> {', '.join(sorted(top[k]))}")
    for c in cycles(top):
        bad.append("cycle: " + " -> ".join(c + (c[0],)))
    for e in sorted(ENGINE):
        if "faces" in top.get(e, ()):
            bad.append(f"the engine module {e} imports faces")
    for folder, g in sorted(inner.items()):
        for c in cycles(g):
            bad.append(f"cycle inside {folder}/: " + " -> ".join(c + (c[0],)))
    for b in bad:
        print(b)
    print("no import cycle" if not bad else f"{len(bad)} violation(s)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

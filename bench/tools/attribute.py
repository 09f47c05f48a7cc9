#!/usr/bin/env python3
"""Attributes a profile to source lines of this repository.

perf:  attribute.py SCRIPT        (output of `perf script -F ip,sym,srcline --inline --full-source-path`)
       Each sample goes to the innermost frame in wsendpoint/src or bench/src on its stack: that
       line's own cost plus the library code it called. Also prints the inclusive share of every
       such line.
dhat:  attribute.py --dhat FILE [--per N]
       Bytes live at the heap's peak (t-gmax) per allocation site, grouped by the first frames
       outside the standard library; --per N divides by N (e.g. the number of connections).
"""

import collections
import json
import re
import sys

OURS = re.compile(r"/(wsendpoint|bench)/src/")
LIBRARY = re.compile(r"library/(alloc|core|std)/|valgrind|unix\.rs|alloc\.rs:455|^\[root\]|UnknownInlinedFun")


def short(location):
    return re.sub(r".*/(wsendpoint|bench)/src/", r"\1/", location).replace(" (inlined)", "")


def perf(path, top=30):
    samples, current = [], []
    for line in open(path, errors="replace"):
        if not line.strip():
            if current:
                samples.append(current)
                current = []
        elif line.startswith("\t"):
            parts = line.strip().split(None, 1)
            current.append([parts[1] if len(parts) > 1 else "?", ""])
        elif current:
            current[-1][1] = line.strip()
    if current:
        samples.append(current)
    total = len(samples) or 1
    inclusive, innermost = collections.Counter(), collections.Counter()
    leaves = collections.defaultdict(collections.Counter)
    for sample in samples:
        seen, first = set(), None
        for symbol, source in sample:
            if source and OURS.search(source):
                location = short(source)
                if location not in seen:
                    seen.add(location)
                    inclusive[location] += 1
                first = first or location
        if first:
            innermost[first] += 1
            leaves[first][re.sub(r"<.*", "", sample[0][0])[:60]] += 1
    print(f"{len(samples)} samples")
    print("\ninnermost repository line on the stack (its own cost + the library code it called):")
    for location, n in innermost.most_common(top):
        hot = ", ".join(f"{leaf} {100 * c / total:.1f}%" for leaf, c in leaves[location].most_common(3))
        print(f"{100 * n / total:6.2f}%  {location:34}  {hot}")
    print("\ninclusive (the line is anywhere on the stack):")
    for location, n in inclusive.most_common(top):
        print(f"{100 * n / total:6.2f}%  {location}")


def dhat(path, per=1, top=25):
    data = json.load(open(path))
    frames = data["ftbl"]
    groups = collections.defaultdict(lambda: [0, 0])
    for pp in data["pps"]:
        if not pp.get("gb"):
            continue
        label = []
        for f in pp["fs"]:
            frame = frames[f]
            if LIBRARY.search(frame):
                continue
            frame = re.sub(r"^0x[0-9A-F]+: ", "", frame)
            frame = re.sub(r"<[^<>]*(<[^<>]*(<[^<>]*>[^<>]*)*>[^<>]*)*>", "<..>", frame)
            label.append(frame[:100])
            if len(label) == 3:
                break
        group = groups[" | ".join(label)]
        group[0] += pp["gb"]
        group[1] += pp["gbk"]
    total = sum(g[0] for g in groups.values())
    unit = f" per {per}" if per != 1 else ""
    print(f"live at the peak: {total / per:.0f} bytes{unit}")
    for label, (size, blocks) in sorted(groups.items(), key=lambda g: -g[1][0])[:top]:
        print(f"{size / per:9.0f} B{unit}  {blocks:7} blocks of ~{size / max(blocks, 1):6.0f} B  {label}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--dhat"]:
        per = int(args[args.index("--per") + 1]) if "--per" in args else 1
        dhat(args[1], per)
    elif args:
        perf(args[0])
    else:
        sys.exit(__doc__)

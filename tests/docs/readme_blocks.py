#!/usr/bin/env python3
"""Writes each ```sh block of a Markdown file to OUT_DIR/NN.sh and prints one
line per block: "NN CLASS LINE REASON". CLASS is the word after "sh" in the
block's info string: "" (run on the host), "loaded" (run where cgfence is
loaded), "top" (the README's two set-up commands), or "not-run:" followed by
the reason it cannot run on one host."""
import os
import re
import sys

markdown, out_dir = sys.argv[1], sys.argv[2]
os.makedirs(out_dir, exist_ok=True)
fence = re.compile(r"^```sh(?:\s+(\S+))?\s*(.*)$")
blocks = []
with open(markdown) as f:
    lines = f.read().split("\n")
i = 0
while i < len(lines):
    match = fence.match(lines[i])
    if not match:
        i += 1
        continue
    start = i + 1
    body = []
    i += 1
    while i < len(lines) and lines[i] != "```":
        body.append(lines[i])
        i += 1
    blocks.append((match.group(1) or "run", start, match.group(2), body))
    i += 1
for n, (cls, line, reason, body) in enumerate(blocks, 1):
    with open(os.path.join(out_dir, f"{n:02d}.sh"), "w") as f:
        f.write("\n".join(body) + "\n")
    print(f"{n:02d} {cls.rstrip(':')} {line} {reason}".rstrip())

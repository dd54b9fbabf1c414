#!/usr/bin/env python3
"""clang-tidy over the given units, in parallel, each unit once.

A unit whose exact input passed before is not checked again: the key of a
unit is its preprocessed text as clang sees it (every header inlined, the
source tree's and build tree's paths written as placeholders, so that a clone
elsewhere shares the cache), its compile flags, .clang-tidy and clang-tidy's
version. Only clean results are cached, so a finding is shown on every run.

    tests/tidy.py BUILD_DIR CACHE_DIR UNIT...   (CACHE_DIR "": no cache)

Prints each unit's findings; exits 1 if any unit has one.
"""
import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compile_commands(build):
    commands = {}
    for entry in json.loads((build / "compile_commands.json").read_text()):
        args = entry.get("arguments") or shlex.split(entry["command"])
        commands.setdefault(os.path.realpath(entry["file"]), (entry["directory"], args))
    return commands


def preprocessing(args):
    """The compile command as clang's preprocessor alone: no launcher, no -c, no -o."""
    if os.path.basename(args[0]) == "ccache":
        args = args[1:]
    out, skip = ["clang++"], False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg == "-o":
            skip = True
        elif arg != "-c":
            out.append(arg)
    return out + ["-E", "-w", "-o", "-"]


def placeholders(data, build):
    # The build tree first: it may be inside the source tree.
    return data.replace(str(build).encode(), b"@BUILD@").replace(str(ROOT).encode(), b"@ROOT@")


def unit_key(unit, build, commands, fixed):
    found = commands.get(os.path.realpath(ROOT / unit))
    if not found:
        return None  # not compiled in this build: checked every time
    directory, args = found
    run = subprocess.run(preprocessing(args), cwd=directory, capture_output=True, check=False)
    if run.returncode != 0:
        return None  # clang-tidy will say why
    digest = hashlib.sha256(fixed)
    digest.update(placeholders(" ".join(args).encode(), build))
    digest.update(b"\0")
    digest.update(placeholders(run.stdout, build))
    return digest.hexdigest()


def check(unit, build, cache, commands, fixed):
    """(unit, findings text or "")."""
    key = unit_key(unit, build, commands, fixed) if cache else None
    if key and (cache / key).exists():
        return unit, ""
    run = subprocess.run(["clang-tidy", "-p", str(build), "--quiet", unit], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    findings = [line for line in (run.stdout + run.stderr).splitlines()
                if "error:" in line or "warning:" in line]
    if run.returncode != 0 and not findings:
        findings = [f"{unit}: clang-tidy exited with status {run.returncode}"]
    if not findings and key:
        (cache / key).touch()
    return unit, "\n".join(findings)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: tests/tidy.py BUILD_DIR CACHE_DIR UNIT...")
    build = Path(sys.argv[1]).resolve()
    cache = Path(sys.argv[2]) if sys.argv[2] else None
    if cache:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError:
            cache = None  # not ours to write (not root): no cache, same result
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True, text=True,
                             check=True).stdout
    fixed = (version + "\0" + (ROOT / ".clang-tidy").read_text() + "\0").encode()
    commands = compile_commands(build)
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = [pool.submit(check, unit, build, cache, commands, fixed) for unit in sys.argv[3:]]
        for job in jobs:
            unit, findings = job.result()
            if findings:
                failed += 1
                print(findings)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

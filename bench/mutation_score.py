"""The share of mutants the tests killed, per safety-critical module, from the results
`mutmut run` left in mutants/ (what `make mutation` prints at the end).

A mutant is killed when a test failed (or pytest stopped with an error, or it ran out of
time); it survived when every test it ran still passed; "no tests" means no selected test
reaches the mutated line; "not run" means the run was stopped before it got there. The
share is of the mutants run. The aim is 90 % or more killed for every module.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

AIM = 0.90
KILLED = {1, 3, 36, 24, -24, 152, 255}  # a failing test, a pytest error, a time-out
SURVIVED = {0}
NO_TESTS = {5, 33}


def main() -> int:
    metas = sorted(Path("mutants").rglob("*.py.meta"))
    if not metas:
        print("no results in mutants/: run `make mutation` first")
        return 1
    columns = ("mutants", "killed", "survived", "no tests", "not run", "share")
    print(f"{'module':<40} " + " ".join(f"{column:>8}" for column in columns))
    below = []
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"].values()
        tally = Counter(
            "killed" if code in KILLED else "survived" if code in SURVIVED
            else "no tests" if code in NO_TESTS else "not run" if code is None else "other"
            for code in codes
        )  # fmt: skip
        total = sum(tally.values())
        run = total - tally["not run"]
        share = tally["killed"] / run if run else 0.0
        module = str(meta.relative_to("mutants")).removesuffix(".meta")
        print(
            f"{module:<40} {total:>8} {tally['killed']:>8} {tally['survived']:>8} "
            f"{tally['no tests']:>8} {tally['not run']:>8} {share:>8.0%}"
        )
        if share < AIM:
            below.append(module)
    if below:
        print(f"below the aim of {AIM:.0%}: {', '.join(below)} (`mutmut results` lists survivors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

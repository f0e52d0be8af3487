"""Rebuild the example models in resources/examples/ with the project's own builders.

Run ``make examples`` (or ``python packaging/build_examples.py [KEY ...]``). Each example is built
with the fixed parameters and seed written in ``amorpha.engine.examples``, so the files can be
reproduced by anyone; the window reads them from File › Examples.
"""
from __future__ import annotations

import argparse
import sys
import time

from amorpha.engine.examples import EXAMPLES, example_path
from amorpha.engine.io import write_extxyz


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("keys", nargs="*", help=f"examples to build (default all): {', '.join(EXAMPLES)}")
    args = parser.parse_args(argv)
    unknown = [k for k in args.keys if k not in EXAMPLES]
    if unknown:
        parser.error(f"unknown example(s) {', '.join(unknown)}; known: {', '.join(EXAMPLES)}")
    for key in args.keys or list(EXAMPLES):
        example = EXAMPLES[key]
        start = time.perf_counter()
        atoms = example.build(None, None)
        path = example_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_extxyz(atoms, path)
        print(f"{key}: {len(atoms)} atoms, {time.perf_counter() - start:.1f} s -> {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

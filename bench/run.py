"""`make bench`: run every bench/bench_*.py module's ``run()``, print the rows, write bench/RESULTS.md.

Each module returns a list of dict rows with at least ``passed`` and a name (``name`` or ``bench``);
see bench/common.py. A module that raises is reported as a failed row; the others still run. Exit 1
when any row failed.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_module(path: Path) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    try:
        rows = list(_load(path).run())
    except Exception as exc:  # one broken benchmark must not hide the others' results
        traceback.print_exc()
        rows = [{"name": path.stem, "passed": False, "note": f"crashed: {type(exc).__name__}: {exc}"}]
    return rows, time.perf_counter() - started


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**NO**"
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    lead = [c for c in ("name", "bench") if c in columns]
    rest = [c for c in columns if c not in lead and c != "passed"]
    columns = [*lead, "passed", *rest]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average at start {load}"
    )


def main(argv: list[str]) -> int:
    """``bench/run.py [bench_store ...]``: all benchmarks, or only the named ones. Either way RESULTS.md
    gets the sections that ran (the others are kept as they were, each with its own date line)."""
    only = set(argv)
    modules = sorted(p for p in HERE.glob("bench_*.py") if not only or p.stem in only)
    unknown = only - {p.stem for p in modules}
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    sections: dict[str, str] = {}
    failed = 0
    for path in modules:
        print(f"== {path.stem}", flush=True)
        header, started = machine(), time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        rows, took = run_module(path)
        for row in rows:
            name = row.get("name") or row.get("bench") or path.stem
            status = "ok  " if row.get("passed") else "FAIL"
            details = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("name", "bench", "passed"))
            print(f"   {status} {name}: {details}", flush=True)
            failed += 0 if row.get("passed") else 1
        sections[path.stem] = (
            f"## {path.stem}\n\n{_load_doc(path)}\n\n_Run on {started}: {header}._\n\n"
            f"{markdown_table(rows)}\n\n_({took:.1f} s)_\n"
        )
    results = HERE / "RESULTS.md"
    kept = _sections(results.read_text(encoding="utf-8")) if only and results.exists() else {}
    body = (
        "# Benchmark results\n\n"
        "Written by `make bench` (bench/run.py; `bench/run.py NAME` re-runs one section). Every ratio is\n"
        "measured against its baseline in the same run, on the machine named in its section.\n\n"
        + "\n".join(text for _, text in sorted({**kept, **sections}.items()))
    )
    results.write_text(body, encoding="utf-8")
    print(f"{'all passed' if not failed else f'{failed} failed'}; results in {results}")
    return 1 if failed else 0


def _sections(text: str) -> dict[str, str]:
    """RESULTS.md's ``## bench_x`` sections by name. A section written before sections had their own
    date line gets the file's old header date, so a kept section never looks newer than it is."""
    parts = re.split(r"^(?=## bench_)", text, flags=re.M)
    old = re.search(r"\(bench/run\.py\) on (.+?)\.\n", parts[0])
    out: dict[str, str] = {}
    for part in parts[1:]:
        heading, rest = part.split("\n", 1)
        if "_Run on " not in rest and old is not None:
            rest = f"\n_Run on {old.group(1)}._\n" + rest
        out[heading[3:].strip()] = f"{heading}\n{rest.rstrip()}\n"
    return out


def _load_doc(path: Path) -> str:
    """The first paragraph of the module's docstring (what is measured and the pass criteria)."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

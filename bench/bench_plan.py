"""Benchmark: `credlib plan --offline` over 1,000 credentials x 6 file targets.

Pass criteria (issue 5): wall time of `plan --offline` at most 3x that of `sops decrypt --output-type
json` on the same file, both fresh processes run in turn, five rounds each (median), and peak memory (max
RSS of the credlib process) under 150 MB. Three plans are measured: "steady" (after an apply, nothing
to change: what a pre-commit hook or cron runs), "one changed" (one credential's base URL edited:
every target takes it, so all six are rendered, merged and diffed again) and "fresh" (no target file
exists yet: everything is created, with full diffs). The six targets mix the formats users have: JSON
(claude-code-router, opencode, kilo-code), dotenv and YAML (litellm, cliproxyapi).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from common import bench_env, interleaved, make_encrypted_file, measure, result  # noqa: E402

N_CREDENTIALS = 1000
MAX_RATIO = 3.0
MAX_RSS_MB = 150.0
TARGETS = (
    ("ccr", "claude-code-router", "out/ccr/config.json"),
    ("opencode", "opencode", "out/opencode/opencode.json"),
    ("kilo", "kilo-code", "out/kilo/kilo-settings.json"),
    ("env", "dotenv", "out/app/.env"),
    ("litellm", "litellm", "out/litellm/config.yaml"),
    ("cliproxy", "cliproxyapi", "out/cliproxy/config.yaml"),
)
EDITED_URL = ("https://relay-7.example.com/team7\n", "https://relay-7.example.com/team7-moved\n")


def _add_targets(file: Path, root: Path) -> None:
    """Targets are plain fields (mac_only_encrypted), so they are appended as sops would write them."""
    lines = ["targets:"]
    for name, type_, rel in TARGETS:
        lines += [f"    - name: {name}", f"      type: {type_}", f"      path: {root / rel}"]
    text = file.read_text(encoding="utf-8")
    head, sep, tail = text.partition("\nsops:\n")
    file.write_text(head + "\n" + "\n".join(lines) + sep + tail, encoding="utf-8")


def _against_decrypt(
    decrypt: list[str], plan: list[str], *, env: dict[str, str], cwd: Path, repeats: int
) -> tuple[float, float, float]:
    """(plan median s, decrypt median s, plan peak RSS MB), the two run in turn round after round so a
    change in machine load (CI runners, other jobs) hits both alike."""
    t = interleaved({"decrypt": decrypt, "plan": plan}, env=env, cwd=cwd, repeats=repeats)
    return t["plan"].median_s, t["decrypt"].median_s, t["plan"].rss_mb


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="credlib-bench-plan-") as tmp:
        root = Path(tmp)
        env = bench_env(root)
        file = make_encrypted_file(root, env, N_CREDENTIALS)
        _add_targets(file, root)
        from credlib.sops import find_sops

        decrypt = [find_sops(), "decrypt", "--output-type", "json", str(file)]
        credlib = [sys.executable, "-m", "credlib", "-f", str(file)]
        plan = [*credlib, "plan", "--offline"]

        fresh_s, fresh_base, fresh_rss = _against_decrypt(decrypt, plan, env=env, cwd=root, repeats=5)
        measure([*credlib, "apply", "--offline", "--yes"], env=env, cwd=root)
        measure([*credlib, "plan", "--offline", "--detailed-exitcode"], env=env, cwd=root)  # 0: no changes
        steady_s, steady_base, steady_rss = _against_decrypt(decrypt, plan, env=env, cwd=root, repeats=5)
        text = file.read_text(encoding="utf-8")
        assert EDITED_URL[0] in text
        file.write_text(text.replace(EDITED_URL[0], EDITED_URL[1]), encoding="utf-8")
        measure([*credlib, "plan", "--offline", "--detailed-exitcode"], env=env, cwd=root, ok=(2,))
        changed_s, changed_base, changed_rss = _against_decrypt(decrypt, plan, env=env, cwd=root, repeats=5)
        size_kib = sum(p.stat().st_size for p in (root / "out").rglob("*") if p.is_file()) // 1024

    workload = f"{N_CREDENTIALS} credentials x {len(TARGETS)} file targets, {size_kib} KiB of target files"
    rss = max(fresh_rss, steady_rss, changed_rss)
    return [
        result("plan --offline, steady (no changes) / sops decrypt", steady_s, baseline=steady_base,
               limit=MAX_RATIO, unit="s", note=workload),
        result("plan --offline, one credential changed / sops decrypt", changed_s, baseline=changed_base,
               limit=MAX_RATIO, unit="s", note="all six targets re-rendered, merged and diffed"),
        result("plan --offline, fresh (all created) / sops decrypt", fresh_s, baseline=fresh_base,
               limit=MAX_RATIO, unit="s", note="no target file exists yet; full diffs"),
        result("plan --offline, peak RSS", rss, limit=MAX_RSS_MB, unit="MB", note="max over all plan runs"),
    ]


if __name__ == "__main__":
    import json

    rows = run()
    print(json.dumps(rows, indent=2))
    sys.exit(0 if all(r["passed"] for r in rows) else 1)

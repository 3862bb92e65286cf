"""What a plaintext API key looks like, so `check` can refuse one before it reaches Git.

Provider prefixes follow gitleaks' default rules plus the bare ``sk-`` keys most OpenAI-compatible
relays issue (gitleaks has no rule for those); anything else long and random is caught by an entropy
threshold. Findings carry the rule id and position only, never the matched text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Order matters: the first rule that matches a span names it (specific before generic).
_RULES: tuple[tuple[str, str], ...] = (
    ("age-secret-key", r"AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}"),
    ("anthropic-api-key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai-project-key", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"),
    ("openai-legacy-key", r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}"),
    ("google-api-key", r"AIza[0-9A-Za-z_-]{35}"),
    ("huggingface-token", r"hf_[A-Za-z]{34}"),
    ("xai-api-key", r"xai-[A-Za-z0-9]{40,}"),
    ("perplexity-api-key", r"pplx-[A-Za-z0-9]{40,}"),
    ("relay-sk-key", r"sk-[A-Za-z0-9_-]{20,}"),
)
_COMPILED = tuple((rule_id, re.compile(r"(?<![A-Za-z0-9_-])" + rx)) for rule_id, rx in _RULES)

# Long random-looking tokens: at least 32 characters of a key alphabet with high Shannon entropy.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_+/=-])[A-Za-z0-9_+/=-]{32,}(?![A-Za-z0-9_+/=-])")
# Above 4.0 on purpose: hex digests (git SHAs, sha256) top out at exactly 4 bits per character.
ENTROPY_THRESHOLD = 4.2
# ``sk-`` also starts ordinary words ("sk-learn-contrib-..."): these rules also need a random tail.
_NEEDS_RANDOMNESS = frozenset({"anthropic-api-key", "openai-project-key", "relay-sk-key"})


# Every rule above needs at least 20 consecutive characters of this alphabet: a line without such a run
# cannot match, and most lines of a credentials file are like that (names, URLs, ciphertext stubs).
_PREFILTER = re.compile(r"[A-Za-z0-9_+/=-]{20,}")


@dataclass(frozen=True)
class SecretMatch:
    rule: str
    start: int
    end: int


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _looks_random(token: str) -> bool:
    # Identifiers like "openai_compatible_provider_setting" have low entropy and no digits; real keys
    # mix digits and letters.
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    return has_digit and has_alpha and shannon_entropy(token) >= ENTROPY_THRESHOLD


def _random_tail(match: str) -> bool:
    return any(c.isdigit() for c in match) and shannon_entropy(match) >= 3.5


def find_secrets(text: str, *, entropy: bool = True) -> list[SecretMatch]:
    """Every span of ``text`` that looks like a key; overlapping spans are reported once."""
    if not _PREFILTER.search(text):
        return []
    found: list[SecretMatch] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for rule_id, rx in _COMPILED:
        for m in rx.finditer(text):
            if rule_id in _NEEDS_RANDOMNESS and not _random_tail(m.group(0)):
                continue
            if free(m.start(), m.end()):
                found.append(SecretMatch(rule_id, m.start(), m.end()))
                taken.append((m.start(), m.end()))
    if entropy:
        for m in _TOKEN.finditer(text):
            if free(m.start(), m.end()) and _looks_random(m.group(0)):
                found.append(SecretMatch("high-entropy-token", m.start(), m.end()))
                taken.append((m.start(), m.end()))
    found.sort(key=lambda s: s.start)
    return found


def find_age_secret_keys(text: str) -> list[SecretMatch]:
    rx = _COMPILED[0][1]
    return [SecretMatch("age-secret-key", m.start(), m.end()) for m in rx.finditer(text)]


def mask_secrets(text: str) -> str:
    """``text`` with every key-like span replaced by its redacted form (for textconv fallbacks)."""
    from credlib.redact import redact_key

    out: list[str] = []
    pos = 0
    for match in find_secrets(text):
        out.append(text[pos : match.start])
        out.append(redact_key(text[match.start : match.end]))
        pos = match.end
    out.append(text[pos:])
    return "".join(out)

"""Base URL normalization (SPEC §2) and the few URL helpers every layer shares.

The stored form of a base URL is scheme + host (+ non-default port) + path prefix, with no trailing
slash, no query, fragment or userinfo, and without the provider version segment (the last ``/v1`` for
the OpenAI family and Anthropic, the last ``/v1beta`` for Google). Other version-like segments are
kept because such a path is a complete API prefix (Volcengine's ``/api/coding/v3``).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from credlib.model import ApiType

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ONLY_HTTP = "only http and https work"
# Punctuation people paste around a URL: "(https://x/v1)." or "<https://x>".
_LEADING_JUNK = "*('\"`[{<"
_TRAILING_JUNK = "*)'\"`}]>.,;"
_WHITESPACE = re.compile(r"\s")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# "host:port" or "host:port/path" without a scheme (an improvement on All API Hub, which rejects it).
_HOST_PORT_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[^/:?#\s\[\]]+):\d{1,5}(?:[/?#]|$)")
# A URL already in stored form: lower-case scheme and ASCII host (DNS labels of 1-63 characters), an
# optional port without leading zeros, non-empty path segments of URL characters. Every read of a
# saved file sees only such URLs, so they skip the full parse (most of a 1,000-credential `ls`'s
# validation time); ``_is_stored_form`` adds the checks a regex cannot make.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_STORED_RE = re.compile(
    rf"(https?)://{_LABEL}(?:\.{_LABEL})*(?::([1-9][0-9]{{0,4}}))?((?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*)"
)


def display_url(url: str) -> str:
    """``url`` safe for a message: userinfo, query and fragment (where tokens hide) removed."""
    text = re.sub(r"//[^/@?#]*@", "//", url.strip())
    return re.split(r"[?#]", text, maxsplit=1)[0]


def _strip_wrapping(text: str) -> str:
    text = text.strip()
    previous = None
    while previous != text:
        previous = text
        text = text.lstrip(_LEADING_JUNK).rstrip(_TRAILING_JUNK).strip()
    return text


def _host_of(parts: SplitResult, original: str) -> str:
    try:
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        raise ValueError(f"base URL {display_url(original)!r} has no host")
    if ":" in host:  # IPv6 literal
        return f"[{host}]"
    if not re.fullmatch(r"[A-Za-z0-9.\-_~%\u0080-\U0010ffff]+", host) or host.startswith(".") or ".." in host:
        raise ValueError(f"base URL {display_url(original)!r} has an invalid host")
    try:
        # Internationalized names are stored in their ASCII (punycode) form, like a browser would.
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"base URL {display_url(original)!r} has an invalid host") from None


def _port_of(parts: SplitResult, original: str) -> int | None:
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"base URL {display_url(original)!r} has an invalid port") from None
    return port


def _version_segment(api_type: ApiType) -> str:
    return "v1beta" if api_type == "google" else "v1"


def _is_stored_form(url: str, api_type: ApiType) -> bool:
    """True when ``normalize_base_url`` would return ``url`` unchanged (a property test checks it)."""
    match = _STORED_RE.fullmatch(url)
    if match is None or url[-1] in _TRAILING_JUNK:
        return False
    scheme, port, path = match.groups()
    if port is not None and (int(port) > 65535 or int(port) == _DEFAULT_PORTS[scheme]):
        return False
    version = _version_segment(api_type)
    return not any(seg.lower() == version for seg in path.split("/"))


def normalize_base_url(url: str, api_type: ApiType = "openai-compatible") -> str:
    """Return the stored form of ``url`` for ``api_type`` (SPEC §2); ``ValueError`` if it is not a URL."""
    if not isinstance(url, str):
        raise ValueError("base URL must be a string")
    if _is_stored_form(url, api_type):
        return url
    return _normalize_parsed(url, api_type)


def _normalize_parsed(url: str, api_type: ApiType) -> str:
    text = _strip_wrapping(url)
    if not text:
        raise ValueError("base URL is empty")
    if _WHITESPACE.search(text):
        raise ValueError(f"base URL {display_url(url)!r} contains whitespace")
    if text.startswith(("?", "#", "/", "./", "../", ".")):
        raise ValueError(f"base URL {display_url(url)!r} must start with http://, https:// or a host name")
    if "://" not in text:
        if _HOST_PORT_RE.match(text):
            text = "https://" + text
        elif (found := _SCHEME_RE.match(text)) is not None:
            shown = display_url(url)
            raise ValueError(f"base URL {shown!r} uses the scheme {found.group(1)!r}; {_ONLY_HTTP}")
        else:
            text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"base URL {display_url(url)!r} uses the scheme {parts.scheme!r}; {_ONLY_HTTP}")
    host = _host_of(parts, url)
    port = _port_of(parts, url)
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    segments = [seg for seg in parts.path.split("/")]
    # Drop the leading "" (path starts with "/") and every trailing empty segment (trailing slashes).
    segments = segments[1:] if segments and segments[0] == "" else segments
    while segments and segments[-1] == "":
        segments.pop()
    version = _version_segment(api_type)
    for i in range(len(segments) - 1, -1, -1):
        if segments[i].lower() == version:
            segments = segments[:i]
            break
    path = "/" + "/".join(segments) if segments else ""
    return f"{scheme}://{netloc}{path}"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute http(s) URL, default ports dropped, host lower-cased."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"{display_url(url)!r} is not an absolute http(s) URL")
    host = _host_of(parts, url)
    port = _port_of(parts, url)
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def same_origin(a: str, b: str) -> bool:
    """True when both are absolute http(s) URLs with the same scheme, host and port."""
    try:
        return origin_of(a) == origin_of(b)
    except ValueError:
        return False


def join_url(base: str, path: str) -> str:
    """``base`` + ``path`` with exactly one slash between them; a stored path prefix is kept."""
    if not path:
        return base
    return base.rstrip("/") + "/" + path.lstrip("/")


def is_absolute_http(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() in _DEFAULT_PORTS and "://" in url

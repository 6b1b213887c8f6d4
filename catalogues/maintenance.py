"""Keeping the catalogues complete: ``python -m catalogues extract|update|check [DOMAIN]``.

- ``extract`` rewrites ``locale/<domain>.pot`` from the phrases marked in the sources
  (``_("...")``, ``N_("...")``, ``t("...")``, ``ngettext``/``plural``; ``app.tr("...")``
  in the kiosk's ``.kv`` files);
- ``update`` merges the template into every language's ``.po``;
- ``check`` lists what is missing, fuzzy, or has placeholders that differ from English
  (a test runs it, so a phrase added without its translations is seen at once).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from catalogues import LOCALE_DIR, po_path, shipped_languages

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS: dict[str, Any] = {
    "_": None,
    "N_": None,
    "t": None,
    "tr": None,
    "ngettext": (1, 2),
    "plural": (1, 2),
}


@dataclass(frozen=True)
class Sources:
    """Where a domain's phrases are marked: a folder and Babel's method map for it."""

    folder: Path
    method_map: list[tuple[str, str]] = field(default_factory=lambda: [("**.py", "python")])


DOMAINS: dict[str, Sources] = {
    "ticket": Sources(ROOT / "device_drivers", [("translations.py", "python")]),
    "board": Sources(ROOT / "speech", [("phrases.py", "python"), ("board_words.py", "python")]),
    "status": Sources(
        ROOT / "queue_server",
        [
            ("status_words.py", "python"),
            ("feedback_words.py", "python"),
            ("notify_words.py", "python"),
        ],
    ),
    "join": Sources(ROOT / "queue_server", [("join_words.py", "python")]),
    "kiosk": Sources(
        ROOT / "kiosk", [("**.py", "python"), ("**.kv", "catalogues.maintenance:extract_kv")]
    ),
}

_KV_MESSAGE = re.compile(r"""\btr\(\s*(["'])((?:\\.|(?!\1).)*)\1""")


def extract_kv(fileobj, keywords, comment_tags, options):  # type: ignore[no-untyped-def]
    """A Babel extractor for ``app.tr("...")`` in Kivy ``.kv`` files."""
    for lineno, line in enumerate(fileobj.read().decode("utf-8").splitlines(), 1):
        for match in _KV_MESSAGE.finditer(line):
            yield lineno, "tr", match.group(2).encode().decode("unicode_escape"), []


def source_messages(domain: str) -> Catalog:
    """Every message marked in the domain's sources."""
    from babel.messages.extract import extract_from_dir

    sources = DOMAINS[domain]
    catalog = Catalog(project=f"Walkin {domain}", domain=domain)
    for filename, lineno, message, comments, _context in extract_from_dir(
        str(sources.folder), method_map=sources.method_map, keywords=KEYWORDS
    ):
        catalog.add(message, locations=[(filename, lineno)], auto_comments=comments)
    return catalog


def _read(domain: str, code: str) -> Catalog:
    with po_path(domain, code).open("rb") as po:
        return read_po(po, locale=code, domain=domain)


def problems(domain: str, code: str) -> Iterator[str]:
    """What is wrong with one catalogue: missing, fuzzy, or placeholders that differ."""
    catalog = _read(domain, code)
    for source in source_messages(domain):
        if not source.id:
            continue
        entry = catalog.get(source.id)
        strings = () if entry is None else entry.string
        strings = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or not all(strings):
            yield f"{domain}/{code}: untranslated: {source.id!r}"
            continue
        if entry.fuzzy:
            yield f"{domain}/{code}: fuzzy: {source.id!r}"
        ids = source.id if isinstance(source.id, tuple) else (source.id,)
        wanted = set().union(*(re.findall(r"\{(\w+)\}", i) for i in ids))
        for text in strings:
            found = set(re.findall(r"\{(\w+)\}", text))
            if found - wanted or (wanted - {"n"}) - found:
                yield (
                    f"{domain}/{code}: placeholders {sorted(found)} != {sorted(wanted)} in {text!r}"
                )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv) or ["check"]
    command, domains = args[0], args[1:] or list(DOMAINS)
    unknown = [d for d in domains if d not in DOMAINS]
    if command not in ("extract", "update", "check") or unknown:
        print(
            "usage: python -m catalogues extract|update|check "
            f"[{'|'.join(DOMAINS)}]" + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
            file=sys.stderr,
        )
        return 2
    found: list[str] = []
    for domain in domains:
        if command == "extract":
            with (LOCALE_DIR / f"{domain}.pot").open("wb") as pot:
                write_po(pot, source_messages(domain), width=100, sort_output=True)
        elif command == "update":
            template = source_messages(domain)
            for code in shipped_languages(domain)[1:]:
                catalog = _read(domain, code)
                catalog.update(template)
                with po_path(domain, code).open("wb") as po:
                    write_po(po, catalog, width=100, ignore_obsolete=True)
        else:
            found += [p for code in shipped_languages(domain)[1:] for p in problems(domain, code)]
    if command == "check":
        print("\n".join(found) or "all catalogues complete")
        return 1 if found else 0
    return 0

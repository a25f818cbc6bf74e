"""Cleaning of typed text, shared by every form and by imports.

Text reaches the register from keyboards, scanners, copy-paste from emails and
spreadsheets. Invisible characters come along: a NUL byte (which PostgreSQL refuses in a
text column), other control characters, a byte-order mark, zero-width spaces, and the
bidirectional overrides and isolates that make "abc" display as "cba" (a known way to
disguise text). None of them belongs in a register kept by people, so they are removed,
and the rest is normalised to NFC so that "ä" typed as one character or as "a" plus a
combining mark is the same text, compares equal and counts as one character.
"""

import re
import unicodedata

# Line and paragraph separators are kept as a line break in multi-line text.
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x0b\x0c\x85]")


def _removed(char: str) -> bool:
    # Cc: C0 and C1 controls, NUL included. Cf: format characters, among them the
    # bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069), marks
    # (U+200E, U+200F, U+061C), zero-width characters (U+200B-U+200D, U+2060) and the
    # byte-order mark U+FEFF. Cs: lone surrogates, which no encoder accepts.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs")


def text_clean(value: str, *, multiline: bool = False) -> str:
    """``value`` without control and format characters, NFC-normalised.

    In one-line text a tab or a line break becomes a space; in multi-line text (a textarea)
    tabs and line breaks stay, and every kind of line break becomes ``\\n``.
    """
    if value.isascii() and value.isprintable():
        return value  # the usual case, and nothing to remove or normalise
    value = _LINE_BREAKS.sub("\n", value)
    kept = []
    for char in value:
        if char in "\n\t":
            kept.append(char if multiline else " ")
        elif not _removed(char):
            kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


# The ASCII characters _removed() is true for (all of them Cc), tab and line breaks aside.
_ASCII_REMOVED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def has_removed_characters(value: str) -> bool:
    """Whether ``value`` holds a character that :func:`text_clean` would remove (tab and
    line breaks aside). For data where silently dropping a character is wrong, e.g. a
    cell of an imported file, or a whole file at once: it reads a large text in a few
    passes in C, asking Unicode only about each distinct non-ASCII character."""
    if value.isascii() and value.isprintable():
        return False  # the usual case: printable ASCII holds no control or format character
    if _ASCII_REMOVED.search(value):
        return True
    return any(_removed(char) for char in set(_NON_ASCII.findall(value)))


# What a browser or another program puts where it could not read a byte (a request in a wrong
# encoding, text pasted from a file read wrongly): the character typed is lost.
UNREADABLE = "\ufffd"


def edges_trimmed(value: str) -> str:
    """``value`` without white space and removed characters at either end (a zero-width space
    pasted with an address from a web page), everything inside it as it was."""
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or _removed(value[start])):
        start += 1
    while end > start and (value[end - 1].isspace() or _removed(value[end - 1])):
        end -= 1
    return value[start:end]

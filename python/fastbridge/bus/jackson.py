"""EventBridge's messages for event-pattern text that is not a JSON object.

EventBridge reads a pattern with the Jackson streaming parser (default
features: no comments, no single quotes, no unquoted names, no NaN), and
when that fails the reason it reports is Jackson's message, followed by the
parser location (the message is one line; it is cut here)::

    Unrecognized token 'this': was expecting (JSON String, Number, Array,
    Object or token 'null', 'true' or 'false')
     at [Source: (String)"this is valid json but not a dict"; line: 1, column: 5]

A pattern that parses but whose first token is not ``{`` is rejected with
``Filter is not an object`` at the location after that token.

:func:`pattern_text_problem` reproduces those messages by walking the text
the way Jackson's char-based parser does, stopping at the first error:

- an unexpected character is located *at* that character (Jackson reports
  the location minus one); an unrecognised token, a bad escape or a bad
  character in a number *after* it;
- an unrecognised token is the characters Jackson read (``'t'`` of an
  attempted ``true``, or any letter) plus the following Java identifier
  characters;
- columns are 1-based, lines count ``\\n``, ``\\r`` and ``\\r\\n`` once each;
- the source excerpt is cut at 500 characters with ``[truncated N chars]``.

Only the first JSON value is read, as Jackson does: content after it is left
to the pattern compiler.
"""

from __future__ import annotations

VALID_TOKENS = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_MAX_SOURCE = 500
_MAX_TOKEN = 256


class _Error(Exception):
    pass


def _char_desc(c: str) -> str:
    code = ord(c)
    if code < 32 or 127 <= code <= 159:
        return f"(CTRL-CHAR, code {code})"
    if code > 255:
        return f"'{c}' (code {code} / 0x{code:x})"
    return f"'{c}' (code {code})"


def _identifier_part(c: str) -> bool:
    """Java's Character.isJavaIdentifierPart, closely enough for ASCII and letters."""
    return c.isalnum() or c in "_$" or (ord(c) > 127 and c.isidentifier())


def _identifier_start(c: str) -> bool:
    return c.isalpha() or c in "_$"


def _digit(c: str | None) -> bool:
    """An ASCII digit: all Jackson reads as one (``str.isdigit`` also takes ``０``, ``²``)."""
    return c is not None and "0" <= c <= "9"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.row = 1
        self.row_start = 0

    # ---- locations ------------------------------------------------------------------

    def source(self) -> str:
        text = self.text
        if len(text) > _MAX_SOURCE:
            text = f'{text[:_MAX_SOURCE]}"[truncated {len(self.text) - _MAX_SOURCE} chars]'
            return f'[Source: (String)"{text}'
        return f'[Source: (String)"{text}"'

    def location(self, pos: int | None = None, row: int | None = None, start: int = 0) -> str:
        if pos is None:
            pos, row, start = self.pos, self.row, self.row_start
        return f"{self.source()}; line: {row}, column: {pos - start + 1}]"

    def fail(self, message: str, *, minus_one: bool = False) -> _Error:
        pos = self.pos - 1 if minus_one else self.pos
        where = self.location(pos, self.row, self.row_start)
        return _Error(f"{message}\n at {where}")

    def unexpected(self, c: str, comment: str) -> _Error:
        return self.fail(f"Unexpected character ({_char_desc(c)}): {comment}", minus_one=True)

    def eof(self, comment: str) -> _Error:
        return self.fail(f"Unexpected end-of-input{comment}")

    # ---- reading --------------------------------------------------------------------

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def take(self) -> str | None:
        c = self.peek()
        if c is not None:
            self.pos += 1
        return c

    def newline(self, c: str) -> None:
        if c == "\r" and self.peek() == "\n":
            self.pos += 1
        self.row += 1
        self.row_start = self.pos

    def skip_ws(self) -> str | None:
        """The next significant character, consumed; None at the end."""
        while True:
            c = self.take()
            if c is None:
                return None
            if c in "\n\r":
                self.newline(c)
            elif c in " \t":
                continue
            elif c == "/" or c == "#":
                raise self.unexpected(
                    c,
                    "maybe a (non-standard) comment? (not recognized as one since Feature "
                    f"'ALLOW_{'YAML_' if c == '#' else ''}COMMENTS' not enabled for parser)",
                )
            elif ord(c) < 32:
                raise self.fail(
                    f"Illegal character ({_char_desc(c)}): only regular white space "
                    "(\\r, \\n, \\t) is allowed between tokens"
                )
            else:
                return c

    def invalid_token(self, matched: str) -> _Error:
        token = matched
        while (c := self.peek()) is not None and _identifier_part(c):
            self.pos += 1
            token += c
            if len(token) >= _MAX_TOKEN:
                token += "..."
                break
        return self.fail(f"Unrecognized token '{token}': was expecting {VALID_TOKENS}")

    def literal(self, word: str) -> None:
        """The rest of ``true``/``false``/``null``/``NaN`` (first char consumed)."""
        for i in range(1, len(word)):
            c = self.peek()
            if c is None or c != word[i]:
                raise self.invalid_token(word[:i])
            self.pos += 1
        c = self.peek()
        if c is not None and _identifier_part(c):
            raise self.invalid_token(word)

    # ---- values -----------------------------------------------------------------------

    def value(self, c: str) -> None:
        if c == '"':
            self.string("a string value")
        elif c in "{[":
            self.nested(c)
        elif c in "tfn":
            self.literal({"t": "true", "f": "false", "n": "null"}[c])
        elif c == "-" or _digit(c):
            self.number(c)
        elif c == "N":
            self.literal("NaN")
            raise self.fail(
                "Non-standard token 'NaN': enable JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS "
                "to allow"
            )
        elif _identifier_start(c):
            raise self.invalid_token(c)
        else:
            raise self.unexpected(c, f"expected a valid value {VALID_TOKENS}")

    def string(self, what: str) -> None:
        while True:
            c = self.take()
            if c is None:
                if what == "a string value":
                    raise self.eof(": was expecting closing quote for a string value")
                raise self.eof(" in field name")
            if c == '"':
                return
            if c == "\\":
                e = self.take()
                if e is None:
                    raise self.eof(" in character escape sequence")
                if e == "u":
                    for _ in range(4):
                        h = self.take()
                        if h is None:
                            raise self.eof(" in character escape sequence")
                        if h not in "0123456789abcdefABCDEF":
                            raise self.fail(
                                f"Unexpected character ({_char_desc(h)}): expected a hex-digit "
                                "for character escape sequence"
                            )
                elif e not in '"\\/bfnrt':
                    raise self.fail(f"Unrecognized character escape {_char_desc(e)}")
            elif ord(c) < 32:
                name = "string value" if what == "a string value" else "name"
                raise self.fail(
                    f"Illegal unquoted character ({_char_desc(c)}): has to be escaped using "
                    f"backslash to be included in {name}"
                )

    def bad_number(self, c: str | None, comment: str) -> _Error:
        """Jackson reports a bad character of a number after reading it."""
        if c is None:
            return self.eof(" in a Number value")
        return self.fail(f"Unexpected character ({_char_desc(c)}) in numeric value: {comment}")

    def digits(self) -> int:
        n = 0
        while _digit(self.peek()):
            self.pos += 1
            n += 1
        return n

    def number(self, first: str) -> None:
        if first == "-":
            c = self.take()
            if c is None or not _digit(c):
                raise self.bad_number(
                    c, "expected digit (0-9) to follow minus sign, for valid numeric value"
                )
            first = c
        if first == "0" and _digit(self.peek()):
            raise self.fail("Invalid numeric value: Leading zeroes not allowed")
        self.digits()
        if self.peek() == ".":
            self.pos += 1
            if not self.digits():
                raise self.bad_number(self.take(), "Decimal point not followed by a digit")
        if self.peek() in ("e", "E"):
            self.pos += 1
            if self.peek() in ("+", "-"):
                self.pos += 1
            if not self.digits():
                raise self.bad_number(self.take(), "Exponent indicator not followed by a digit")

    def close(self, c: str, expected: str, start: tuple[int, int, int]) -> None:
        kind = "Object" if expected == "}" else "Array"
        where = self.location(start[0], start[1], start[2])
        raise self.fail(
            f"Unexpected close marker '{c}': expected '{expected}' (for {kind} starting at {where})"
        )

    def nested(self, c: str) -> None:
        """An object or array (``c``, its opening bracket, consumed) up to its end.

        The open containers are kept on a list, not on Python's stack, so any nesting
        depth is read without a RecursionError."""
        stack: list[tuple[str, tuple[int, int, int]]] = []
        while True:
            if c in "{[":
                stack.append((c, (self.pos - 1, self.row, self.row_start)))
                first = True
            else:
                self.value(c)
                first = False
            while True:  # on to the next value, closing the containers that end
                kind, start = stack[-1]
                if kind == "{":
                    following = self.next_in_object(start, first)
                else:
                    following = self.next_in_array(start, first)
                if following is not None:
                    c = following
                    break
                stack.pop()
                if not stack:
                    return
                first = False

    def next_in_object(self, start: tuple[int, int, int], first: bool) -> str | None:
        """Read up to a member's value and return its first character (consumed); None
        when the object ends."""
        c = self.skip_ws()
        if c is None:
            where = self.location(*start)
            raise self.eof(f": expected close marker for Object (start marker at {where})")
        if first and c == "}":
            return None
        if not first:
            if c == "}":
                return None
            if c == "]":
                self.close(c, "}", start)
            if c != ",":
                raise self.unexpected(c, "was expecting comma to separate Object entries")
            c = self.skip_ws()
            if c is None:
                raise self.eof(" within/between Object entries")
        if c != '"':
            raise self.unexpected(c, "was expecting double-quote to start field name")
        self.string("a field name")
        c = self.skip_ws()
        if c is None:
            raise self.eof(" within/between Object entries")
        if c != ":":
            raise self.unexpected(c, "was expecting a colon to separate field name and value")
        c = self.skip_ws()
        if c is None:
            raise self.eof(" within/between Object entries")
        return c

    def next_in_array(self, start: tuple[int, int, int], first: bool) -> str | None:
        """The first character (consumed) of the next element; None when the array ends."""
        c = self.skip_ws()
        if c is None:
            where = self.location(*start)
            raise self.eof(f": expected close marker for Array (start marker at {where})")
        if c == "]" and first:
            return None
        if not first:
            if c == "]":
                return None
            if c == "}":
                self.close(c, "]", start)
            if c != ",":
                raise self.unexpected(c, "was expecting comma to separate Array entries")
            c = self.skip_ws()
            if c is None:
                raise self.eof(" within/between Array entries")
        return c


def pattern_text_problem(text: str) -> str | None:
    """Jackson's message (with location) for pattern text whose first JSON
    value is missing, malformed or not an object; None if it is an object."""
    parser = _Parser(text)
    try:
        c = parser.skip_ws()
        if c is None:
            return f"No content to map due to end-of-input\n at {parser.location()}"
        if c != "{":
            if c in '"[':
                return f"Filter is not an object\n at {parser.location()}"
            parser.value(c)
            return f"Filter is not an object\n at {parser.location()}"
        parser.nested(c)
    except _Error as e:
        return str(e)
    return None

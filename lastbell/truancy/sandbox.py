"""The sandbox that letter templates run in: district admins write them, so they must reach
nothing but the merge fields they are given.

How:
- A Django template Engine of its own with none of Django's built-in tags or filters, no
  loaders and no context processors: only `{% if %}`, `{% for %}` and `{% comment %}`, and a
  short list of text filters (FILTERS). `{% load %}`, `{% include %}`, `{% extends %}`,
  `{% debug %}`, `{% url %}`, `|safe` … do not exist there, and `check` refuses them by name
  before Django's parser sees them, with a sentence a secretary can act on.
- The context is plain data made by the caller: strings, tuples of strings and read-only
  mappings of them (`freeze`), never model instances, querysets or callables, so there is no
  attribute to climb from (`student.__class__` is refused by Django's own parser, and there
  is no object behind `student` anyway). Unknown names render as nothing.
- Autoescape is always on: a merge field can't add markup. The template's own HTML may use
  only the tags and attributes of ALLOWED_TAGS / ALLOWED_ATTRIBUTES (no scripts, links,
  images, styles or event handlers: the PDF renderer fetches nothing and the staff preview
  runs nothing), checked on save, and the rendered letter is re-written through the same
  allow-list (`clean_html`) before it reaches a page, an email or the PDF.
- Loops nest at most two deep and a template is at most MAX_SOURCE characters, so a template
  can't make the worker spin.
"""

import functools
import html
import re
from html.parser import HTMLParser
from types import MappingProxyType

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, TemplateSyntaxError
from django.template import defaultfilters as filters
from django.template import defaulttags as tags
from django.template.base import Lexer, TokenType

MAX_SOURCE = 50_000
MAX_OUTPUT = 500_000
MAX_LOOP_DEPTH = 2

# Library of the sandbox engine: the only tags and filters a letter template can use.
register = Library()
register.tag("if", tags.do_if)
register.tag("for", tags.do_for)
register.tag("comment", tags.comment)
FILTERS = {
    "default": filters.default, "join": filters.join, "length": filters.length,
    "upper": filters.upper, "lower": filters.lower, "capfirst": filters.capfirst,
    "title": filters.title, "linebreaksbr": filters.linebreaksbr, "first": filters.first,
    "last": filters.last, "pluralize": filters.pluralize, "yesno": filters.yesno,
}  # fmt: skip
for _name, _function in FILTERS.items():
    register.filter(_name, _function)  # each keeps the autoescape flags Django gave it

ALLOWED_BLOCKS = {"if", "elif", "else", "endif", "for", "empty", "endfor", "comment",
                  "endcomment"}  # fmt: skip
ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "h1", "h2", "h3", "h4", "ul", "ol", "li",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "div", "span", "section",
    "header", "footer", "address", "hr", "small", "blockquote", "dl", "dt", "dd", "sup", "sub",
}  # fmt: skip
VOID_TAGS = {"br", "hr"}
ALLOWED_ATTRIBUTES = {"class", "colspan", "rowspan", "lang", "dir"}


class LetterEngine(Engine):
    # Engine adds Django's own tags and filters (load, include, extends, debug, url …) to
    # every engine through default_builtins: this one has none of them.
    default_builtins: list[str] = []


@functools.cache
def engine(autoescape: bool = True) -> LetterEngine:
    """The sandbox engine: HTML (autoescaped), or plain text for an email's subject."""
    return LetterEngine(
        dirs=[], app_dirs=False, loaders=[], context_processors=[], debug=False,
        autoescape=autoescape, string_if_invalid="", builtins=["lastbell.truancy.sandbox"],
        libraries={},
    )  # fmt: skip


def freeze(value):
    """Merge fields as the sandbox takes them: dicts become read-only mappings, lists tuples,
    everything else text. Nothing callable or with attributes worth reaching gets in."""
    if isinstance(value, dict):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if value is None:
        return ""
    return str(value)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = {"and", "or", "not", "in", "is", "None", "True", "False", "reversed"}


def _names_in(expression: str) -> list[str]:
    """The merge-field names an expression starts from: `student` in `student.first_name`,
    `dates` in `dates|length > 3`; not quoted text, numbers, operators or filter names."""
    found = []
    for part in re.sub(r"(\"[^\"]*\"|'[^']*')", " ", expression).split():
        root = part.split("|")[0].split(".")[0]
        if root not in _OPERATORS and _WORD.fullmatch(root):
            found.append(root)
    return found


def check(source: str, *, fields: set[str], what: str = "The letter") -> None:
    """Raise ValidationError, in plain words, unless `source` is a letter template the
    sandbox renders: only the allowed tags, merge fields that exist, and safe HTML."""
    problems = []
    if len(source) > MAX_SOURCE:
        raise ValidationError(
            f"{what} is longer than {MAX_SOURCE:,} characters. Shorten it.")  # fmt: skip
    loop_names: set[str] = set()
    depth = 0
    for token in Lexer(source).tokenize():
        where = f"Line {token.lineno}: "
        if token.token_type == TokenType.BLOCK:
            name, _, rest = token.contents.partition(" ")
            if name not in ALLOWED_BLOCKS:
                problems.append(
                    f"{where}letters can't use {{% {name} %}}. Use only {{% if %}}, "
                    "{% for %} and {% comment %}, and merge fields in {{ }}."
                )
                continue
            if name == "for":
                depth += 1
                if depth > MAX_LOOP_DEPTH:
                    problems.append(f"{where}put at most {MAX_LOOP_DEPTH} {{% for %}} loops "
                                    "inside each other.")  # fmt: skip
                bound, _, sequence = rest.partition(" in ")
                loop_names |= {n.strip() for n in bound.split(",") if n.strip()}
                unknown = [n for n in _names_in(sequence.removesuffix(" reversed"))
                           if n not in fields and n not in loop_names | {"forloop"}]  # fmt: skip
            elif name == "endfor":
                depth = max(0, depth - 1)
                unknown = []
            elif name in ("if", "elif"):
                unknown = [n for n in _names_in(rest)
                           if n not in fields and n not in loop_names | {"forloop"}]  # fmt: skip
            else:
                unknown = []
            problems += [_unknown(where, n, fields) for n in unknown]
        elif token.token_type == TokenType.VAR:
            expression = token.contents
            for filter_name in [f.split(":")[0].strip() for f in expression.split("|")[1:]]:
                if filter_name not in FILTERS:
                    problems.append(
                        f"{where}the filter “{filter_name}” can't be used in letters. You "
                        f"can use: {', '.join(sorted(FILTERS))}."
                    )
            if "__" in expression or "._" in expression or expression.strip().startswith("_"):
                problems.append(f"{where}{{{{ {expression} }}}} is not a merge field.")
                continue
            problems += [
                _unknown(where, n, fields) for n in _names_in(expression.split("|")[0])
                if n not in fields and n not in loop_names | {"forloop"}
            ]  # fmt: skip
    if not problems:
        try:
            engine().from_string(source)
        except TemplateSyntaxError as error:
            problems.append(f"{what} can't be read: {_plain(error)}")
    problems += _html_problems(source)
    if problems:
        raise ValidationError(list(dict.fromkeys(problems))[:12])


def _unknown(where: str, name: str, fields: set[str]) -> str:
    return (f"{where}“{name}” is not a merge field. Use one of: "
            f"{', '.join(sorted(fields))}.")  # fmt: skip


def _plain(error: TemplateSyntaxError) -> str:
    text = str(error)
    if "Unclosed tag" in text or "expected 'end" in text or "endfor" in text or "endif" in text:
        return "an {% if %} or {% for %} is not closed: add its {% endif %} or {% endfor %}."
    return text


class _HtmlCheck(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def _where(self) -> str:
        return f"Line {self.getpos()[0]}: "

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(
                f"{self._where()}letters can't contain <{tag}>. Use headings, paragraphs, "
                "lists and tables (links, images, scripts and styles are not allowed)."
            )
            return
        if any(name.startswith(("{", "%")) for name, _ in attrs):
            self.problems.append(
                f"{self._where()}put {{% if %}} and merge fields between HTML tags or in a "
                "class, not among a tag's attributes."
            )
            return
        for name, _value in attrs:
            if name not in ALLOWED_ATTRIBUTES:
                self.problems.append(
                    f"{self._where()}<{tag}> can't have the attribute “{name}”. Only "
                    f"{', '.join(sorted(ALLOWED_ATTRIBUTES))} are allowed."
                )

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_decl(self, decl):
        pass  # a <!doctype> is dropped on output

    def handle_pi(self, data):
        self.problems.append(f"{self._where()}letters can't contain <?{data[:20]}>.")


def _html_problems(source: str) -> list[str]:
    checker = _HtmlCheck()
    checker.feed(source)
    checker.close()
    return checker.problems


class _Cleaner(HTMLParser):
    """Writes HTML back with only the allowed tags and attributes; everything else's text
    is kept, escaped, and its markup dropped (script and style contents too)."""

    SKIP_CONTENT = {"script", "style", "template", "iframe", "object", "noscript", "textarea",
                    "title", "head", "svg", "math"}  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP_CONTENT:
            self.skipping.append(tag)
            return
        if self.skipping or tag not in ALLOWED_TAGS:
            return
        kept = "".join(
            f' {name}="{html.escape(value or "", quote=True)}"'
            for name, value in attrs if name in ALLOWED_ATTRIBUTES
        )  # fmt: skip
        self.out.append(f"<{tag}{kept}>")

    def handle_startendtag(self, tag, attrs):
        if tag in ALLOWED_TAGS and not self.skipping:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag in ALLOWED_TAGS and tag not in VOID_TAGS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))


def clean_html(markup: str) -> str:
    """`markup` with only the allowed tags and attributes left."""
    cleaner = _Cleaner()
    cleaner.feed(markup)
    cleaner.close()
    return "".join(cleaner.out)


def render(source: str, fields: dict, *, autoescape: bool = True) -> str:
    """Render a checked template with `fields` (plain data, see `freeze`). HTML output is
    cleaned; plain output (an email subject) is one line."""
    return Compiled(source, autoescape=autoescape).render(fields)


class Compiled:
    """A template parsed once and rendered for many letters (a batch)."""

    def __init__(self, source: str, *, autoescape: bool = True):
        self.autoescape = autoescape
        self.template = engine(autoescape).from_string(source)

    def render(self, fields: dict) -> str:
        context = Context(freeze(fields), autoescape=self.autoescape)
        output = self.template.render(context)
        if len(output) > MAX_OUTPUT:
            raise ValidationError(
                f"The letter comes out longer than {MAX_OUTPUT:,} characters. Shorten it."
            )
        return clean_html(output) if self.autoescape else " ".join(output.split())


class _Text(HTMLParser):
    BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "li", "tr", "section", "header", "footer",
              "address", "blockquote", "table", "ul", "ol", "dt", "dd", "hr"}  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append("  ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS and tag != "li":
            self.parts.append("\n\n")

    def handle_data(self, data):
        # Runs of whitespace become one space; the space between "is <b>truant</b> under"
        # stays.
        text = " ".join(data.split())
        if data[:1].isspace():
            text = " " + text
        if data[-1:].isspace() and text.strip():
            text += " "
        self.parts.append(text)


def html_to_text(markup: str) -> str:
    """The plain-text part of an email from a letter's HTML."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

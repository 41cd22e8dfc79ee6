"""The `nsi` command's help in the message catalogue, and typer's own words an analyst meets.

Help texts stay plain English in pipelines/cli.py (docstrings and `help=` of options), where they are
read as documentation; `extract` finds them for Babel, and `translate` swaps in the catalogue's
wording before the command line is parsed. typer looks up a few words of its own (`--help` headings,
"required", "default") with gettext's default text domain; `translate` has it look them up in this
catalogue instead (not through the LANGUAGE variable, which would reach every library and child
process: Pango picks glyph forms by it). TYPER_WORDS names them so that they are extracted and
translated. The words of the click copy inside typer are fixed English; the two of them in every
`--help` are replaced here.
"""

from __future__ import annotations

import ast
import inspect

import typer.core as typer_core
from typer._click.core import Command
from typer._click.formatting import HelpFormatter

from nsi.messages import N_, _

# typer's message ids, exactly as typer writes them (tests/test_messages.py checks them against the installed typer).
TYPER_WORDS = (
    N_("Arguments"), N_("Options"), N_("Commands"), N_("required"), N_("default: {default}"), N_("(dynamic)"),
    N_("env var: {var}"), N_("Missing command."), N_("No such command {name!r}."), N_("Aborted!"),
)


class _Formatter(HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage:") + " " if prefix is None else prefix)


def _help(text: str) -> str:
    return _(inspect.cleandoc(text))


def translate(command: Command) -> Command:
    """The command tree with every help text in the language in use (in place)."""
    typer_core._ = _  # typer's own words, from the same catalogue (typer.core imports gettext's `_` by name)
    if command.help:
        command.help = _help(command.help)
        first = command.help.partition("\n\n")[0]
        if "。" in first:  # click finds the first sentence by its spaces, which Chinese does not have
            command.short_help = first.split("。", 1)[0] + "。"
    for param in command.params:
        if getattr(param, "help", None):
            param.help = _help(param.help)
    command.context_class = type("Context", (command.context_class,), {"formatter_class": _Formatter})
    help_option = command.get_help_option

    def translated_help_option(ctx):
        option = help_option(ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    command.get_help_option = translated_help_option
    for child in getattr(command, "commands", {}).values():
        translate(child)
    return command


def extract(fileobj, keywords, comment_tags, options):
    """Babel extraction for pipelines/cli.py: the `_()` calls, and every help text of the command tree
    (command docstrings, `help=` strings) as click shows them."""
    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(_is_command(d) for d in node.decorator_list):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield node.body[0].lineno, None, doc, []
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "help" and isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                    yield keyword.value.lineno, None, inspect.cleandoc(keyword.value.value), []


def _is_command(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr in ("command", "callback")

"""Chinese messages by default, English on request, from one gettext catalogue; the language changes
what is said, never what is stored or published."""

import json
import os
import re
import shutil

import pytest
from conftest import REPO, run_nsi

from nsi import messages, messages_build

# ------------------------------------------------------------------------------ reading the output
# What is not prose even in a Chinese sentence: commands, paths, URLs, options, variables and other
# codes, placeholders, quoted values.
NOT_PROSE = re.compile(r"`[^`]*`|https?://\S+|\S*[/\\]\S*|(?<![\w-])--?[A-Za-z][\w-]*|\$?\b[A-Z][A-Z0-9_]+\b"
                       r"|\b\w*[_\d]\w*\b|<[^>]*>|\{[^}]*\}|'[^']*'|\[[^\]]*\]")
ENGLISH_RUN = re.compile(r"\b[A-Za-z]+(?: +[A-Za-z]+){2,}\b")


def english_sentences(text: str) -> list[str]:
    """Three or more English words in a row, outside commands, paths, options, codes and values."""
    return ENGLISH_RUN.findall(NOT_PROSE.sub(" | ", text))


def _literal(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pattern(template: str) -> re.Pattern | None:
    """The template's fixed text, placeholders matching anything short, whitespace ignored (the output
    may be wrapped); None when too little of it is fixed to recognise it."""
    parts = re.split(r"\{[^}]*\}", template)
    while parts and not _literal(parts[0]):
        parts.pop(0)
    while parts and not _literal(parts[-1]):
        parts.pop()
    fixed = [_literal(p) for p in parts]
    if len("".join(fixed)) < 6:
        return None
    return re.compile(".{0,300}?".join(re.escape(p) for p in fixed), re.S)


@pytest.fixture(scope="module")
def templates():
    """Message id → (pattern of its English, pattern of its Chinese), for the messages long enough to recognise."""
    from pipelines.summary import DELIVERY_COLUMNS, ROWS_COLUMNS

    found = {}
    for message in messages_build.read("zh"):
        # Table headings are wrapped inside their column, by the width of their language; compared as they are.
        if not message.id or isinstance(message.id, tuple) or message.id in ROWS_COLUMNS + DELIVERY_COLUMNS:
            continue
        english, chinese = _pattern(message.id), _pattern(message.string)
        if english and chinese and len(_literal(message.id)) >= 12:
            found[message.id] = (english, chinese)
    return found


def message_ids(text: str, templates: dict, language: str) -> set[str]:
    """The messages of the catalogue the output says: every match, less those inside a longer one."""
    flat = _literal(text)
    spans = {}
    for message_id, patterns in templates.items():
        match = patterns[0 if language == "en" else 1].search(flat)
        if match:
            spans[message_id] = match.span()
    return {m for m, (a, b) in spans.items()
            if not any((c <= a and b <= d) and (c, d) != (a, b) for n, (c, d) in spans.items() if n != m)}


# --------------------------------------------------------------------------------- the languages
DEFAULT_LOCALE = {"LANG": "C.UTF-8"}  # a server's usual locale: says nothing of English


def default_env(**extra) -> dict:
    """The environment of a command started without any language setting."""
    return {"NSI_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANGUAGE": "", **DEFAULT_LOCALE, **extra}


def both(args, root, env=None, check=False):
    """The output of a command in the default language and with `--lang en`."""
    chinese = run_nsi(args, root, check=check, env_extra=default_env(**(env or {})))
    english = run_nsi(["--lang", "en", *args], root, check=check, env_extra=default_env(**(env or {})))
    return chinese, english


def test_the_detector_finds_english_and_passes_chinese_with_codes():
    assert english_sentences("nsi run: error: the file is empty") == ["the file is empty"]
    assert english_sentences("nsi run：错误：NSI_SMTP_PORT='abc' 不是数字；见 `nsi inspect FILE` 和 data/raw/x.csv") == []
    assert english_sentences("  26  jiangbei_without_street: 江北新区的记录没有街道 --stage publish [OPTIONS] COMMAND") == []


def test_the_catalogue_is_complete_and_compiled():
    """Every message of the code is translated, keeps its placeholders, and nsi.mo is what the .po compiles to."""
    assert messages_build.check() == []
    assert len(messages_build.extract()) > 150  # extraction finds the code's messages, help texts included


def test_typer_looks_its_words_up_in_the_catalogue():
    from babel.messages.extract import extract_from_file

    import typer
    from pipelines.cli_messages import TYPER_WORDS

    core = os.path.join(os.path.dirname(typer.__file__), "core.py")
    looked_up = {message for _, message, _, _ in extract_from_file("python", core, keywords={"_": None})}
    assert set(TYPER_WORDS) <= looked_up


def test_every_help_text_has_its_chinese(monkeypatch):
    import typer

    import pipelines.cli_messages as cli_messages
    from pipelines.cli import app

    monkeypatch.setattr(cli_messages, "_", messages.translator("zh"))
    english = typer.main.get_command(app)
    texts = [english.help] + [c.help for c in english.commands.values()]
    texts += [p.help for c in [english, *english.commands.values()] for p in c.params if getattr(p, "help", None)]
    chinese = cli_messages.translate(typer.main.get_command(app))
    said = [chinese.help] + [c.help for c in chinese.commands.values()]
    said += [p.help for c in [chinese, *chinese.commands.values()] for p in c.params if getattr(p, "help", None)]
    assert len(said) == len(texts) > 30
    assert [english_sentences(text) for text in said] == [[] for _ in said]


def test_rule_texts_are_looked_up_in_the_language_asked():
    from nsi.ingest.validate import RULE_MESSAGES

    chinese = messages.translator("zh")
    assert chinese(RULE_MESSAGES["jiangbei_without_street"]) == "江北新区的记录没有街道：须按街道归入浦口区或六合区"
    assert all(not english_sentences(chinese(text)) for text in RULE_MESSAGES.values())
    assert messages.translator("en")(RULE_MESSAGES["missing_value"]) == "a required value is empty"


@pytest.mark.parametrize("args, env, code", [
    (["--help"], {}, 0),
    (["run", "--help"], {}, 0),
    (["sample", "--from", "2024-13"], {}, 2),
    (["sample", "--from", "2024-03", "--source", "weibo"], {}, 2),
    (["sample", "--from", "2024-03"], {"NSI_SMTP_PORT": "abc"}, 2),
    (["compose", "--indicators", "X.csv", "--structure", "S.csv", "--out", "R.csv"], {}, 2),
])
def test_commands_speak_chinese_by_default_and_the_same_messages_in_english(tmp_path, templates, args, env, code):
    chinese, english = both(args, tmp_path, env)
    assert chinese.returncode == english.returncode == code
    said, meant = chinese.stdout + chinese.stderr, english.stdout + english.stderr
    assert english_sentences(said) == [], said
    assert english_sentences(meant), meant  # the detector does see English where there is some
    ids = message_ids(said, templates, "zh")
    assert ids and ids == message_ids(meant, templates, "en")
    if "--help" in args:  # typer's own words too
        assert all(word in said for word in ("用法:", "选项", "显示本帮助并退出。"))


def test_inspect_on_a_bad_and_a_good_file(sample_q1, tmp_path, templates):
    empty = tmp_path / "2024-03.csv"
    empty.write_bytes(b"")
    chinese, english = both(["inspect", str(empty)], tmp_path / "d")
    assert chinese.returncode == english.returncode == 2
    assert chinese.stderr.strip() == "nsi inspect：错误：2024-03.csv：文件是空的。请从源系统重新导出该月数据"
    assert english.stderr.strip() == "nsi inspect: error: 2024-03.csv: the file is empty. Re-export the month from the source system"

    survey = sample_q1 / "raw/survey/2024-02.xlsx"
    chinese, english = both(["inspect", str(survey)], tmp_path / "d")
    assert chinese.returncode == english.returncode == 0
    assert "数据源: survey（按表头自动判断）" in chinese.stdout and "source: survey (guessed from the headers)" in english.stdout
    assert english_sentences(chinese.stdout) == []
    ids = message_ids(chinese.stdout, templates, "zh")
    assert {"source: {source} (guessed from the headers)", "values the vocabulary does not know: {count}"} <= ids
    assert ids == message_ids(english.stdout, templates, "en")


def test_an_english_locale_speaks_english_unless_nsi_lang_says_otherwise(tmp_path):
    """The order itself is settings.language's (tests/test_settings.py); here, that the command follows it."""
    english = run_nsi(["sample", "--from", "2024-13"], tmp_path, check=False, env_extra=default_env(LANG="en_US.UTF-8"))
    assert english.stderr.strip() == "nsi sample: error: '2024-13': month 13 does not exist (01–12)"
    chinese = run_nsi(["sample", "--from", "2024-13"], tmp_path, check=False,
                      env_extra=default_env(LANG="en_US.UTF-8", NSI_LANG="zh"))
    assert chinese.stderr.strip() == "nsi sample：错误：“2024-13”：没有第 13 月（01–12）"


def test_a_wrong_language_is_named_in_chinese(tmp_path):
    result = run_nsi(["sample", "--from", "2024-03"], tmp_path, check=False, env_extra=default_env(NSI_LANG="fr"))
    assert result.returncode == 2 and result.stderr.strip() == "nsi sample：错误：NSI_LANG='fr'：只能取 zh, en"
    result = run_nsi(["--lang", "fr", "sample", "--from", "2024-03"], tmp_path, check=False, env_extra=default_env())
    assert result.returncode == 2 and result.stderr.strip() == "nsi --lang：错误：--lang fr：请选 zh 或 en"
    assert not (tmp_path / "raw").exists()


# ------------------------------------------------------------------- a run in Chinese, compared
def _warehouse_rows(root, month: str) -> dict:
    """Every table's rows of the month, less what names the run itself."""
    import duckdb

    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'month' ORDER BY 1").fetchall()]
        rows = {}
        for table in tables:
            columns = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                                 "ORDER BY ordinal_position", [table]).fetchall()
                       if c not in ("run_id", "recorded_at")]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows[table] = con.execute(f'SELECT {listed} FROM "{table}" WHERE month = ? ORDER BY ALL', [month]).fetchall()
        return rows
    finally:
        con.close()


def _manifest(root, month: str) -> dict:
    manifest = json.loads((root / "out" / month / "manifest.json").read_text(encoding="utf-8"))
    for name in ("dagster_run_id", "published_at"):
        manifest.pop(name)
    return manifest


def test_a_run_in_chinese_says_the_summary_in_chinese_and_stores_and_publishes_the_same_bytes(
        ingested_q1, sample_q1, tmp_path, templates):
    english_root, english = ingested_q1  # the same exports and key, run with NSI_LANG=en (as 2024-01 to 2024-03)
    root = tmp_path / "data"
    shutil.copytree(sample_q1 / "raw", root / "raw")
    # As on a Chinese desktop, whose LANGUAGE would also change the PDFs' glyph forms if it reached Pango.
    chinese = run_nsi(["run", "2024-01"], root, env_extra=default_env(NSI_PII_KEY="test-key-q1", LANGUAGE="zh_CN:zh"))

    said = chinese.stdout + chinese.stderr
    assert english_sentences(said) == [], said
    assert "运行成功；Dagster 运行编号" in said and "按原因统计的拒绝行数" in said
    from pipelines.summary import ROWS_COLUMNS
    zh = messages.translator("zh")
    assert all(zh(heading) in said and zh(heading) != heading for heading in ROWS_COLUMNS)
    ids = message_ids(said, templates, "zh")
    assert {"run succeeded; Dagster run id {run_id}", "running {first} on {root}",
            "rejected rows by reason (details: table `rejects`, with file, row and column):"} <= ids
    # The English run of the range says the same, the range's first line instead of the month's.
    meant = message_ids(english.stdout + english.stderr, templates, "en")
    assert ids - {"running {first} on {root}"} <= meant and "running {first} to {last} on {root}" in meant
    # Each rejection rule with its own text, in each language.
    chinese_rules = dict(re.findall(r"^ +\d+  ([a-z_]+): (.+)$", said, re.M))
    english_rules = dict(re.findall(r"^ +\d+  ([a-z_]+): (.+)$", english.stderr, re.M))
    from nsi.ingest.validate import RULE_MESSAGES
    assert chinese_rules and set(chinese_rules) <= set(english_rules)
    assert all(chinese_rules[rule] == zh(RULE_MESSAGES[rule]) and english_rules[rule] == RULE_MESSAGES[rule]
               for rule in chinese_rules)

    # Nothing stored or published depends on the language.
    assert _warehouse_rows(root, "2024-01") == _warehouse_rows(english_root, "2024-01")
    out, english_out = root / "out" / "2024-01", english_root / "out" / "2024-01"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(english_out).as_posix() for p in english_out.rglob("*") if p.is_file())
    assert len(files) >= 14
    different = [f for f in files if f != "manifest.json" and (out / f).read_bytes() != (english_out / f).read_bytes()]
    assert different == []
    assert _manifest(root, "2024-01") == _manifest(english_root, "2024-01")


def test_no_module_that_translates_rebinds_its_underscore():
    """`first, _ = …` in a function that also says `_("…")` makes `_` a local name there, and the message a crash."""
    import ast

    offenders = []
    for package in ("nsi", "pipelines", "assets", "indicators", "reports"):
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            imports_it = any(isinstance(n, ast.ImportFrom) and n.module == "nsi.messages" and
                             any(a.name == "_" and a.asname is None for a in n.names) for n in ast.walk(tree))
            if not imports_it:
                continue
            for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
                bound = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == "_"
                         and isinstance(n.ctx, ast.Store)]
                if bound:
                    offenders.append(f"{path.relative_to(REPO).as_posix()}:{bound[0].lineno} ({function.name})")
    assert offenders == []

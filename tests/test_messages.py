"""Chinese messages by default, English on request, from one gettext catalogue; the language changes
what is said, never what is stored or published."""

import json
import os
import re
import shutil
from dataclasses import dataclass

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



def line_message_ids(text: str, templates: dict, language: str) -> set[str]:
    """message_ids of each line by itself, for output that is not wrapped: a message whose fixed text is short
    would otherwise match across lines and hide the messages in between."""
    return set().union(*(message_ids(line, templates, language) for line in text.splitlines()))


def said_anywhere(text: str, templates: dict, language: str, ids: set[str]) -> set[str]:
    """Which of `ids` the output says, as a message of its own or inside another one's placeholder."""
    lines = [_literal(line) for line in text.splitlines()]
    return {m for m in ids if any(templates[m][0 if language == "en" else 1].search(line) for line in lines)}

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
    import typer
    from babel.messages.extract import extract_from_file

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
        # indicator_values_recomputed is a cache of a later month's bridging (the English run went on to a v2 month)
        tables = [t for (t,) in con.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'month' "
            "AND table_name <> 'indicator_values_recomputed' ORDER BY 1").fetchall()]
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
    for name in ("dagster_run_id", "published_at", "computed_at"):  # when and by which run, not what
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


def test_no_translation_has_an_english_sentence():
    """Every Chinese message, whichever command says it, is Chinese around its codes, paths and values."""
    english = {message.id: english_sentences(s) for message in messages_build.read("zh") if message.id
               for s in (message.string if isinstance(message.string, tuple) else (message.string,))}
    assert len(english) > 300 and {m: e for m, e in english.items() if e} == {}


# ----------------------------------------------------- verify, export, audit and deliver on a warehouse
@dataclass
class Said:
    returncode: int
    stdout: str
    stderr: str


def in_process(args: list[str], root, env: dict | None = None) -> Said:
    """`nsi ARGS` run as `pipelines.cli.main` runs it, in this process (a new Python and Dagster's imports would
    cost more than most of these commands), in an environment without any language setting."""
    import contextlib
    import io
    import sys

    from pipelines import cli

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"NSI_DATA_DIR": str(root), **default_env(**(env or {}))}.items():
            patch.setenv(name, value)
        patch.setattr(messages, "_active", None)
        patch.setattr(sys, "argv", ["nsi", *args])
        patch.setattr(cli.console, "_width", 1000)  # one line per message, as in a wide terminal
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    return Said(code, out.getvalue(), err.getvalue())


def _unverifiable_months(ingested_q1, root):
    """A data directory whose 2024-01 was never computed, whose 2024-02 has an altered archived input and whose
    2024-03 depends on the missing 2024-01: verify names each without rebuilding anything."""
    published, _ = ingested_q1
    for month in ("2024-02", "2024-03"):
        manifest = json.loads((published / "out" / month / "manifest.json").read_text(encoding="utf-8"))
        (root / "work" / month).mkdir(parents=True)
        (root / "work" / month / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        (root / "archive").mkdir(exist_ok=True)
        for number, item in enumerate(manifest["inputs"]):
            data = (published / "archive" / item["sha256"]).read_bytes()
            altered = month == "2024-02" and number == 0
            (root / "archive" / item["sha256"]).write_bytes(data + b"\n" if altered else data)
    return root


@pytest.fixture(scope="module")
def commands_on_a_warehouse(ingested_q1, tmp_path_factory):
    """name → (Chinese, English) output of each command on the Q1 warehouse; none of them writes there."""
    root, _ = ingested_q1
    scratch = tmp_path_factory.mktemp("messages_on_q1")
    recipients = scratch / "recipients.yaml"  # the example without 六合区
    recipients.write_text("\n".join(line for line in (REPO / "config/recipients.example.yaml").read_text(encoding="utf-8")
                                    .splitlines() if '"320116"' not in line), encoding="utf-8")
    example = {"NSI_RECIPIENTS": str(REPO / "config/recipients.example.yaml"), "NSI_SMTP_HOST": "mail.example.gov.cn"}
    commands = {
        "verify": (["verify", "--from", "2024-01", "--to", "2024-03"], _unverifiable_months(ingested_q1, scratch / "v"), {}),
        "export": (["export", "2024-03", "--out", str(scratch / "book.xlsx")], root, {}),
        "export_not_computed": (["export", "2023-12", "--out", str(scratch / "none.xlsx")], root, {}),
        "audit_help": (["audit", "--help"], root, {}),
        "deliver": (["deliver", "2024-03", "--dry-run"], root, example),
        "deliver_recipients": (["deliver", "2024-03", "--dry-run"], root, {"NSI_RECIPIENTS": str(recipients)}),
    }
    return {name: (in_process(args, data, env), in_process(["--lang", "en", *args], data, env))
            for name, (args, data, env) in commands.items()}


@pytest.mark.parametrize("name, code, expected", [
    ("verify", 1, {"verifying {first} to {last}: rebuilding from the archive in one pass (this runs the pipeline again)",
                   "{month} has no manifest.json under {folder}: it was never computed",
                   "archived input {file} of {source} {month} does not match its recorded sha256: the archive was altered",
                   "cannot be rebuilt: {problem} (a month its results depend on)",
                   "archived input {file} of {source} {month} is missing from the archive ({sha}…)",
                   "{first} to {last}: {identical} of {months} months identical; {verdict}", "verdict: NOT identical"}),
    ("export", 0, {"wrote {path} (months {months}, names in {lang})"}),
    ("export_not_computed", 1, {"{problem}; compute the months with `nsi run` first",
                                "the warehouse has no index for {months}"}),
    ("audit_help", 0, {"First month of the range, YYYY-MM."}),
    ("deliver", 0, {"{month} revision {revision}: dry run, nothing is sent or recorded",
                    "would send {code} {office} <{addresses}>: {file} sha256 {sha256} ({why})",
                    "would deliver to {sending} of {offices} offices through SMTP {server}"}),
    ("deliver_recipients", 2, {"{name}: no recipient for {offices}; every district and the city need one"}),
])
def test_verify_export_audit_and_deliver_speak_chinese_by_default(commands_on_a_warehouse, templates, name, code,
                                                                    expected):
    chinese, english = commands_on_a_warehouse[name]
    assert chinese.returncode == english.returncode == code, (chinese.stderr, english.stderr)
    said, meant = chinese.stdout + chinese.stderr, english.stdout + english.stderr
    assert english_sentences(said) == [], said
    assert english_sentences(meant), meant
    assert said_anywhere(said, templates, "zh", expected) == expected == said_anywhere(meant, templates, "en", expected)
    # --help is wrapped to the terminal's width; the other commands print one line per message.
    ids = message_ids if name.endswith("help") else line_message_ids
    assert ids(said, templates, "zh") == ids(meant, templates, "en")


def test_an_audit_speaks_chinese_by_default(ingested_q1, tmp_path, templates):
    """One audit of a month, in Chinese only (it takes a while); its English is tests/test_audit.py's."""
    root, _ = ingested_q1
    said = in_process(["audit", "--from", "2024-03", "--out", str(tmp_path / "audit")], root)
    assert said.returncode == 0 and (tmp_path / "audit" / "audit.pdf").exists()
    assert english_sentences(said.stdout + said.stderr) == [], said.stderr
    assert message_ids(said.stdout + said.stderr, templates, "zh") == {
        "auditing {first} to {last}: recomputing the index under the methodology, then its sensitivity analysis "
        "(about a minute at most)",
        "wrote {path}: methodology {version}, {months} months, {cells} district-months; {flags} findings"}
    assert "1 个月，11 个区·月" in said.stderr


def test_the_lines_of_a_verify_that_found_differences(ingested_q1, tmp_path, monkeypatch, capsys, templates):
    """Every kind of line `nsi verify` prints, from reports as pipelines.verify makes them (a real rebuild is
    tests/test_verify.py's), in each language: the leading keywords stay as they are."""
    import typer

    from pipelines import cli, verify

    def report(month, ok):
        found = verify.VerifyReport(month, identical=["index.csv", "index.xlsx"], kind="computed" if ok else "published",
                                    published_commit="0123abc")
        if not ok:
            found.altered, found.missing, found.different = ["reports/320105.pdf"], ["reports/320102.pdf"], ["index.csv"]
            found.chain = [verify.said("chain").format(previous=1, revision=2)]
            found.index_differences = verify._compare_recorded_index([{"code": "320100", "composite": 1.0}],
                                                                     ingested_q1[0], "2024-03")[:1]
            found.stack_differences = (verify.stack_differences({"git_commit": "0123abc"}, {"git_commit": "4567def"})
                                       + verify.key_differences("development", False))
        return found

    monkeypatch.setenv("NSI_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(messages, "_active", None)
    monkeypatch.setattr(cli.console, "_width", 1000)
    said = {}
    for language in ("zh", "en"):
        messages.use(language)
        monkeypatch.setattr(verify, "verify", lambda settings, month, revision=None: report(month, False))
        monkeypatch.setattr(verify, "verify_months", lambda settings, first, last, revision=None:
                            [report("2024-02", True), report("2024-03", False)])
        for arguments in (("2024-03", None, None, None), (None, "2024-02", "2024-03", None)):
            with pytest.raises(typer.Exit) as exited:
                cli.verify(*arguments)
            assert exited.value.exit_code == 1
        said[language] = capsys.readouterr().err
    chinese, english = said["zh"], said["en"]
    assert english_sentences(chinese) == [], chinese
    for keyword in ("DIFFERENT index.csv", "MISSING   reports/320102.pdf", "ALTERED   reports/320105.pdf", "CHAIN     ",
                    "INDEX     320100: ", "STACK     "):
        assert chinese.count(keyword) == english.count(keyword) >= 1, keyword
    assert "ALTERED   reports/320105.pdf：该已发布文件与其 manifest 已不相符" in chinese
    assert "2024-02：结论：一致（2 个已计算文件逐字节重建一致，指数值相同）" in chinese
    expected = {"{month}: {identical} of {files} {kind} files rebuilt byte for byte; {index}; {altered} {kind} files "
                "altered afterwards; {verdict}", "{month}: verdict: identical ({count} {kind} files rebuilt byte for "
                "byte, index values match)", "{month}: verdict: NOT identical ({what})",
                "{label}: published with {published}, rebuilt with {rebuilt}", "{path} differs from its manifest",
                "{path} was altered after the month was computed",
                "manifest.json of revision {previous} no longer has the sha256 revision {revision} recorded for it",
                "index values of {codes} differ", "{column} recorded {recorded} vs rebuilt {rebuilt}",
                "personal-data key: published with the development key (NSI_PII_KEY was not set), rebuilt with the "
                "configured key", "verifying {first}: rebuilding from the archive (this runs the pipeline again)",
                "Byte identity needs the stack the month was published with: check out {commit} (`git checkout` it, "
                "then `bash scripts/setup.sh`) and verify again.", "verdict: NOT identical",
                "{first} to {last}: {identical} of {months} months identical; {verdict}"}
    assert said_anywhere(chinese, templates, "zh", expected) == expected == said_anywhere(english, templates, "en", expected)
    assert line_message_ids(chinese, templates, "zh") == line_message_ids(english, templates, "en")


def test_completeness_details_are_stored_in_english_and_said_in_the_language_asked(monkeypatch):
    """What a check found is stored (the completeness table, the manifest) as the same English whatever the
    language of the run; the summary and the publication's refusal say it in the language asked."""
    from nsi.ingest import completeness
    from nsi.month import Month
    from nsi.reference import load_reference

    monkeypatch.setattr(messages, "_active", None)
    band = load_reference().volumes["hotline"]
    stored = {}
    for language in ("zh", "en"):
        messages.use(language)
        findings = completeness.assess("hotline", Month(2024, 2), 968, 17, 968, 1200, band, 0.01)
        findings += completeness.assess("hotline", Month(2024, 2), 1500, 29, None, None, band, 0.01)
        stored[language] = [(f.check, f.detail) for f in findings]
    assert stored["zh"] == stored["en"]

    messages.use("zh")
    rows = [("hotline", check, detail) for check, detail in stored["en"]]
    chinese = completeness.failed_text(rows)
    assert english_sentences(chinese) == [], chinese
    assert "hotline last_line_complete: 文件在第 968 行中途结束：导出被截断" in chinese
    assert "968 行，为预期 1,500 行的 0.65 倍" in chinese and "当月 29 天中有 17 天有记录（59%" in chinese
    assert "hotline volume_against_last_year: 2023-02 未导入：无从比较" in chinese
    messages.use("en")
    assert completeness.failed_text(rows) == "; ".join(f"hotline {check}: {detail}" for check, detail in stored["en"])
    assert completeness.said("a detail of an older run") == "a detail of an older run"

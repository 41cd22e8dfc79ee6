"""The `nsi` command: what analysts and auditors type."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nsi import messages
from nsi import settings as nsi_settings
from nsi.exports import SOURCES
from nsi.messages import N_, _
from nsi.month import Month, MonthError, months_between
from pipelines.cli_messages import translate as translate_help

app = typer.Typer(
    name="nsi",
    help="Nanjing Safety Index (南京平安指数): sample data, monthly runs, audit. "
    "Data lives under $NSI_DATA_DIR (default ./data).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console(stderr=True)


@app.callback()
def _root(lang: str = typer.Option(None, "--lang", metavar="zh|en",
                                   help="Language of the messages: zh or en. Default: $NSI_LANG, else English "
                                        "for an English locale (LC_ALL, LC_MESSAGES, LANG), else Chinese.")) -> None:
    """Nanjing Safety Index (南京平安指数): sample data, monthly runs, audit.

    Data lives under $NSI_DATA_DIR (default ./data).
    """
    if lang is not None and lang not in messages.LANGUAGES:
        fail("--lang", _("--lang {lang}: choose zh or en").format(lang=lang))
    if lang:
        messages.use(lang)


def settings_or_fail(command: str) -> nsi_settings.Settings:
    """The NSI_* settings, validated; a wrong value stops the command with one line naming the variable."""
    try:
        return nsi_settings.load()
    except nsi_settings.SettingsError as exc:
        fail(command, str(exc))


def fail(command: str, message: str, code: int = 2) -> None:
    """One plain line on stderr and a non-zero exit."""
    console.print(_("nsi {command}: error: {message}").format(command=command, message=message), style="red", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code)


def said(texts: dict[str, str], key: str) -> str:
    """A message of one of the tables below, in the language in use."""
    return _(texts[key])


FROM_AFTER_TO = N_("--to {last} is before --from {first}")


def months_or_fail(command: str, first: str, last: str | None,
                   reversed_range: str = N_("--to {last} is before the month {first}")):
    try:
        start = Month.parse(first)
        end = Month.parse(last) if last else start
    except MonthError as exc:
        fail(command, str(exc))
    if end < start:
        fail(command, _(reversed_range).format(last=end.key, first=start.key))
    return start, end


@app.command()
def sample(
    from_month: str = typer.Option(..., "--from", help="First month, YYYY-MM."),
    to_month: str = typer.Option(None, "--to", help="Last month, YYYY-MM (default: the --from month)."),
    scale: float = typer.Option(1.0, help="Volume relative to real Nanjing (1.0 ≈ 0.6M 110 rows a month; tests use 0.01)."),
    seed: int = typer.Option(20240101, help="Random seed; the same seed gives the same bytes."),
    clean: bool = typer.Option(False, "--clean", help="Write exports without planted data-quality defects."),
    source: list[str] = typer.Option(list(SOURCES), "--source", help="Only these sources (repeatable)."),
    dialect: list[str] = typer.Option(None, "--dialect", help="The systems' export formats (repeatable): jcj or dump "
                                      "(police), jiesu (hotline), justice or grid (disputes), cati (survey), each for "
                                      "its own source; native (the default) or mixed for every source not named: "
                                      "mixed picks each source-month one of its source's dialects, native included, "
                                      "from the seed."),
    steady: bool = typer.Option(False, "--steady", help="A steady city: every district's underlying rates, shares "
                                "and survey probabilities held fixed month to month (no seasons, trends, Spring "
                                "Festival or shocks); counts keep their sampling noise."),
    shift: list[str] = typer.Option(None, "--shift", help="WHAT:DISTRICT:FROM_MONTH:FACTOR (repeatable): multiply one "
                                    "underlying rate of a district from a month on; WHAT is an indicator (A1-A5, B1, "
                                    "B2, C1-C3, D2, D3) or a category (110 category or subcategory, dispute type, "
                                    "12345 matter), e.g. 电信诈骗:320105:2024-09:1.3."),
) -> None:
    """Write realistic raw exports to $NSI_DATA_DIR/raw/<source>/<YYYY-MM>.<csv|xlsx|xls>.

    Native dialect (the default): police GBK CSV; hotline UTF-8 CSV with BOM; disputes XLSX with a merged
    title row; survey XLSX. Other dialects: police jcj (XLSX under a 警情列表 title row) or dump (UTF-8 CSV,
    pinyin headers, codes); hotline jiesu (Excel 97 .xls); disputes justice or grid (XLSX); survey cati
    (XLSX call log). Writing a month in another file type removes its old export. raw/sample.json records
    the scale, seed and dialect of each source-month, and what --steady and --shift planted in it.
    Beside each export, <YYYY-MM>.defects.csv lists every planted defect (row, kind, effect, canonical column).
    The survey keeps its full sample (300 completes per district) at any --scale.
    """
    from nsi.reference import load_reference
    from nsi.sample.generate import resolve_dialects, sample as write_sample, scenario_of

    first, last = months_or_fail("sample", from_month, to_month, FROM_AFTER_TO)
    if not 0 < scale <= 10:
        fail("sample", _("--scale {scale} must be in (0, 10]").format(scale=scale))
    unknown = sorted(set(source) - set(SOURCES))
    if unknown:
        fail("sample", _("unknown source(s) {unknown}; choose from {sources}").format(
            unknown=", ".join(unknown), sources=", ".join(SOURCES)))
    try:
        dialects = resolve_dialects(dialect or [], source)
        scenario = scenario_of(steady, shift or [], load_reference().district_codes)
    except ValueError as exc:
        fail("sample", str(exc))
    root = settings_or_fail("sample").root
    total = len(months_between(first, last)) * len(source)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=not sys.stderr.isatty()) as progress:
        task = progress.add_task(_("generating exports"), total=total)

        def advance(src, month):
            progress.update(task, advance=1, description=f"{src} {month.key}")

        paths = write_sample(root, first, last, scale=scale, seed=seed, clean=clean, sources=source, progress=advance,
                             dialects=dialects, scenario=scenario)
    exports = [p for p in paths if not p.name.endswith(".defects.csv")]
    console.print(_("wrote {count} exports under {folder}").format(count=len(exports), folder=root / "raw"), highlight=False)


@app.command()
def run(
    month: str = typer.Argument(..., help="Month to run, YYYY-MM."),
    to_month: str = typer.Option(None, "--to", help="Last month of a range, YYYY-MM; the range runs as one Dagster run."),
    stage: list[str] = typer.Option(None, "--stage", help="Only these stages (repeatable): ingest, index, reports, publish, deliver. Default: all."),
    reason: str = typer.Option(None, "--reason", help="Why a published month is published again (needed when its results change; becomes revision N+1)."),
) -> None:
    """Run every asset of the month(s) through the Dagster instance; the run shows in `nsi ui`.

    Reads $NSI_DATA_DIR/raw/<source>/<YYYY-MM>.(csv|xlsx), writes the warehouse
    $NSI_DATA_DIR/warehouse/nsi.duckdb and the month's outputs into work/<YYYY-MM>/, then publishes
    them as out/<YYYY-MM>/ (a numbered revision). Exit code 0 only if every step and blocking check passed.
    """
    from pipelines.run import STAGES, STEP_STATUS, run_months, steps_of
    from pipelines.summary import print_summary

    first, last = months_or_fail("run", month, to_month)
    unknown = sorted(set(stage or []) - set(STAGES))
    if unknown:
        fail("run", _("unknown stage(s) {unknown}; choose from {stages}").format(
            unknown=", ".join(unknown), stages=", ".join(STAGES)))
    if reason and stage and "publish" not in stage:
        fail("run", _("--reason is the reason of a publication: add --stage publish (or run every stage)"))
    settings = settings_or_fail("run")
    root = settings.root
    running = _("running {first} to {last} on {root}") if last != first else _("running {first} on {root}")
    console.print(running.format(first=first.key, last=last.key, root=root), highlight=False)
    steps = steps_of(stage or None)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=not sys.stderr.isatty()) as bar:
        task = bar.add_task(_("starting"), total=len(steps))

        def advance(step: str, status: str) -> None:
            said = _(STEP_STATUS[status])
            bar.update(task, advance=1, description=f"{step} {said}")
            if not sys.stderr.isatty():
                console.print(f"  {said:6} {step}", highlight=False)

        def notice(text: str) -> None:
            console.print(f"  {text}", highlight=False, markup=False, soft_wrap=True)

        outcome = run_months(first, last, settings, stage or None, progress=advance, reason=reason, notice=notice)
    print_summary(console, outcome, first, last, root)
    raise typer.Exit(0 if outcome.success else 1)


@app.command()
def deliver(
    month: str = typer.Argument(..., help="Published month to deliver, YYYY-MM."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List who would receive which file (with its sha256); send and record nothing."),
    resend: bool = typer.Option(False, "--resend", help="Send the current revision again, also to offices that already received it."),
) -> None:
    """Deliver each office its own briefing of the month's current published revision.

    Recipients: config/recipients.yaml, or the file named by $NSI_RECIPIENTS (example:
    config/recipients.example.yaml). Every message is written to
    $NSI_DATA_DIR/out/<YYYY-MM>/outbox/<code>/; it is also sent over SMTP when NSI_SMTP_HOST is set
    (NSI_SMTP_PORT, NSI_SMTP_USER, NSI_SMTP_PASSWORD, NSI_SMTP_STARTTLS, NSI_SMTP_CA_FILE; see README).
    An office that already received this revision is skipped unless --resend is given. Runs through
    Dagster (shows in `nsi ui`); exit code 1 if any office could not be served.
    """
    from nsi.delivery.recipients import RecipientsError, recipients_path
    from nsi.delivery.recipients import load as load_recipients
    from nsi.delivery.smtp import SmtpConfigError, SmtpSettings

    first = months_or_fail("deliver", month, None)[0]
    settings = settings_or_fail("deliver")
    try:
        path = recipients_path(settings.recipients)
        if path is None:
            fail("deliver", _("no recipients file: copy config/recipients.example.yaml to config/recipients.yaml "
                              "and fill in the addresses, or set NSI_RECIPIENTS to a file"))
        recipients = load_recipients(path)
        smtp = SmtpSettings.from_settings(settings)
    except (RecipientsError, SmtpConfigError) as exc:
        fail("deliver", str(exc))
    root = settings.root
    if dry_run:
        from nsi.delivery.deliver import DeliveryError, plan_read_only
        from pipelines.summary import print_delivery_plan

        try:
            revision, planned = plan_read_only(root, first.key, recipients, smtp, resend)
        except DeliveryError as exc:
            fail("deliver", str(exc))
        print_delivery_plan(console, root, first.key, revision, planned, smtp)
        return
    from pipelines.run import run_months
    from pipelines.summary import print_deliveries

    delivering = (_("delivering {month} to {offices} offices from {path}: sending through {server}") if smtp else
                  _("delivering {month} to {offices} offices from {path}: outbox only (NSI_SMTP_HOST is not set)"))
    console.print(delivering.format(month=first.key, offices=len(recipients.offices), path=path,
                                    server=smtp.describe() if smtp else ""), highlight=False, soft_wrap=True)
    outcome = run_months(first, first, settings, ["deliver"], resend=resend)
    print_deliveries(console, root, outcome, first.key)
    raise typer.Exit(0 if outcome.success else 1)


@app.command()
def compose(
    indicators: Path = typer.Option(..., "--indicators", help="X.csv: first column `unit`, then one numeric column per indicator code; an empty cell is missing."),
    structure: Path = typer.Option(..., "--structure", help="S.csv: code,parent,weight,direction[,goal_lo,goal_hi]; one row per indicator and aggregate; parent empty only for the root; weights relative among siblings; direction 1/-1 for indicators, empty for aggregates."),
    normalise: str = typer.Option("goalposts", "--normalise", help="goalposts: (x-lo)/(hi-lo)*100 clipped to [0,100]; minmax: (x-min)/(max-min)*100 over the units; zscore: (x-mean)/sd (sample sd). Reversed (100-s, or -z) for direction -1."),
    aggregate: str = typer.Option("arithmetic", "--aggregate", help="arithmetic (weighted mean) or geometric (weighted geometric mean of scores mapped to [1,100])."),
    out: Path = typer.Option(..., "--out", help="R.csv: unit, one column per aggregate (root included), rank on the root (1 = highest; ties share the best rank)."),
) -> None:
    """Run the composite-indicator engine on any indicator table (what-if work, independent recomputation).

    Missing children are left out of their parent's mean and the remaining weights renormalised.
    Format details and a worked example: docs/compose.md.
    """
    from indicators.compose import ComposeInputError
    from indicators.compose import compose as run_compose
    from indicators.engine import AGGREGATIONS, NORMALISATIONS, EngineError

    if normalise not in NORMALISATIONS:
        fail("compose", _("--normalise must be one of {choices}").format(choices=", ".join(NORMALISATIONS)))
    if aggregate not in AGGREGATIONS:
        fail("compose", _("--aggregate must be one of {choices}").format(choices=", ".join(AGGREGATIONS)))
    for path in (indicators, structure):
        if not path.exists():
            fail("compose", _("{path} does not exist").format(path=path))
    try:
        result = run_compose(indicators, structure, normalise, aggregate)
    except (ComposeInputError, EngineError) as exc:
        fail("compose", str(exc))
    out.parent.mkdir(parents=True, exist_ok=True)
    result.write_csv(out, float_precision=6)
    console.print(_("wrote {path} ({units} units)").format(path=out, units=result.height), highlight=False)


# What `nsi verify` says around the lines of pipelines.verify: message ids of the catalogue. The keywords that
# begin a line of differences (DIFFERENT, MISSING, ALTERED, CHAIN, INDEX, STACK) are fixed, in every language,
# for scripts that read the output.
VERIFY_TEXT = {
    "arguments": N_("give a month, or a range with --from and --to, not both"),
    "revision_of_one": N_("--revision names a revision of one month: give the month alone"),
    "verifying": N_("verifying {first}: rebuilding from the archive (this runs the pipeline again)"),
    "verifying_range": N_("verifying {first} to {last}: rebuilding from the archive in one pass (this runs the pipeline "
                          "again)"),
    "altered": N_("{path}: the {kind} file no longer matches its manifest"),
    "checkout": N_("Byte identity needs the stack the month was published with: check out {commit} "
                   "(`git checkout` it, then `bash scripts/setup.sh`) and verify again."),
    "summary": N_("{month}: {identical} of {files} {kind} files rebuilt byte for byte; {index}; "
                  "{altered} {kind} files altered afterwards; {verdict}"),
    "index_match": N_("index values match"),
    "index_differ": N_("index values differ"),
    "range_summary": N_("{first} to {last}: {identical} of {months} months identical; {verdict}"),
    "identical": N_("verdict: identical"),
    "not_identical": N_("verdict: NOT identical"),
}


@app.command()
def verify(month: str = typer.Argument(None, help="Computed or published month to verify, YYYY-MM."),
           from_month: str = typer.Option(None, "--from", help="First month of a range to verify, YYYY-MM."),
           to_month: str = typer.Option(None, "--to", help="Last month of the range, YYYY-MM (default: the --from month)."),
           revision: int = typer.Option(None, "--revision", help="A published revision of the month (default: the current one).")) -> None:
    """Rebuild computed or published months from the archived inputs in a scratch directory and compare.

    Every computed month has a manifest: out/<YYYY-MM>/manifest.json once published, else
    work/<YYYY-MM>/manifest.json. Runs the same Dagster job in this process (a throwaway instance;
    nothing is published or delivered), with the inputs, methodology versions, population scales and
    vocabularies recorded there (for the month and the twelve before it) pinned. Exit 0 only if every
    output file is byte-identical and the index values match; otherwise lists the differences.
    Names any difference between the code, packages or reference data the month was computed with
    and those of this checkout (STACK lines).

    --from/--to verifies a range in one pass (each month ingested and indexed once, in order) and prints
    one line per month: the month, its verdict and what differs; exit 1 if any month is not identical.
    """
    from pipelines.verify import VerifyError, kind_word, verify_months
    from pipelines.verify import verify as run_verify

    if (month is None) == (from_month is None) or (to_month and not from_month):
        fail("verify", said(VERIFY_TEXT, "arguments"))
    if from_month is not None:
        first, last = months_or_fail("verify", from_month, to_month, FROM_AFTER_TO)
        if revision is not None and first != last:
            fail("verify", said(VERIFY_TEXT, "revision_of_one"))
    else:
        first, last = months_or_fail("verify", month, None)
    settings = settings_or_fail("verify")
    if from_month is not None:
        console.print(said(VERIFY_TEXT, "verifying_range").format(first=first.key, last=last.key), highlight=False)
        reports = verify_months(settings, first.key, last.key, revision=revision)
        for report in reports:
            console.print(report.line(), style=None if report.ok else "red", highlight=False, markup=False,
                          soft_wrap=True)
        stack = dict.fromkeys(line for report in reports for line in report.stack_differences)
        for line in stack:
            console.print(f"STACK     {line}", style="yellow", highlight=False, markup=False, soft_wrap=True)
        good = sum(1 for report in reports if report.ok)
        verdict = said(VERIFY_TEXT, "identical" if good == len(reports) else "not_identical")
        console.print(said(VERIFY_TEXT, "range_summary").format(first=first.key, last=last.key, identical=good,
                                                                months=len(reports), verdict=verdict),
                      highlight=False, soft_wrap=True)
        raise typer.Exit(0 if good == len(reports) else 1)
    console.print(said(VERIFY_TEXT, "verifying").format(first=first.key), highlight=False)
    try:
        report = run_verify(settings, first.key, revision=revision)
    except VerifyError as exc:
        fail("verify", str(exc), code=1)
    for path in report.different:
        console.print(f"DIFFERENT {path}", style="red", highlight=False, soft_wrap=True)
    for path in report.missing:
        console.print(f"MISSING   {path}", style="red", highlight=False, soft_wrap=True)
    for path in report.altered:
        console.print("ALTERED   " + said(VERIFY_TEXT, "altered").format(path=path, kind=kind_word(report.kind)),
                      style="red", highlight=False, soft_wrap=True)
    for line in report.chain:
        console.print(f"CHAIN     {line}", style="red", highlight=False, soft_wrap=True)
    for line in report.index_differences:
        console.print(f"INDEX     {line}", style="red", highlight=False, soft_wrap=True)
    for line in report.stack_differences:
        console.print(f"STACK     {line}", style="yellow", highlight=False, soft_wrap=True)
    if report.stack_differences and not report.ok:
        console.print(said(VERIFY_TEXT, "checkout").format(commit=report.published_commit.removesuffix("+uncommitted")),
                      highlight=False, soft_wrap=True)
    files = len(report.identical) + len(report.different) + len(report.missing)
    console.print(said(VERIFY_TEXT, "summary").format(
        month=first.key, identical=len(report.identical), files=files, kind=kind_word(report.kind),
        index=said(VERIFY_TEXT, "index_differ" if report.index_differences else "index_match"),
        altered=len(report.altered), verdict=said(VERIFY_TEXT, "identical" if report.ok else "not_identical")),
                  highlight=False, soft_wrap=True)
    raise typer.Exit(0 if report.ok else 1)


# What `nsi export` says: whole sentences with placeholders, each one message of the catalogue.
EXPORT_MESSAGES = {
    "month_or_range": N_("give one month (nsi export 2024-03) or a range (--from 2024-01 --to 2024-03), not both"),
    "no_month": N_("give a month (nsi export 2024-03) or a range (--from 2024-01 --to 2024-03)"),
    "lang": N_("--lang {lang}: choose zh or en"),
    "no_warehouse": N_("there is no warehouse at {path}; run `nsi run` for the months first"),
    "not_computed": N_("{problem}; compute the months with `nsi run` first"),
    "wrote": N_("wrote {path} (months {months}, names in {lang})"),
    "months": N_("{first} to {last}"),
}


@app.command()
def export(
    month: str = typer.Argument(None, help="One month, YYYY-MM (or give --from and --to)."),
    from_month: str = typer.Option(None, "--from", help="First month of a range, YYYY-MM."),
    to_month: str = typer.Option(None, "--to", help="Last month of the range, YYYY-MM (default: the --from month)."),
    lang: str = typer.Option("zh", "--lang", help="Sheet and column names: zh (default) or en."),
    out: Path = typer.Option(None, "--out", help="The workbook to write (default: $NSI_DATA_DIR/out/exports/"
                             "nsi-<YYYY-MM>-<lang>.xlsx, for a range nsi-<first>_<last>-<lang>.xlsx)."),
) -> None:
    """Write the analysts' workbook of a month or a range of months from the warehouse.

    The sheets are those of out/<YYYY-MM>/index.xlsx: the index with rank intervals and changes; indicator
    values with numerators and denominators; scores, weights and contributions; early warnings; data quality
    per source and district (rows read, loaded, rejected by rule); the history from twelve months before the
    first month. A range puts all its months in each sheet, the month in the first column. Values are stored
    at full precision and shown rounded; every sheet has an autofilter and a frozen header row. Reads
    $NSI_DATA_DIR/warehouse/nsi.duckdb only; the same warehouse gives the same bytes.
    """
    from indicators.methodology import by_version
    from nsi import warehouse
    from nsi.publication import workbook
    from nsi.publication.workbook_tables import NothingToExport

    if month and (from_month or to_month):
        fail("export", said(EXPORT_MESSAGES, "month_or_range"))
    if not month and not from_month:
        fail("export", said(EXPORT_MESSAGES, "no_month"))
    if lang not in ("zh", "en"):
        fail("export", said(EXPORT_MESSAGES, "lang").format(lang=lang))
    first, last = months_or_fail("export", month or from_month, None if month else to_month, FROM_AFTER_TO)
    root = settings_or_fail("export").root
    database = warehouse.database_path(root)
    if not database.is_file():
        fail("export", said(EXPORT_MESSAGES, "no_warehouse").format(path=database))
    span = first.key if first == last else f"{first.key}_{last.key}"
    target = out or root / "out" / "exports" / f"nsi-{span}-{lang}.xlsx"
    con = warehouse.connect(database, read_only=True)
    try:
        data = workbook.build(con, first, last, by_version, lang=lang, extract_dir=database.with_name("extract"))
    except NothingToExport as exc:
        fail("export", said(EXPORT_MESSAGES, "not_computed").format(problem=exc), code=1)
    finally:
        con.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(data)
    partial.replace(target)
    months = first.key if first == last else said(EXPORT_MESSAGES, "months").format(first=first.key, last=last.key)
    console.print(said(EXPORT_MESSAGES, "wrote").format(path=target, months=months, lang=lang),
                  highlight=False, soft_wrap=True)


@app.command()
def audit(
    from_month: str = typer.Option(..., "--from", help="First month of the range, YYYY-MM."),
    to_month: str = typer.Option(None, "--to", help="Last month of the range, YYYY-MM (default: the --from month)."),
    methodology: str = typer.Option(None, "--methodology", help="The methodology to audit: a version (v1), or a methodology file not yet adopted (a draft); default: the version the range's last month was computed with."),
    out: Path = typer.Option(None, "--out", help="The folder to write into (default: $NSI_DATA_DIR/out/audit/<version>_<first>_<last>/)."),
) -> None:
    """Audit a methodology statistically on the computed district-months of a range (docs/audit.md).

    Recomputes every score, sub-index and composite from the raw indicator values in the warehouse
    under the methodology, then reports: each indicator's share of scores at the goalposts, skew and
    kurtosis (COINr's treatment rule); correlations within and between levels, with flags; Cronbach's
    alpha and principal components of each sub-index; the importance the data gives each sub-index and
    indicator against its nominal weight; rank shifts when one is left out; and Sobol indices of the
    ranking (SALib). Writes audit.pdf (with charts), audit.md and audit.json; the thresholds are in
    indicators/audit.yaml. Reads $NSI_DATA_DIR/warehouse/nsi.duckdb only; the same warehouse gives the same bytes.
    """
    from indicators.methodology import MethodologyError
    from nsi import warehouse
    from nsi.reference import load_reference
    from reports.audit import audit_range

    first, last = months_or_fail("audit", from_month, to_month, FROM_AFTER_TO)
    root = settings_or_fail("audit").root
    database = warehouse.database_path(root)
    if not database.is_file():
        fail("audit", _("no warehouse at {path}: run `nsi run` on the range first").format(path=database))
    console.print(_("auditing {first} to {last}: recomputing the index under the methodology, then its sensitivity "
                    "analysis (about a minute at most)").format(first=first.key, last=last.key),
                  highlight=False, soft_wrap=True)
    con = warehouse.connect(database, read_only=True)
    try:
        result = audit_range(con, first.key, last.key, load_reference().district_codes, methodology)
    except MethodologyError as exc:
        fail("audit", str(exc), code=1)
    finally:
        con.close()
    folder = out or root / "out" / "audit" / result.folder_name
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (("audit.json", result.files.json), ("audit.md", result.files.markdown), ("audit.pdf", result.files.pdf)):
        (folder / name).write_bytes(data)
    flagged = len(result.findings)
    console.print(_("wrote {path}: methodology {version}, {months} months, {cells} district-months; {flags} findings")
                  .format(path=folder, version=result.methodology.version, months=len(result.audit.months),
                          cells=result.audit.district_months, flags=flagged), highlight=False, soft_wrap=True)



@app.command()
def inspect(
    file: Path = typer.Argument(..., help="A raw export: CSV (UTF-8 or GBK), XLSX or XLS."),
    source: str = typer.Option(None, "--source", help="The source it is from (hotline, police, disputes, survey); default: the one whose vocabulary recognises the most headers."),
    lang: str = typer.Option(None, "--lang", help="zh or en; the same as `nsi --lang` (default: Chinese unless NSI_LANG or the locale says English)."),
) -> None:
    """Say how a raw export would be read, before any run: its encoding, the header row found, each
    header with the column it feeds, every unrecognised header with the nearest accepted names, the
    required columns still missing, and the values of coded columns the vocabulary does not know, with
    counts. Exit code 0 when the file would load, 1 when it would not.

    The vocabularies are data/vocabularies/<source>/v<N>.yaml (or $NSI_VOCABULARY_DIR); docs/ingest.md
    says how to add a header or a value.
    """
    from nsi import vocabulary as vocabularies
    from nsi.ingest.inspect import findings_text
    from nsi.ingest.inspect import inspect as inspect_file
    from nsi.ingest.read import ExportFileError

    if lang is not None and lang not in messages.LANGUAGES:
        fail("inspect", _("--lang {lang}: choose zh or en").format(lang=lang))
    if lang:
        messages.use(lang)
    if source is not None and source not in SOURCES:
        fail("inspect", _("unknown source {source}; choose from {sources}").format(source=source, sources=", ".join(SOURCES)))
    if not file.is_file():
        fail("inspect", _("{file}: no such file").format(file=file))
    settings = settings_or_fail("inspect")
    try:
        found = inspect_file(file, source, settings.vocabulary_dir)
    except (ExportFileError, vocabularies.VocabularyError) as exc:
        fail("inspect", str(exc))
    typer.echo(findings_text(found))
    raise typer.Exit(0 if found.loads else 1)


@app.command()
def ui(port: int = typer.Option(3000, help="Port on 127.0.0.1.")) -> None:
    """Start the Dagster UI (and the daemon for schedules and sensors) on http://127.0.0.1:PORT.

    Uses the same instance as `nsi run` ($NSI_DATA_DIR/dagster_home unless DAGSTER_HOME is set), so the
    runs of the CLI are listed, and a month or a range can be materialised there with the same result.
    """
    import os
    import subprocess

    from pipelines.run import dagster_home

    root = settings_or_fail("ui").root
    home = dagster_home(root)
    # The UI's own processes say the failures of a run in the analyst's language too.
    env = dict(os.environ, DAGSTER_HOME=str(home), NSI_DATA_DIR=str(root), NSI_LANG=messages.language())
    console.print(_("Dagster UI on http://127.0.0.1:{port} (instance {home}); Ctrl-C stops it").format(port=port, home=home),
                  highlight=False)
    command = [sys.executable, "-m", "dagster", "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)]
    raise typer.Exit(subprocess.call(command, env=env))


def language_asked(arguments: list[str]) -> str | None:
    """The language named by `--lang X` or `--lang=X` (before or after the command), if it is one."""
    for i, argument in enumerate(arguments):
        value = argument.split("=", 1)[1] if argument.startswith("--lang=") else (
            arguments[i + 1] if argument == "--lang" and i + 1 < len(arguments) else None)
        if value in messages.LANGUAGES:
            return value
    return None


def main() -> None:
    import warnings

    # Dagster marks parts of its API as beta on every import; analysts cannot act on that.
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # The language is needed before the command line is parsed: for `--help` and for usage errors.
    messages.use(language_asked(sys.argv[1:]) or nsi_settings.language())
    try:
        translate_help(typer.main.get_command(app))()
    except Exception as exc:  # a fault of the machine gets one line; anything else is a bug: its traceback
        from pipelines.problems import environment_problem, keep_traceback

        problem = environment_problem(exc)
        if problem is None:
            raise
        kept = keep_traceback(exc)
        command = sys.argv[1] if len(sys.argv) > 1 else ""
        line = (_("nsi {command}: error: {problem} (details: {path})") if kept else
                _("nsi {command}: error: {problem}")).format(command=command, problem=problem, path=kept)
        console.print(line, style="red", highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

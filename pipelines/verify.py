"""`nsi verify`: rebuild computed or published months in a scratch directory from the archive and compare.

Every computed month has a manifest (nsi.publication.manifest): a published month its revision's in
out/<month>/ (or published/<month>/rev-<N>/), a month computed but not published the one in
work/<month>/. It names every input (by sha256, kept in archive/), the methodology version, the
population scale and the vocabularies of the month and of the twelve months before it, the sha256 of
each output and the month's index values.

Verify checks the archived inputs against their hashes, copies them into a scratch data directory and
runs the same job on them in this process, in a throwaway Dagster instance, with the recorded versions
pinned as resource configuration; then it compares every output file byte for byte and the index
values of each month. Nothing is published or delivered by the rebuild.

A range is rebuilt in one pass: the months it needs (the range and the twelve months before each)
are ingested and indexed once, in chronological order, one Dagster run per stretch of consecutive
months, and the briefings rendered only for the months compared that have them, since each month's
results depend only on the months before it. A month whose manifest
records a history that differs from the other months' (a month recomputed from other inputs later) is
rebuilt in a pass of its own, so every month is rebuilt exactly as it was computed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from assets.resources import RunPins
from indicators.methodology import by_version
from nsi import vocabulary as vocabularies
from nsi.ingest.pii import pii_key
from nsi.messages import N_, _
from nsi.month import Month, months_between
from nsi.publication import manifest as manifests
from nsi.publication.manifest import code_version, sha256_of
from nsi.publication.work import work_dir
from nsi.warehouse import database_path

# Every sentence verify says, in one place: message ids of the catalogue, said with _() where they are shown
# (placeholders filled by str.format). Nothing verify says is stored.
TEXT = {
    "no_manifest": N_("{month} has no manifest.json under {folder}: it was never computed"),
    "no_revision": N_("{month} has no manifest.json under {folder}: no revision {revision}"),
    "input_missing": N_("archived input {file} of {source} {month} is missing from the archive ({sha}…)"),
    "input_altered": N_("archived input {file} of {source} {month} does not match its recorded sha256: the archive was altered"),
    "history_broken": N_("cannot be rebuilt: {problem} (a month its results depend on)"),
    "rebuild_failed": N_("the rebuild of {first}–{last} failed: {failures}"),
    "vocabulary_unloadable": N_("the month was read with vocabulary {source}/v{version}, which cannot be loaded: {error}"),
    "vocabulary_edited": N_("vocabulary {source}/v{version} (edited since the month was computed: sha256 {old}… → {new}…)"),
    "stack": N_("{label}: published with {published}, rebuilt with {rebuilt}"),
    "different": N_("{path} differs from its manifest"),
    "missing": N_("{path} was not rebuilt"),
    "altered": N_("{path} was altered after the month was computed"),
    "chain": N_("manifest.json of revision {previous} no longer has the sha256 revision {revision} recorded for it"),
    "index": N_("index values of {codes} differ"),
    "index_value": N_("{column} recorded {recorded} vs rebuilt {rebuilt}"),
    "index_row": N_("{code}: warehouse {published} vs rebuilt {rebuilt}"),
    "line_identical": N_("{month}: verdict: identical ({count} {kind} files rebuilt byte for byte, index values match)"),
    "line_different": N_("{month}: verdict: NOT identical ({what})"),
    "unknown": N_("unknown"),
    # The personal-data key: what the month was published with, what it was rebuilt with.
    "key_development_rebuilt_configured": N_("personal-data key: published with the development key (NSI_PII_KEY was "
                                             "not set), rebuilt with the configured key"),
    "key_development_rebuilt_development": N_("personal-data key: published with the development key (NSI_PII_KEY was "
                                              "not set), rebuilt with the development key (NSI_PII_KEY is not set)"),
    "key_configured_rebuilt_development": N_("personal-data key: published with a configured key, rebuilt with the "
                                             "development key (NSI_PII_KEY is not set); set NSI_PII_KEY to the month's key"),
    "key_unrecorded_rebuilt_development": N_("personal-data key: published with an unrecorded key, rebuilt with the "
                                             "development key (NSI_PII_KEY is not set); set NSI_PII_KEY to the month's key"),
}
def said(key: str) -> str:
    """One of TEXT's messages in the language in use."""
    return _(TEXT[key])


# A month's kind (VerifyReport.kind) as the lines name it.
KIND_WORDS = {"published": N_("published"), "computed": N_("computed")}


def kind_word(kind: str) -> str:
    return _(KIND_WORDS[kind]) if kind in KIND_WORDS else kind


class VerifyError(Exception):
    pass


@dataclass
class VerifyReport:
    month: str
    identical: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)  # files that no longer match the manifest
    index_differences: list[str] = field(default_factory=list)
    # What the month was computed with and the rebuild ran on differ in these (informational: the
    # verdict rests on the bytes, but a difference here is the first place to look when they differ).
    stack_differences: list[str] = field(default_factory=list)
    published_commit: str = "unknown"
    kind: str = "published"  # published | computed (not published)
    chain: list[str] = field(default_factory=list)  # links to earlier revisions that no longer hold
    problem: str | None = None  # why the month could not be rebuilt at all

    @property
    def ok(self) -> bool:
        return not (self.problem or self.different or self.missing or self.altered or self.index_differences
                    or self.chain)

    def line(self) -> str:
        """The month, its verdict and what differs, in one line (`nsi verify --from … --to …`)."""
        if self.ok:
            return said("line_identical").format(month=self.month, count=len(self.identical),
                                                     kind=kind_word(self.kind))
        what = [self.problem] if self.problem else []
        what += [said("different").format(path=p) for p in self.different]
        what += [said("missing").format(path=p) for p in self.missing]
        what += [said("altered").format(path=p) for p in self.altered]
        what += self.chain
        if self.index_differences:
            what.append(said("index").format(codes=", ".join(d.split(":", 1)[0] for d in self.index_differences)))
        return said("line_different").format(month=self.month, what="; ".join(what))


STACK_PARTS = {"git_commit": N_("code (git commit)"),
               "lock_file_sha256": N_("Python packages (sha256 of requirements.lock)"),
               "reference_data_version": N_("reference data")}


def stack_differences(published: dict, current: dict) -> list[str]:
    """Which of code, packages and reference data differ between publication and this rebuild."""
    unknown = said("unknown")
    return [said("stack").format(label=_(label), published=published.get(part, unknown),
                                    rebuilt=current.get(part, unknown))
            for part, label in STACK_PARTS.items() if published.get(part) != current.get(part)]


def key_differences(published: str | None, rebuilt_with_development_key: bool) -> list[str]:
    """What verify says about the personal-data key: a month published (or rebuilt) with the development
    key is named, since its hashes are not protected by a secret. Informational: no output holds a hash."""
    if published == "development":
        rebuilt = "development" if rebuilt_with_development_key else "configured"
        return [_(TEXT[f"key_development_rebuilt_{rebuilt}"])]
    if rebuilt_with_development_key:
        published = "configured" if published == "configured" else "unrecorded"
        return [_(TEXT[f"key_{published}_rebuilt_development"])]
    return []


@dataclass
class Subject:
    """A month to verify: its manifest and the folder whose files the manifest describes."""

    month: str
    manifest: dict
    folder: Path
    kind: str  # published | computed

    @property
    def history_months(self) -> set[str]:
        return {entry["month"] for entry in self.manifest["history"]}

    @property
    def has_briefings(self) -> bool:
        return any(o["path"].startswith("reports/") for o in self.manifest["outputs"])


def find_manifest(root: Path, month: str, revision: int | None = None) -> Subject:
    """The current published revision's manifest, else that of the computed month (work/<month>/)."""
    if revision is not None:
        folder = root / "published" / month / f"rev-{revision}"
        if not (folder / "manifest.json").exists():
            raise VerifyError(said("no_revision").format(month=month, folder=folder, revision=revision))
        kind = "published"
    elif (root / "out" / month / "manifest.json").exists():
        folder, kind = root / "out" / month, "published"
    else:
        folder, kind = work_dir(root, month), "computed"
        if not (folder / "manifest.json").exists():
            raise VerifyError(said("no_manifest").format(month=month, folder=folder))
    return Subject(month, json.loads((folder / "manifest.json").read_text(encoding="utf-8")), folder, kind)


def timeline(manifest: dict) -> dict[str, dict]:
    """month → what the month was computed from (inputs, methodology version, population scale), for the
    month of the manifest and each month of its history."""
    months = {entry["month"]: entry for entry in manifest["history"]}
    months[manifest["month"]] = manifest
    return {month: {"inputs": [{k: item.get(k) for k in ("source", "file_name", "sha256", "vocabulary",
                                                        "vocabulary_sha256")} for item in entry["inputs"]],
                    "methodology_version": entry["methodology_version"],
                    "population_scale": entry["population_scale"]}
            for month, entry in months.items()}


def _same(a: dict, b: dict) -> bool:
    def key(entry):
        return (entry["methodology_version"], entry["population_scale"],
                sorted((i["source"], i["sha256"], i["vocabulary"] or f"{i['source']}/v1") for i in entry["inputs"]))
    return key(a) == key(b)


@dataclass
class Pass:
    """Months rebuilt together: one scratch directory, ingest and index once for every month they need."""

    months: dict[str, dict] = field(default_factory=dict)  # month → timeline entry
    subjects: list[Subject] = field(default_factory=list)

    def takes(self, subject: Subject) -> bool:
        """Whether the subject's month is rebuilt exactly as it was computed in this pass: every month it
        depends on computed from the same inputs, and no month in its window that it did not have."""
        own = timeline(subject.manifest)
        if any(m in self.months and not _same(self.months[m], entry) for m, entry in own.items()):
            return False
        merged = {**self.months, **own}
        for member in [*self.subjects, subject]:
            month = Month.parse(member.month)
            window = {m for m in merged if month.year_before().key <= m < month.key}
            if window != member.history_months:
                return False
        return True

    def add(self, subject: Subject) -> None:
        self.months.update(timeline(subject.manifest))
        self.subjects.append(subject)


def plan(subjects: list[Subject]) -> list[Pass]:
    """As few passes as keep every month's rebuild identical to its computation; usually one."""
    passes: list[Pass] = []
    for subject in sorted(subjects, key=lambda s: s.month):
        chosen = next((p for p in passes if p.takes(subject)), None)
        if chosen is None:
            chosen = Pass()
            passes.append(chosen)
        chosen.add(subject)
    return passes


def blocks(months: list[str]) -> list[tuple[str, str]]:
    """Consecutive months as (first, last) ranges, in order: each is one Dagster run."""
    found: list[list[str]] = []
    for month in sorted(months):
        if found and Month.parse(found[-1][-1]).next().key == month:
            found[-1].append(month)
        else:
            found.append([month])
    return [(b[0], b[-1]) for b in found]


def archive_problem(archive: Path, month: str, item: dict, checked: dict[str, bool]) -> str | None:
    """Why an input cannot be restored from the archive (missing or altered), or None."""
    source = archive / item["sha256"]
    if not source.exists():
        return said("input_missing").format(file=item["file_name"], source=item["source"], month=month,
                                            sha=item["sha256"][:12])
    if item["sha256"] not in checked:
        checked[item["sha256"]] = sha256_of(source) == item["sha256"]
    if not checked[item["sha256"]]:
        return said("input_altered").format(file=item["file_name"], source=item["source"], month=month)
    return None


def restorable(subject: Subject, archive: Path, checked: dict[str, bool]) -> str | None:
    """Why the subject cannot be rebuilt from the archive: its own inputs first, then its history's."""
    months = timeline(subject.manifest)
    for item in months[subject.month]["inputs"]:
        if problem := archive_problem(archive, subject.month, item, checked):
            return problem
    for month in sorted(m for m in months if m != subject.month):
        for item in months[month]["inputs"]:
            if problem := archive_problem(archive, month, item, checked):
                return said("history_broken").format(problem=problem)
    return None


def _restore(archive: Path, raw: Path, month: str, inputs: list[dict]) -> None:
    for item in inputs:
        suffix = Path(item["file_name"]).suffix or ".csv"
        target = raw / item["source"] / f"{month}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive / item["sha256"], target)


@dataclass(frozen=True)
class Rebuild:
    """Where and with what a rebuild runs (pipelines.run.run_months)."""

    data_dir: Path
    pins: RunPins
    instance: dg.DagsterInstance


def _run(settings, rebuild: Rebuild, first: str, last: str, stages: list[str]) -> None:
    from pipelines.run import run_months

    outcome = run_months(Month.parse(first), Month.parse(last), settings, stages, rebuild=rebuild)
    if not outcome.success:
        raise VerifyError(said("rebuild_failed").format(first=first, last=last,
                                                        failures="; ".join(outcome.failures or outcome.failed_checks)))


def _vocabularies(months: dict[str, dict]) -> dict[str, tuple[int, str | None]]:
    """"<month>:<source>" → (vocabulary version, its sha256) each input was read with (v1 before versions were recorded)."""
    found = {}
    for month, entry in months.items():
        for item in entry["inputs"]:
            name = item.get("vocabulary") or f"{item['source']}/v1"
            found[f"{month}:{item['source']}"] = (int(name.rsplit("/v", 1)[1]), item.get("vocabulary_sha256"))
    return found


def _edited_vocabularies(used: dict[str, tuple[int, str | None]], directory: Path | None) -> list[str]:
    """Vocabulary files whose bytes changed since the month was read with them (the run pins the version,
    not the bytes: an edit in place shows here)."""
    differences = set()
    for key, (version, sha) in used.items():
        source = key.split(":", 1)[1]
        try:
            current = vocabularies.load(source, version, directory)
        except vocabularies.VocabularyError as exc:
            raise VerifyError(said("vocabulary_unloadable").format(source=source, version=version, error=exc)) from exc
        if sha and current.sha256 != sha:
            differences.add(said("vocabulary_edited").format(source=source, version=version, old=sha[:12],
                                                             new=current.sha256[:12]))
    return sorted(differences)


def _rebuild(settings, scratch: Path, rebuild_pass: Pass) -> None:
    """Ingest and index every month of the pass once, in order; then the briefings of the months that have them,
    and a correction's marked briefings."""
    from assets.publication import corrected_briefings
    from reports.pdf import PdfPool

    archive = settings.root / "archive"
    for month, entry in rebuild_pass.months.items():
        _restore(archive, scratch / "raw", month, entry["inputs"])
    # A month that was ingested but never indexed has no version: it keeps today's choice.
    pins = RunPins(methodology_versions={m: e["methodology_version"] for m, e in rebuild_pass.months.items()
                                         if e["methodology_version"] is not None},
                   population_scales={m: e["population_scale"] for m, e in rebuild_pass.months.items()},
                   vocabulary_versions={k: v[0] for k, v in _vocabularies(rebuild_pass.months).items()},
                   briefing_months=sorted(s.month for s in rebuild_pass.subjects if s.has_briefings))
    with dg.DagsterInstance.ephemeral() as instance:
        rebuild = Rebuild(scratch, pins, instance)
        # One run per stretch of consecutive months, every stage in it: a month's results depend only on
        # the months before it, and the briefings of history months are not rendered (pins).
        for first, last in blocks(list(rebuild_pass.months)):
            renders = any(first <= month <= last for month in pins.briefing_months)
            _run(settings, rebuild, first, last, ["ingest", "index", *(["reports"] if renders else [])])
    corrected = [s for s in rebuild_pass.subjects if s.manifest.get("correction")
                 and any("unmarked_sha256" in o for o in s.manifest["outputs"])]
    if corrected:
        con = duckdb.connect(str(database_path(scratch)), read_only=True)
        try:
            with PdfPool(2) as pool:
                for subject in corrected:
                    marked = corrected_briefings(con, subject.month, by_version(subject.manifest["methodology_version"]),
                                                 subject.manifest["correction"], pool)
                    for relative, data in marked.items():
                        (work_dir(scratch, subject.month) / relative).write_bytes(data)
        finally:
            con.close()


def _compare(settings, subject: Subject, scratch: Path, revision: int | None) -> VerifyReport:
    manifest = subject.manifest
    used = _vocabularies(timeline(manifest))
    keys = key_differences(manifest.get("personal_data_key"), pii_key(settings.pii_key)[1])
    report = VerifyReport(subject.month, kind=subject.kind,
                          stack_differences=stack_differences(manifest.get("code", {}), code_version())
                          + _edited_vocabularies(used, settings.vocabulary_dir) + keys,
                          published_commit=manifest.get("code", {}).get("git_commit", "unknown"))
    rebuilt = work_dir(scratch, subject.month)
    for output in manifest["outputs"]:
        path = rebuilt / output["path"]
        if not path.exists():
            report.missing.append(output["path"])
        elif sha256_of(path) != output["sha256"]:
            report.different.append(output["path"])
        else:
            report.identical.append(output["path"])
        kept = subject.folder / output["path"]
        if not kept.exists() or sha256_of(kept) != output["sha256"]:
            report.altered.append(output["path"])
    report.chain = broken_links(settings.root, subject.month, manifest)
    if "index" in manifest:
        report.index_differences = _compare_recorded_index(manifest["index"], scratch, subject.month)
    elif revision is None:  # a manifest from before index values were recorded: the warehouse's current results
        report.index_differences = _compare_index(settings.root, scratch, subject.month, manifest["methodology_version"])
    return report


def broken_links(root: Path, month: str, manifest: dict) -> list[str]:
    """Each earlier revision, back to the first, whose manifest.json no longer has the sha256 the revision
    after it recorded (revisions point back: nsi.publication.revisions)."""
    broken = []
    while manifest.get("previous_revision") and manifest.get("previous_manifest_sha256"):
        previous = manifest["previous_revision"]
        earlier = root / "published" / month / f"rev-{previous}" / "manifest.json"
        if not earlier.exists() or sha256_of(earlier) != manifest["previous_manifest_sha256"]:
            broken.append(said("chain").format(previous=previous, revision=manifest["revision"]))
            break
        manifest = json.loads(earlier.read_text(encoding="utf-8"))
    return broken


def verify_months(settings, first: str, last: str, keep: Path | None = None,
                  revision: int | None = None) -> list[VerifyReport]:
    """One report per month of first..last (settings: nsi.settings.Settings of this command: the data
    directory, and the key of the keyed hash). revision: of a single published month (default: the current)."""
    root = settings.root
    reports: dict[str, VerifyReport] = {}
    subjects, checked = [], {}
    for month in months_between(Month.parse(first), Month.parse(last)):
        try:
            subject = find_manifest(root, month.key, revision)
        except VerifyError as exc:
            reports[month.key] = VerifyReport(month.key, kind="computed", problem=str(exc))
            continue
        problem = restorable(subject, root / "archive", checked)
        if problem:
            reports[month.key] = VerifyReport(month.key, kind=subject.kind, problem=problem)
        else:
            subjects.append(subject)
    for number, rebuild_pass in enumerate(plan(subjects)):
        scratch = (Path(keep) / f"pass-{number + 1}" if number else Path(keep)) if keep else \
            Path(tempfile.mkdtemp(prefix=f"nsi-verify-{first}-"))
        try:
            _rebuild(settings, scratch, rebuild_pass)
            for subject in rebuild_pass.subjects:
                reports[subject.month] = _compare(settings, subject, scratch, revision)
        except VerifyError as exc:  # this pass could not be rebuilt; the other passes are still verified
            for subject in rebuild_pass.subjects:
                reports[subject.month] = VerifyReport(subject.month, kind=subject.kind, problem=str(exc))
        finally:
            if keep is None:
                shutil.rmtree(scratch, ignore_errors=True)
    return [reports[m] for m in sorted(reports)]


def verify(settings, month: str, keep: Path | None = None, revision: int | None = None) -> VerifyReport:
    """One month; a month that cannot be rebuilt at all raises VerifyError with the reason."""
    (report,) = verify_months(settings, month, month, keep, revision)
    if report.problem:
        raise VerifyError(report.problem)
    return report


def _compare_recorded_index(recorded: list[dict], scratch: Path, month: str) -> list[str]:
    """"<code>: <column> recorded … rebuilt …" for every index value the rebuild does not reproduce exactly."""
    con = duckdb.connect(str(database_path(scratch)), read_only=True)
    try:
        rebuilt = {row["code"]: row for row in manifests.index_values(con, month)}
    finally:
        con.close()
    published = {row["code"]: row for row in recorded}
    differences = []
    for code in sorted(set(published) | set(rebuilt)):
        a, b = published.get(code, {}), rebuilt.get(code, {})
        columns = [c for c in dict.fromkeys([*a, *b]) if a.get(c) != b.get(c)]
        if columns:
            differences.append(f"{code}: " + ", ".join(said("index_value").format(column=c, recorded=a.get(c),
                                                                                       rebuilt=b.get(c)) for c in columns))
    return differences


def _compare_index(data_dir: Path, scratch: Path, month: str, methodology_version: str) -> list[str]:
    columns = ", ".join(["code", "composite", *(f'"{s.code}"' for s in by_version(methodology_version).sub_indices), "rank"])

    def rows(root: Path):
        con = duckdb.connect(str(database_path(root)), read_only=True)
        try:
            return {r[0]: r[1:] for r in con.execute(
                f"SELECT {columns} FROM safety_index WHERE month = ? ORDER BY code", [month]).fetchall()}
        finally:
            con.close()
    published, rebuilt = rows(data_dir), rows(scratch)
    return [said("index_row").format(code=code, published=published.get(code), rebuilt=rebuilt.get(code))
            for code in sorted(set(published) | set(rebuilt)) if published.get(code) != rebuilt.get(code)]

"""`nsi verify`: rebuild a published month in a scratch directory from the archive and compare.

The manifest names every input (by sha256), the methodology version and the population scale of
the month and of the twelve months before it. Verify copies those inputs out of the archive
(checking each hash first), runs the same job on them in this process, on a scratch data directory
and in a throwaway Dagster instance, with the methodology versions and population scales pinned as
resource configuration, and compares every published output file byte for byte and the index values
of the month. Nothing is published or delivered by the rebuild.
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
from nsi.month import Month
from nsi.publication.manifest import code_version, sha256_of
from nsi.publication.work import work_dir
from nsi.warehouse import database_path


class VerifyError(Exception):
    pass


@dataclass
class VerifyReport:
    month: str
    identical: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)  # published files that no longer match the manifest
    index_differences: list[str] = field(default_factory=list)
    # What the month was published with and the rebuild ran on differ in these (informational: the
    # verdict rests on the bytes, but a difference here is the first place to look when they differ).
    stack_differences: list[str] = field(default_factory=list)
    published_commit: str = "unknown"

    @property
    def ok(self) -> bool:
        return not (self.different or self.missing or self.altered or self.index_differences)


STACK_PARTS = {"git_commit": "code (git commit)", "lock_file_sha256": "Python packages (sha256 of requirements.lock)",
               "reference_data_version": "reference data"}


def stack_differences(published: dict, current: dict) -> list[str]:
    """Which of code, packages and reference data differ between publication and this rebuild."""
    return [f"{label}: published with {published.get(part, 'unknown')}, rebuilt with {current.get(part, 'unknown')}"
            for part, label in STACK_PARTS.items() if published.get(part) != current.get(part)]


def key_differences(published: str | None, rebuilt_with_development_key: bool) -> list[str]:
    """What verify says about the personal-data key: a month published (or rebuilt) with the development
    key is named, since its hashes are not protected by a secret. Informational: no output holds a hash."""
    rebuilt = "the development key (NSI_PII_KEY is not set)" if rebuilt_with_development_key else "the configured key"
    if published == "development":
        return [f"personal-data key: published with the development key (NSI_PII_KEY was not set), rebuilt with {rebuilt}"]
    if rebuilt_with_development_key:
        return [f"personal-data key: published with {'a configured key' if published == 'configured' else 'an unrecorded key'}, "
                f"rebuilt with {rebuilt}; set NSI_PII_KEY to the month's key"]
    return []


def _restore(archive: Path, raw: Path, month: str, inputs: list[dict]) -> None:
    for item in inputs:
        source = archive / item["sha256"]
        if not source.exists():
            raise VerifyError(f"archived input {item['file_name']} of {item['source']} {month} is missing "
                              f"from the archive ({item['sha256'][:12]}…)")
        if sha256_of(source) != item["sha256"]:
            raise VerifyError(f"archived input {item['file_name']} of {item['source']} {month} does not match its "
                              f"recorded sha256: the archive was altered")
        suffix = Path(item["file_name"]).suffix or ".csv"
        target = raw / item["source"] / f"{month}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


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
        raise VerifyError(f"the rebuild of {first}–{last} failed: " + "; ".join(outcome.failures or outcome.failed_checks))


def verify(settings, month: str, keep: Path | None = None, revision: int | None = None) -> VerifyReport:
    """settings: nsi.settings.Settings of this command (the data directory, and the key of the keyed hash)."""
    data_dir = settings.root
    published = data_dir / "out" / month if revision is None else data_dir / "published" / month / f"rev-{revision}"
    manifest_path = published / "manifest.json"
    if not manifest_path.exists():
        what = "it was not published" if revision is None else f"no revision {revision}"
        raise VerifyError(f"{month} has no manifest.json under {published}: {what}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    archive = data_dir / "archive"
    scratch = Path(keep) if keep else Path(tempfile.mkdtemp(prefix=f"nsi-verify-{month}-"))
    try:
        raw = scratch / "raw"
        pins, scales, vocabularies_used = {}, {}, {}
        for entry in manifest["history"]:
            _restore(archive, raw, entry["month"], entry["inputs"])
            pins[entry["month"]] = entry["methodology_version"]
            scales[entry["month"]] = entry["population_scale"]
            vocabularies_used.update(_vocabularies(entry["month"], entry["inputs"]))
        _restore(archive, raw, month, manifest["inputs"])
        pins[month], scales[month] = manifest["methodology_version"], manifest["population_scale"]
        vocabularies_used.update(_vocabularies(month, manifest["inputs"]))
        # A history month that was ingested but never indexed has no version: it keeps today's choice.
        pins = {m: version for m, version in pins.items() if version is not None}
        edited = _edited_vocabularies(vocabularies_used, settings.vocabulary_dir)
        with dg.DagsterInstance.ephemeral() as instance:
            rebuild = Rebuild(scratch, RunPins(methodology_versions=pins, population_scales=scales,
                                               vocabulary_versions={k: v[0] for k, v in vocabularies_used.items()}),
                              instance)
            if manifest["history"]:
                _run(settings, rebuild, manifest["history"][0]["month"], manifest["history"][-1]["month"], ["ingest", "index"])
            _run(settings, rebuild, month, month, ["ingest", "index", "reports"])
        keys = key_differences(manifest.get("personal_data_key"), pii_key(settings.pii_key)[1])
        report = VerifyReport(month, stack_differences=stack_differences(manifest.get("code", {}), code_version()) + edited + keys,
                              published_commit=manifest.get("code", {}).get("git_commit", "unknown"))
        rebuilt = work_dir(scratch, month)
        for output in manifest["outputs"]:
            path = rebuilt / output["path"]
            if not path.exists():
                report.missing.append(output["path"])
            elif sha256_of(path) != output["sha256"]:
                report.different.append(output["path"])
            else:
                report.identical.append(output["path"])
        for output in manifest["outputs"]:
            current = published / output["path"]
            if not current.exists() or sha256_of(current) != output["sha256"]:
                report.altered.append(output["path"])
        if revision is None:  # the warehouse holds the current results only
            report.index_differences = _compare_index(data_dir, scratch, month, manifest["methodology_version"])
        return report
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _vocabularies(month: str, inputs: list[dict]) -> dict[str, tuple[int, str | None]]:
    """"<month>:<source>" → (vocabulary version, its sha256) each input was read with (v1 before versions were recorded)."""
    found = {}
    for item in inputs:
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
            raise VerifyError(f"the month was read with vocabulary {source}/v{version}, which cannot be loaded: {exc}") from exc
        if sha and current.sha256 != sha:
            differences.add(f"vocabulary {source}/v{version} (edited since publication: sha256 {sha[:12]}… → {current.sha256[:12]}…)")
    return sorted(differences)


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
    return [f"{code}: warehouse {published.get(code)} vs rebuilt {rebuilt.get(code)}"
            for code in sorted(set(published) | set(rebuilt)) if published.get(code) != rebuilt.get(code)]

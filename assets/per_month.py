"""What one step over several months (a range run, BackfillPolicy.single_run) reports to Dagster: each month's
own materialization metadata and its own check results, so that the UI shows every partition's figures.

How Dagster 1.13 records such a step (read in its source, dagster/_core/execution/plan/execute_step.py):
- the asset's output becomes one materialization per partition of the range; each carries the output's
  metadata plus what was added for that partition with `context.add_asset_metadata(..., partition_key=)`.
  So month figures go in per month, and the output itself carries none (it would repeat on every month).
- an AssetCheckResult takes its partition from the run's single partition tag, which a range run has not;
  it would be stored once, without a partition. An AssetCheckEvaluation yielded by the asset names its
  partition, and a check spec with the monthly partitions makes Dagster plan one execution per month,
  which each evaluation completes. The check's output must still be yielded once per step.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
# Not exported by dagster; the pointer from a check result to the materialization it judged, which the UI
# uses to tell whether a month's check is current.
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationTargetMaterializationData

from assets.partitions import monthly_partitions


def monthly_check(name: str, asset: str, description: str, blocking: bool = False) -> dg.AssetCheckSpec:
    """A check evaluated once per month."""
    with warnings.catch_warnings():
        # Partitioned check specs are marked "preview" in 1.13; this module relies only on what the pinned
        # version does (planned and stored per partition), and tests/test_ui.py checks it.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, description=description, blocking=blocking,
                                 partitions_def=monthly_partitions)


def add_month_metadata(context: dg.AssetExecutionContext, month: str, metadata: Mapping[str, Any],
                       asset_key: str | None = None) -> None:
    """Metadata of `month` alone, recorded on its materialization once the asset yields its result."""
    context.add_asset_metadata(dict(metadata), asset_key=asset_key, partition_key=month)


class MonthChecks:
    """The check results of a step, one per (check, month): noted while the months are computed, yielded
    after the asset's result so that each points at its month's new materialization."""

    def __init__(self, context: dg.AssetExecutionContext):
        self._context = context
        self._noted: list[dict] = []

    def add(self, month: str, name: str, passed: bool, *, asset_key: str | None = None,
            severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR, description: str | None = None,
            metadata: Mapping[str, Any] | None = None) -> None:
        key = dg.AssetCheckKey(dg.AssetKey(asset_key) if asset_key else self._context.assets_def.key, name)
        if key in self._context.selected_asset_check_keys:  # a run may select an asset without its checks
            self._noted.append({"key": key, "month": month, "passed": passed, "severity": severity,
                                "description": description, "metadata": dict(metadata or {})})

    def results(self) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
        """Every noted result, then the checks' outputs, which Dagster requires once per step."""
        targets: dict[tuple[dg.AssetKey, str], AssetCheckEvaluationTargetMaterializationData | None] = {}
        for noted in self._noted:
            key, month = noted["key"], noted["month"]
            if (key.asset_key, month) not in targets:
                targets[(key.asset_key, month)] = self._target(key.asset_key, month)
            yield dg.AssetCheckEvaluation(
                asset_key=key.asset_key, check_name=key.name, passed=noted["passed"], metadata=noted["metadata"],
                target_materialization_data=targets[(key.asset_key, month)], severity=noted["severity"],
                description=noted["description"], blocking=self._context.assets_def.get_spec_for_check_key(key).blocking,
                partition=month)
        for key in sorted(self._context.selected_asset_check_keys, key=lambda k: (k.asset_key.to_string(), k.name)):
            yield dg.Output(None, output_name=self._context.assets_def.get_output_name_for_asset_check_key(key))

    def _target(self, asset_key: dg.AssetKey, month: str) -> AssetCheckEvaluationTargetMaterializationData | None:
        records = self._context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[month]), limit=1).records
        if not records:
            return None
        return AssetCheckEvaluationTargetMaterializationData(
            storage_id=records[0].storage_id, run_id=records[0].run_id, timestamp=records[0].timestamp)

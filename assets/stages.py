"""How the Dagster UI presents the chain ingest → index → reports → publish → deliver.

Every asset is in one asset group: the UI draws a graph of several groups as collapsed boxes, one per
group, until each is opened by hand, while a single group is drawn asset by asset, left to right, the
whole chain at once. The stage of each asset is its tag `nsi/stage` (the names `nsi run --stage`
takes, so `tag:nsi/stage=ingest` selects the same assets in the UI), and the first line of its
description, which the graph prints under the asset's name, starts with the stage's number and name.
"""

GROUP = "nsi_monthly"
STAGE_TAG = "nsi/stage"
STAGE_NAMES = {"ingest": "① 数据接入", "index": "② 指数计算", "reports": "③ 简报生成", "publish": "④ 发布",
               "deliver": "⑤ 分发"}


def tags(stage: str) -> dict[str, str]:
    return {STAGE_TAG: stage}


def description(stage: str, headline: str, details: str) -> str:
    """The headline (Chinese, short enough for the graph's node) on the first line, the details below it."""
    return f"{STAGE_NAMES[stage]} · {headline}\n\n{details}"

"""Delivery asset: each district office receives its own published briefing; the committee the city's.

Thin: the work is in nsi.delivery. Runs after publication in the monthly job, and alone from
`nsi deliver`. Without a recipients file it delivers nothing and says so.
"""

import dagster as dg

from assets import stages
from assets.partitions import monthly_partitions
from assets.per_month import add_month_metadata
from assets.resources import NsiWarehouse, SettingsResource
from nsi.delivery import deliver as delivery
from nsi.delivery.recipients import RecipientsError, recipients_path
from nsi.delivery.recipients import load as load_recipients
from nsi.delivery.smtp import SmtpSettings
from nsi.messages import _
from nsi.settings import SettingsError


class DeliveryConfig(dg.Config):
    resend: bool = False  # send the current revision again to offices that already received it


@dg.asset(
    group_name=stages.GROUP, tags=stages.tags("deliver"), deps=["publication"], partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(), kinds={"email"}, code_version="1",
    description=stages.description(
        "deliver", "各区只收到本区简报（邮件与发件箱）",
        "Each office's briefing of the current published revision, as a Chinese message with the PDF "
        "attached byte for byte: written to data/out/<month>/outbox/<code>/ and sent over SMTP when "
        "NSI_SMTP_HOST is set. Recipients: config/recipients.yaml (or $NSI_RECIPIENTS). Recorded in the "
        "`deliveries` table and the month's manifest.json; an office is served once per revision. Each month's "
        "materialization: the revision delivered and the offices by outcome."),
)
def briefing_deliveries(context: dg.AssetExecutionContext, config: DeliveryConfig, warehouse: NsiWarehouse,
                        settings: SettingsResource):
    try:
        path = recipients_path(settings.recipients)
        recipients = load_recipients(path) if path else None
        smtp = SmtpSettings.from_settings(settings)
    except (RecipientsError, SettingsError) as exc:
        raise dg.Failure(description=str(exc)) from exc
    if recipients is None:
        context.log.warning("no recipients file (config/recipients.yaml or NSI_RECIPIENTS): nothing delivered")
        return dg.MaterializeResult(metadata={"status": "not configured: nothing delivered"})
    context.log.info(f"recipients from {path}; " + (f"sending through {smtp.describe()}" if smtp
                                                     else "no SMTP server configured: outbox only"))
    not_delivered = []
    for key in context.partition_keys:
        try:
            with warehouse.connect() as con:
                report = delivery.deliver(warehouse.root, key, recipients, con, smtp, context.run.run_id,
                                          resend=config.resend, log=context.log.info)
        except delivery.DeliveryError as exc:
            raise dg.Failure(description=str(exc)) from exc
        counts = {}
        for outcome in report.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        add_month_metadata(context, key, {"revision": report.revision,
                                          "offices": dg.MetadataValue.json(dict(sorted(counts.items())))})
        not_delivered += [f"{key} {o.office.name} ({o.office.code}): {o.why}" for o in report.failed]
    if not_delivered:
        raise dg.Failure(description=_("not delivered to {offices}. The others were delivered; run `nsi deliver` "
                                       "again to retry these").format(offices="; ".join(not_delivered)))
    # The same transport served every month of the run.
    return dg.MaterializeResult(metadata={"transport": smtp.describe() if smtp else "outbox only"})

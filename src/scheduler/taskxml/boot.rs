//! The boot trigger of a task that also starts when the machine boots
//! ([`crate::task::TaskSpec::at_boot`]; the built-in `orc-watch` task).
//!
//! `<BootTrigger>` is one of the trigger group's elements (`bootTriggerType`: the
//! `triggerBaseType` children, then an optional `Delay`, default `PT0M`; Microsoft,
//! "bootTriggerType Complex Type" and "BootTrigger Element"). orc writes it with `Enabled`
//! only: no `Delay` (the Task Scheduler service starts boot tasks as soon as it runs, and a
//! start before the network is up is retried by the outbox), no `StartBoundary` (not required
//! for a boot trigger, and a boundary would change the definition's hash from one day to the
//! next). Only a member of the Administrators group can register a task with a boot trigger
//! (Microsoft, "BootTrigger object", Remarks): `orc schedule` reports the access denial of a
//! non-elevated registration like any other.
//!
//! The action is the task's one `Exec` (`orc execute --task NAME --scheduled`): the boot start
//! is a scheduled start, which with catch-up `once` (required by task validation) serves the
//! latest slot missed while the machine was off, once, through the slot claim.

use std::io::Write;

use quick_xml::Writer;
use quick_xml::events::BytesText;

/// Writes `<BootTrigger><Enabled>true</Enabled></BootTrigger>`.
pub(super) fn write_boot_trigger<W: Write>(w: &mut Writer<W>) -> std::io::Result<()> {
    w.create_element("BootTrigger").write_inner_content(|w| {
        w.create_element("Enabled").write_text_content(BytesText::new("true"))?;
        Ok(())
    })?;
    Ok(())
}

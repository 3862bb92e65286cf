"""Git workflow: offline check, textconv, merge driver, recipients, sync and importers (SPEC §7)."""

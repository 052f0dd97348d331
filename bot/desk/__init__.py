"""The human desk: ticket rules, the staff service, the outbox, reminders and staff-facing text."""

"""Every write with side effects: one function per user-visible write.

Each action opens its own write transaction (``db.write()``), checks access through
``heard.access``, writes an :class:`~heard.db.AuditEvent`, and registers side effects
(events for the real-time UI, outbox rows for delivery) to run only after commit. Routes,
the CLI, workers and tests all call these; nothing else writes.
"""

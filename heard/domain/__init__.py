"""Plain rules with no I/O: status transitions, priorities, identity normalisation."""

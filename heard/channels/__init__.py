"""Inbound and outbound channels: one folder per kind, parsing separate from transport."""

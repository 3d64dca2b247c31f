"""Heard: a self-hosted customer-support helpdesk — empathy balanced with action."""

__version__ = "0.1.0"

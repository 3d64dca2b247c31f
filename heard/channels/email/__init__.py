"""The email channel: ``parse`` (bytes -> InboundEmail), ``quotes``, ``threading``, ``loops``."""

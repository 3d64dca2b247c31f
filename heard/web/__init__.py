"""The web layer: thin routes that validate, call one action or query, and render."""

"""The incident domain: components, incidents, updates, maintenance and their rules."""

"""Detection: alerts from monitoring, the rules that map them to components, and what they open."""

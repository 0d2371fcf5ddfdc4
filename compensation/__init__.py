"""Compensation for affected accounts: policies, batches, vouchers (built in a later issue)."""

"""Scan statistics and visitors: daily counters, the visitor ledger, reports."""

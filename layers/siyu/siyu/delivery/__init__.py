"""Outbound delivery: one guarded HTTP sender (signed webhooks, WeCom robots) and the retry
policies of the things that deliver (alerts, SOP pushes, reward webhooks)."""

"""Fission campaigns: rules, participants, referrals, posters, rewards, pages, admin and API contract."""

"""Alerts and rotation: alert destinations, watch rules, the rotation job."""

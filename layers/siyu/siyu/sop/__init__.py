"""SOP plans: schedules, the job that expands due steps, the sender, admin and API contract."""

"""The dispatcher workflow: plan jobs from confirmed orders, re-planning after events, ETAs and the outbox."""

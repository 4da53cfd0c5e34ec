"""Implementation milestones: a per-tenant plan (seeded from Strand and Sirdal), its status in chat
(``/bts plan``), reminders to the responsible role and the overdue ones for the leader digest."""

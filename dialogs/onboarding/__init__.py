"""Onboarding of new staff (issue #13 §3): a leader or BTS-kontakt registers a new employee in a
unit (``/bts ny ansatt``, ``bts-bot onboarding start``) or the employee starts it ("jeg er ny her");
the bot follows Strand's five steps with reminders to the employee and the unit's BTS-kontakt, and
tells the leader when every step is done."""

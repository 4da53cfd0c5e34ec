"""The årshjul: task model, recurrence, planning, reminder notices, chat and calendar export."""

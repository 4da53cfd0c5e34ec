"""The leader group's monthly digest: årshjul status per unit, surveys, the network, anonymous use
of the guide and the implementation plan, posted to the group's channel on its meeting days."""

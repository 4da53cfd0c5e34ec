"""Chat platforms: each one turns its own wire format into the core's Turn and renders Replies back."""

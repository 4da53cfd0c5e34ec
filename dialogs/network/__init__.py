"""BTS-nettverk: check-ins before each network meeting, the digest with topic votes, the agenda,
the host's key points, the yearly evaluation and pairings across units."""

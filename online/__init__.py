"""Online services: requests filed on the web without an appointment, and their uploads."""

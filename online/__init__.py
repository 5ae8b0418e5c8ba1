"""Online services: requests without an appointment, their forms, documents and messages."""

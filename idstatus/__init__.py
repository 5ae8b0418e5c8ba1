"""The status of a new ID card or passport, looked up without login (Meschede's portal): the
office's passport software pushes each document's state (API or CSV upload), citizens ask by
document type and number, and may leave an e-mail address to be told once when it is ready.
Only a keyed hash of the document number is stored (PAuswG §20)."""

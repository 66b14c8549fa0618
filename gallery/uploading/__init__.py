"""Receiving upload requests: streaming each file to disk while hashing it, and bounding what one request may send."""

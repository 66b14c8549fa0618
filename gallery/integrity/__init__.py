"""Checks of a file's structure that decoders skip: damage they would decode into a wrong picture without a word."""

"""Photomosaics: a picture rebuilt from tiny tiles of the images of the library its viewer may see.

`tiles` is pure (it runs in the ingest workers); `index`, `render` and `services` read the database.
"""

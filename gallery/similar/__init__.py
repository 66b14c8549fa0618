"""More like this: near-duplicates by perceptual hash, then the closest palettes.

`phash` is pure (it runs in the ingest workers); `index` and `selectors` read the database.
"""

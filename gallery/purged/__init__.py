"""Deleted stays deleted: the hashes of purged images, remembered per owner for a retention period.

Imports run one way: this package uses gallery.models only; the flat modules (services, ingest,
views) call into it.
"""

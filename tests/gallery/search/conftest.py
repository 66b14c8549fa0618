import datetime

import pytest

from gallery.search import postings


@pytest.fixture(autouse=True)
def settled_library(monkeypatch):
    """Without the slack for transactions in flight, the images a test made before a search count as settled: their
    postings come from the process's copy of the lists, and only later changes from the posting table, as in a
    library written more than a minute ago. (Tests elsewhere keep the slack: everything there is scored from the table.)"""
    monkeypatch.setattr(postings, "CHANGE_SLACK", datetime.timedelta(0))

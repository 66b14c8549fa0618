from concurrent.futures import ThreadPoolExecutor

from django.db import connection, connections

from tests.conftest import DaphneServer


def select_one() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_starting_a_server_leaves_the_database_connections_of_other_threads_working(transactional_db):
    with ThreadPoolExecutor(max_workers=1) as thread:
        assert thread.submit(select_one).result() == 1
        server = DaphneServer()
        server.start()
        try:
            assert thread.submit(select_one).result() == 1
        finally:
            server.stop()
            thread.submit(connections.close_all).result()

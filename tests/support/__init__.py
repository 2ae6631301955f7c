"""What the tests share: peer launchers, fixtures and test data, one module per concern.

- ``ports``     free loopback ports, bounded waiting (for a port, for any condition)
- ``process``   the launchers' base: spawn, wait for the port, stop by PID (bounded)
- ``dcmtk``     DCMTK: tool paths, the environment (TCP_NODELAY=1), a tool runner,
                storescp and dcmqrscp launchers
- ``orthanc``   a private Orthanc launcher and its REST client
- ``postgres``  a throwaway PostgreSQL cluster and fresh databases on it
- ``node``      our own node (``dicom-kiosk serve``) as a child process, the CLI runner,
                the ``kiosk`` fixture (registered as a plugin by ``tests/conftest.py``)
- ``qt``        the qasync loop fixtures and helpers that run it until work is done
- ``data``      pydicom's bundled files, dataset builders and small seeded databases

Every launcher picks free ports on 127.0.0.1, waits until its peer answers (bounded, and
failing early when the peer exits), and stops it by PID within a bounded time.
"""

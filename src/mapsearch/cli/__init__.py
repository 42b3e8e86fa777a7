"""The ``mapsearch`` command line: thin front ends over library calls."""

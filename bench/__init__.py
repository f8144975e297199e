"""The benchmark harness (`make bench`, docs/bench.md): a data set built in SQL, each pass measured beside a
hand-written set-based SQL floor on an identical copy, and the pages at two sizes."""

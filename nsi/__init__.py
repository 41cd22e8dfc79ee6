"""Nanjing Safety Index: ingestion, methodology data, warehouse and the commands' shared parts.

polars' allocator (jemalloc) keeps freed pages for ten seconds before it gives them back, so during
ingestion the pages of batches already written add up to the peak of a run: 1,019 MiB at Nanjing's size,
942 MiB when they go back after a quarter of a second, at no measurable cost in time (BENCHMARKS.md,
"A month at four scales"). jemalloc reads its settings once, when polars is loaded, so they are set here,
before any part of the project imports polars; a value set by whoever starts the process wins.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:250,muzzy_decay_ms:0")

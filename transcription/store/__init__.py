"""The segment store: a stream's finals and saves, in order and each once (`queue.StoreQueue`).

`jobs` are the writes, `loop` stores on the event loop (SQLite), `writer` on the writer thread.
"""

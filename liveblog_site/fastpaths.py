"""The server fast paths: where liveblog leans on Daphne, Twisted and autobahn internals, in one place."""

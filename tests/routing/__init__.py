"""A package so that tests/routing does not shadow the `routing` package as a namespace package."""

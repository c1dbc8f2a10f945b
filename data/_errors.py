"""Errors raised for bad data input: they name the file, the record and the fix."""


class DataError(ValueError):
    """The data source cannot be used as given (missing, corrupt, wrong columns, bad labels)."""

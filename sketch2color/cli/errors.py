"""Failures of the machine rather than of the input, told the way input errors are: one line."""

from __future__ import annotations

import errno

# A full disk or quota, a read-only or forbidden folder: the user can fix these; none is a bug.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def storage_problem(error: OSError) -> str | None:
    """'FILE: No space left on device (...)' for a storage failure, None for anything else."""
    if error.errno not in STORAGE_ERRNOS:
        return None
    where = error.filename or "a file"
    hint = " (disk full: free some space)" if error.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return f"{where}: {error.strerror}{hint}; then rerun the same command"

"""Layer 6, the workspace: address books, templates, durable campaigns and their lists,
inbox, bills and birthdays, kept in one SQLite file (the embedded default).

Each part owns its tables and declares them with :func:`smsdk.workspace.store.component`;
the store creates them on first use.  The workspace uses the client API, never the codec.
"""

from __future__ import annotations

from smsdk.workspace.store import (
    DEFAULT_PATH,
    Component,
    Workspace,
    WorkspaceError,
    component,
    default_path,
)

__all__ = ["DEFAULT_PATH", "Component", "Workspace", "WorkspaceError", "component", "default_path"]

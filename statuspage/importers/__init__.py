"""Moving in from another status page: read its public (and manage) API, write through the
incident domain's flows, remember the source's ids so a second run adds nothing."""

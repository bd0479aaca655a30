"""Case (ärende) tables for the handoff to a coordinator (issue 4)."""

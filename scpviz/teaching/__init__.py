"""Teaching material behind the derivation notebooks: forgetting in two tasks (00), toy problems (03, 04), Taylor checks (03), the bug gallery
of public code (05), checkers for course assignments (checks), diagnostics of where consolidation fails (07) and small numerical helpers."""

"""Customer layering: questionnaires (问卷) → tags → segments → precise groups; tracked links and
the flash-group metrics."""

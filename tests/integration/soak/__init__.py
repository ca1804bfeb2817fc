"""The interrupted-run soak."""

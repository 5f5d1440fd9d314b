"""Login check (contract §5): device bindings, per-tenant thresholds and the login risk decision."""

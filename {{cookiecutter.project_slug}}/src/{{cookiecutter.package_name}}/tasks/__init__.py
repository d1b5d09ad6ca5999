"""The service's tasks. The worker loads every module in this package; none needs registering."""

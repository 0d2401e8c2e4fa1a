"""Delivery channels: the shared outbox (`outbox`: the `deliveries` rows and their one state
machine), who receives (`destinations`), the console, and one sub-package per channel
(`telegram/`, `email/`). Each module takes what to send and reports what was sent; none of
them decides what matches."""

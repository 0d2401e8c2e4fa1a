"""Delivery channels: the Telegram outbox and sender, the console, email. Each module takes
what to send and reports what was sent; none of them decides what matches."""

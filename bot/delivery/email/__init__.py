"""The email channel: the weekly digest email. `weekly` decides which week is due and who has
had it, `digest` collects a list's hits of a week, `render` turns them into HTML and text,
`smtp` sends one message to one recipient.

Must not: touch the Telegram outbox, or decide what matches.

Glossary: *list*, a mailing list of deliveries.yaml (`email.lists`); *week*, an ISO week in
the list's time zone."""

"""The Telegram channel: the sender that drains the shared outbox (`sender`), its alert
dispatcher (`dispatch`), its due digests (`digest_pass`) and its verdict on Telegram's errors
(`answers`); Telegram's flood limits (`flood`), the Bot API client (`api`), message layout in
HTML parse mode (`format`), and digest schedules and entries read from the database (`digest`).

Must not: decide what matches, or change a delivery row except through `bot.delivery.outbox`.

Glossary: *destination*, a chat of deliveries.yaml; *slot*, one due digest of a destination;
*in flight*, a row claimed and sent but not yet marked sent."""

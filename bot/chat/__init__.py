"""Chat: the Telegram front door. The command bot (`telegram_bot.py`: /start, /subscribe,
/latest, /search, /addsource, /health, /report ... and the alert buttons) and what its
coordinator tools say (`telegram_tools.py`).

Owns the python-telegram-bot Application and the conversations with members and admins.
Must not: send alerts or digests (that is `bot.delivery`'s sender) nor decide what matches.
It sits above ingest, delivery and insight because its commands use all three (a feed probe
for /addsource, the outbox for /subscribe, search and the report); the daemon hosts it.
"""

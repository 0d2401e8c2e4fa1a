"""Chat: the Telegram front door. The command bot: `telegram_bot.py` (the python-telegram-bot
Application and the buttons' dispatch), its commands by audience (`subscriptions.py`: a chat's
own subscription; `members.py`: /latest, /search, /missed...; `admin.py`: /addsource, /health,
/report...), what they share (`state.py`, `replies.py`), what the coordinator tools say
(`telegram_tools.py`) and reported misses (`missed.py`).

Owns the python-telegram-bot Application and the conversations with members and admins.
Must not: send alerts or digests (that is `bot.delivery`'s sender) nor decide what matches.
It sits above ingest, delivery and insight because its commands use all three (a feed probe
for /addsource, the destinations for /subscribe, search and the report); the daemon hosts it. It
holds no SQL: rows are read and written through bot.storage and the modules that own them (an
import-linter contract forbids bot.storage.schema here).
"""

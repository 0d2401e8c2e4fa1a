"""One web page as an item, for `newsbot explain URL` and the Telegram `/missed URL`: fetched
through the guarded fetcher (the sources' private-network rules, size cap, timeout and
redirect limit: the caller passes the same FetchPolicy), its title and lead taken by
bot.parse.page, its language detected like a feed item's (bot.tagging.language.detect_language,
else the page's own `<html lang>`).

Must not match, store or answer anyone. A page that cannot be fetched, or is not an HTML page
with some text, raises bot.errors.SourceFailure (its `kind` from bot.errors.FAILURE_KINDS).
"""

from __future__ import annotations

from bot.errors import SourceFailure
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.model import Item
from bot.parse.items import canonical_url
from bot.tagging.language import DETECT_LANGUAGES, detect_language
from bot.parse.page import page_text

SOURCE_ID = "reported"   # the source id of a page that is not from a monitored source
PAGE_TYPES = ("text/html", "application/xhtml+xml")


async def fetch_page(url: str, policy: FetchPolicy, *, fetcher: Fetcher | None = None) -> Item:
    """The page at `url` as an Item of source `reported` (guid and url: its canonical address)."""
    address = canonical_url(url)
    if address is None:
        raise SourceFailure("http-error", f"not an http(s) address: {url[:200]}")
    if fetcher is None:
        async with Fetcher(policy) as own:
            result = await own.fetch(address)
    else:
        result = await fetcher.fetch(address)
    kind = (result.content_type or "text/html").split(";")[0].strip().lower()
    if kind not in PAGE_TYPES:
        raise SourceFailure("parse-error", f"{result.url} is not a web page ({kind})")
    page = page_text(result.body, url=result.url, content_type=result.content_type)
    if not page.title and not page.lead:
        raise SourceFailure("parse-error", f"{result.url} has no title or text to read")
    language = detect_language(f"{page.title}. {page.lead}")
    if language is None and page.lang_hint in DETECT_LANGUAGES:
        language = page.lang_hint
    final = page.url or canonical_url(result.url) or address
    return Item(source_id=SOURCE_ID, guid=final, url=final, title=page.title, summary=page.lead,
                language=language)

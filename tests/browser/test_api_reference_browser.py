"""The API reference at ``/docs`` in a real browser: Swagger UI renders every operation of
``/openapi.json``, and the page asks nothing of any host but the gateway on 127.0.0.1."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Route, expect

from tests.stack import Stack

pytestmark = pytest.mark.browser
METHODS = {"get", "put", "post", "delete", "patch"}


async def _every_operation_block(page: Page) -> set[tuple[str, str]]:
    """The (method, path) of every operation block, scrolling the page from top to bottom: with
    this many operations Swagger UI renders only the blocks near the viewport."""
    seen: set[tuple[str, str]] = set()
    while True:
        blocks = await page.eval_on_selector_all(
            ".opblock-summary",
            """blocks => blocks.map(block => [
                block.querySelector('.opblock-summary-method').textContent,
                block.querySelector('.opblock-summary-path').getAttribute('data-path'),
            ])""",
        )
        seen.update((method, path) for method, path in blocks)
        if not await _scroll_on(page):
            return seen


async def _scroll_on(page: Page) -> bool:
    """Scroll down half a screen and let the page render; False at the bottom."""
    moved: bool = await page.evaluate(
        "() => { const y = scrollY; scrollBy(0, innerHeight / 2); return scrollY > y; }"
    )
    await page.wait_for_timeout(50)
    return moved


async def _scroll_to(page: Page, selector: str) -> None:
    """Scroll from the top until an element matching ``selector`` is rendered."""
    await page.evaluate("() => scrollTo(0, 0)")
    while not await page.locator(selector).count():
        assert await _scroll_on(page), f"{selector} is never rendered"


async def test_the_reference_renders_every_operation_offline(browser: Browser, live: Stack) -> None:
    """Every (method, path) of the document is a rendered operation block; one opened shows its
    request body; every request the page made went to the gateway (anything else is aborted and
    recorded); the console shows no error, so no Content-Security-Policy violation either."""
    document = (await live.http.get(f"{live.gateway_url}/openapi.json")).json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }
    gateway = urlsplit(live.gateway_url).netloc
    requested: list[str] = []
    refused: list[str] = []
    errors: list[str] = []

    async def only_the_gateway(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).netloc == gateway:
            await route.continue_()
        else:
            refused.append(url)
            await route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    context = await browser.new_context()
    try:
        await context.route("**/*", only_the_gateway)
        page = await context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{live.gateway_url}/docs")
        await expect(page.locator(".opblock-summary").first).to_be_visible(timeout=15_000)
        rendered = await _every_operation_block(page)
        assert rendered == operations

        login = '.opblock-summary-path[data-path="/one-tap/v1/login"]'
        await _scroll_to(page, login)
        await page.locator(login).click()
        opened = page.locator(".opblock.is-open")
        await expect(opened.get_by_text("Request body")).to_be_visible()
        await expect(opened.get_by_text("Exchanges an operator SDK token")).to_be_visible()
    finally:
        await context.close()
    assert refused == []
    assert {urlsplit(url).path for url in requested} >= {
        "/docs",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/docs/reference.js",
        "/openapi.json",
    }
    assert errors == []

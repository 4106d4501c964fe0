"""Accessibility checks a page must pass (axe-core is not available offline): labels, alternatives, headings,
and the keyboard reaching the main actions."""

from __future__ import annotations

from playwright.async_api import Page

# NOTE: runs in the test's browser against the rendered page; the portal itself ships no script.
_PROBLEMS = """() => {
  const problems = [];
  const visible = (el) => el.type !== 'hidden' && el.getClientRects().length > 0;
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (visible(el) && el.labels.length === 0 && !el.getAttribute('aria-label')) {
      problems.push(`unlabelled ${el.tagName.toLowerCase()} ${el.name}`);
    }
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push(`image without alt: ${img.src}`);
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.getAttribute('role') !== 'img' || !svg.getAttribute('aria-label')) problems.push('chart without a name');
  }
  for (const button of document.querySelectorAll('button, a')) {
    const name = (button.textContent || '').trim() || button.getAttribute('aria-label');
    if (!name) problems.push(`${button.tagName.toLowerCase()} without a name`);
  }
  const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => Number(h.tagName[1]));
  if (levels.filter((l) => l === 1).length !== 1) problems.push(`${levels.filter((l) => l === 1).length} h1`);
  levels.forEach((level, i) => {
    if (i > 0 && level > levels[i - 1] + 1) problems.push(`heading h${level} after h${levels[i - 1]}`);
  });
  if (!document.documentElement.lang) problems.push('no page language');
  if (!document.title) problems.push('no title');
  return problems;
}"""

_FOCUSED = """() => {
  const el = document.activeElement;
  return el ? ((el.textContent || '').trim() || el.getAttribute('aria-label') || el.name || '') : '';
}"""


async def problems(page: Page) -> list[str]:
    """What keeps the page from being usable with assistive technology (empty when nothing)."""
    found: list[str] = await page.evaluate(_PROBLEMS)
    return found


async def reached_by_tab(page: Page, names: list[str], *, presses: int = 80) -> set[str]:
    """Which of `names` the keyboard's Tab key focuses, starting from the top of the page."""
    await page.locator("body").focus()
    reached: set[str] = set()
    for _ in range(presses):
        await page.keyboard.press("Tab")
        focused: str = await page.evaluate(_FOCUSED)
        reached |= {name for name in names if name == focused}
        if reached == set(names):
            break
    return reached

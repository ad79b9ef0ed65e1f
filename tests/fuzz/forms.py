"""Reading a page's form as a browser would send it (inputs, checked boxes and radios, selected options,
text areas), and the error a refused page shows."""
from __future__ import annotations

import html
import re


def form_data(page: str, form_id: str) -> dict:
    """The fields of the form with this id as the page shows them."""
    form = page.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or " disabled" in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        value = value.group(1) if value else "on"
        if 'type="checkbox"' in tag or 'type="radio"' in tag:
            if " checked" in tag:
                data[name.group(1)] = value
        else:
            data[name.group(1)] = value
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body) or re.search(r'<option value="([^"]*)"', body)
        if chosen:
            data[name] = chosen.group(1)
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = text
    return {k: html.unescape(v) for k, v in data.items()}


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def encoded(data: dict) -> dict:
    """Keyword arguments for client.post sending `data` as a form body, as any client could: text that is not
    valid Unicode (a lone surrogate) goes out as the broken UTF-8 bytes a faulty client would send."""
    from urllib.parse import urlencode

    return {"data": urlencode(data, encoding="utf-8", errors="surrogatepass"),
            "content_type": "application/x-www-form-urlencoded"}

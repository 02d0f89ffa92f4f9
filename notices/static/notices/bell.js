// The bell in every page's header. The page comes with the unread count and the latest unread notices; this polls the
// unread summary with the page's ETag in If-None-Match (a 304 costs one small query and no body) and shows what
// changed, and marks a notice read when it is opened from the list.
(() => {
  const bell = document.getElementById("notice-bell");
  if (!bell) return;
  const count = document.getElementById("notice-count");
  const panel = document.getElementById("notice-panel");
  const list = document.getElementById("notice-latest");
  const empty = document.getElementById("notice-empty");
  const link = document.getElementById("notice-bell-link");
  const every = Number(bell.dataset.pollMs) || 20000;
  let etag = bell.dataset.etag || null; // the page came with the count and list of this tag
  let stopped = false;

  const cookie = (name) => {
    const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  };

  // Opening a notice from the list marks it read, then follows its link.
  function opening(item, id, link) {
    item.querySelector("a").addEventListener("click", (event) => {
      event.preventDefault();
      fetch(`/api/v1/notices/${id}/read`, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": cookie("csrftoken") },
      }).finally(() => { location.href = link; });
    });
  }

  function item(notice) {
    const entry = document.createElement("li");
    entry.dataset.notice = String(notice.id);
    entry.dataset.kind = notice.kind;
    const anchor = document.createElement("a");
    anchor.href = notice.link;
    anchor.textContent = notice.text;
    const when = document.createElement("time");
    when.dateTime = notice.created_at;
    when.textContent = notice.created_at.slice(5, 16).replace("T", " ");
    entry.append(anchor, when);
    return entry;
  }

  // The list is in the page only while the panel is open: the page's list (a template) until a poll brings news.
  let latest = null;
  function fill() {
    if (latest) list.replaceChildren(...latest.map(item));
    else list.replaceChildren(document.getElementById("notice-initial").content.cloneNode(true));
    for (const entry of list.querySelectorAll("li")) {
      opening(entry, entry.dataset.notice, entry.querySelector("a").getAttribute("href"));
    }
    empty.hidden = list.children.length > 0;
  }

  function toggle(open) {
    panel.hidden = !open;
    link.setAttribute("aria-expanded", String(open));
    if (open) fill();
    else list.replaceChildren();
  }

  function show(body) {
    count.textContent = String(body.unread);
    count.dataset.count = String(body.unread);
    count.hidden = body.unread === 0;
    latest = body.latest;
    if (!panel.hidden) fill();
    document.dispatchEvent(new CustomEvent("notices:changed", { detail: body }));
  }

  async function poll() {
    if (stopped || document.hidden) return;
    const headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    let response;
    try {
      response = await fetch(bell.dataset.url, { headers, cache: "no-store", credentials: "same-origin" });
    } catch {
      return; // offline for a moment: the next poll tries again
    }
    if (response.status === 401 || response.status === 403) { stopped = true; return; }
    if (response.status === 304 || !response.ok) return;
    etag = response.headers.get("ETag");
    show(await response.json());
  }

  link.addEventListener("click", (event) => {
    event.preventDefault();
    toggle(panel.hidden);
  });
  document.addEventListener("click", (event) => { if (!panel.hidden && !bell.contains(event.target)) toggle(false); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  bell.dataset.ready = "1";
  setInterval(poll, every);
})();

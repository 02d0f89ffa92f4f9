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

  function show(body) {
    count.textContent = String(body.unread);
    count.dataset.count = String(body.unread);
    count.hidden = body.unread === 0;
    list.replaceChildren(
      ...body.latest.map((notice) => {
        const item = document.createElement("li");
        item.dataset.notice = String(notice.id);
        item.dataset.kind = notice.kind;
        const anchor = document.createElement("a");
        anchor.href = notice.link;
        anchor.textContent = notice.text;
        const when = document.createElement("time");
        when.dateTime = notice.created_at;
        when.textContent = notice.created_at.slice(5, 16).replace("T", " ");
        item.append(anchor, when);
        opening(item, notice.id, notice.link);
        return item;
      }),
    );
    empty.hidden = body.latest.length > 0;
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
    panel.hidden = !panel.hidden;
    link.setAttribute("aria-expanded", String(!panel.hidden));
  });
  document.addEventListener("click", (event) => { if (!bell.contains(event.target)) panel.hidden = true; });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  for (const item of list.querySelectorAll("li")) opening(item, item.dataset.notice, item.querySelector("a").href);
  bell.dataset.ready = "1";
  setInterval(poll, every);
})();

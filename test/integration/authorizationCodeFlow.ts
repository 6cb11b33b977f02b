// A browser, as far as Keycloak's login pages need one: fetch with manual redirects and a cookie jar
// that respects cookie paths (two realms on one server set cookies of the same name under
// /realms/<realm>/), a login form found in the HTML and posted, and the authorization code read
// from the final redirect to the client. Enough to follow a real authorization-code flow, brokered
// logins included, without a browser.

/** Cookies by path and name, sent to every request whose path lies under the cookie's path. */
class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(response: Response, url: URL): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = header.split(";").map((p) => p.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (key: string) =>
        attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const path = attr("path") ?? url.pathname.replace(/\/[^/]*$/, "/");
      const expired = attr("max-age") === "0" || value === "";
      const key = `${path}|${name}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter(
        (c) =>
          url.pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`) || url.pathname === c.path,
      )
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }
}

export interface Page {
  url: URL;
  status: number;
  /** The Location of a redirect that left for `stopAt` (the client's redirect URI), if any. */
  location?: URL;
  body: string;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">");
}

export class Browser {
  readonly #jar = new CookieJar();
  readonly #stopAt: string;

  /** `stopAt`: the client's redirect URI; a redirect there ends the navigation unfollowed. */
  constructor(stopAt: string) {
    this.#stopAt = stopAt;
  }

  /** Requests `url` and follows redirects until a page is shown or the client's redirect URI is reached. */
  async navigate(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    let current = new URL(url);
    let method = init.method ?? "GET";
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hop = 0; hop < 20; hop++) {
      const headers: Record<string, string> = { cookie: this.#jar.header(current) };
      if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
      const res = await fetch(current, { method, headers, body, redirect: "manual" });
      this.#jar.store(res, current);
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, current);
        await res.body?.cancel();
        if (next.href.startsWith(this.#stopAt))
          return { url: current, status: res.status, location: next, body: "" };
        current = next;
        method = "GET";
        body = undefined;
        continue;
      }
      return { url: current, status: res.status, body: await res.text() };
    }
    throw new Error(`more than 20 redirects from ${url}`);
  }

  /** Fills the page's form (the first whose id is `formId`, else the first form) and submits it. */
  async submit(page: Page, fields: Record<string, string>, formId?: string): Promise<Page> {
    const forms = [...page.body.matchAll(/<form\b[^>]*>/gi)].map((m) => m[0]);
    const form = forms.find((f) => formId === undefined || f.includes(`id="${formId}"`));
    const action = form?.match(/action="([^"]*)"/i)?.[1];
    if (!action)
      throw new Error(`no form${formId ? ` "${formId}"` : ""} on ${page.url.href}: ${pageTitle(page)}`);
    return this.navigate(new URL(decodeEntities(action), page.url).href, { method: "POST", form: fields });
  }
}

/** The page's title and first error message, for a failure that says where the flow stopped. */
export function pageTitle(page: Page): string {
  const title = page.body.match(/<title>([^<]*)<\/title>/i)?.[1]?.trim() ?? "";
  const error = page.body.match(
    /class="[^"]*(?:alert-error|kc-feedback-text|pf-m-danger)[^"]*"[^>]*>([\s\S]{0,300}?)</i,
  )?.[1];
  return `HTTP ${page.status} "${title}"${error ? `: ${error.trim()}` : ""}`;
}

/** The claims of a JWT (not verified: the test got it straight from the token endpoint). */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}

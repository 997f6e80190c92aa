// An example front end of Beacon's delivery API, typed by the OpenAPI document: it lists a
// site's articles, reads the newest one by its slug, and reads the site's Atom feed, with fetch.
//
//   BEACON_URL=http://localhost:8080 BEACON_SITE=kratom-help [BEACON_KEY=bk_...] node dist/example.js
//
// A public site needs no key; a private one needs a key that covers it (a delivery key).
// It prints what it read, one fact a line, and exits non-zero on any failure.
import type { components, paths } from "./beacon.js";

type ArticleList = paths["/v1/sites/{site}/articles"]["get"]["responses"][200]["content"]["application/json"];
type Article = components["schemas"]["v1PublishedArticle"];
type ApiError = components["schemas"]["googleRpcStatus"];

const base = (process.env.BEACON_URL ?? "http://localhost:8080").replace(/\/+$/, "");
const site = process.env.BEACON_SITE ?? "kratom-help";
const key = process.env.BEACON_KEY;

/** Sends GET path to Beacon and returns the response, or throws Beacon's error message. */
async function get(path: string, accept: string): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept };
  if (key) headers.Authorization = `Bearer ${key}`;
  const res = await fetch(base + path, { headers });
  if (!res.ok) {
    const err = (await res.json().catch(() => ({}))) as ApiError;
    throw new Error(`GET ${path}: ${res.status} ${err.message ?? res.statusText}`);
  }
  return res;
}

const sitePath = `/v1/sites/${encodeURIComponent(site)}`;

// 1. The newest articles (cards: slug, title, summary, ...).
const list = (await (await get(`${sitePath}/articles?pageSize=5`, "application/json")).json()) as ArticleList;
const cards = list.articles ?? [];
console.log(`articles: ${cards.length}`);
const first = cards[0];
if (!first?.slug) throw new Error(`site ${site} has no published article`);

// 2. One article by its slug, with its ETag for a later conditional GET.
const res = await get(`${sitePath}/articles/${encodeURIComponent(first.slug)}`, "application/json");
const article = (await res.json()) as Article;
console.log(`article: ${article.slug} ${JSON.stringify(article.title)} etag=${res.headers.get("ETag") ?? ""}`);

// 3. The Atom feed, as XML text.
const feedRes = await get(`${sitePath}/feed.xml`, "application/atom+xml");
const feed = await feedRes.text();
const entries = feed.match(/<entry>/g)?.length ?? 0;
console.log(`feed: ${entries} entries, ${feedRes.headers.get("Content-Type")}`);

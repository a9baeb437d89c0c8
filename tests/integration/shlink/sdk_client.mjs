// Drives hoplink with Shlink's own JavaScript SDK (@shlinkio/shlink-js-sdk, from npm):
// node sdk_client.mjs <baseUrl> <apiKey> <shortHost>. Prints one JSON object of what it saw.
import http from "node:http";
import { ShlinkApiClient } from "@shlinkio/shlink-js-sdk";
import { NodeHttpClient } from "@shlinkio/shlink-js-sdk/node";

const [baseUrl, apiKey, shortHost] = process.argv.slice(2);
const client = new ShlinkApiClient(new NodeHttpClient(), { baseUrl, apiKey });
const out = {};

// A visitor following a short URL (the short domain is not resolvable here: Host header).
function follow(code, userAgent) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${baseUrl}/${code}`,
      { headers: { Host: shortHost, "User-Agent": userAgent, Referer: "https://m.facebook.com/x" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, location: res.headers.location }));
      },
    );
    req.on("error", reject);
  });
}

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return error;
  }
}

out.health = await client.health();
out.created = await client.createShortUrl({
  longUrl: "https://shop.example.com/item/1?sku=9",
  tags: ["sdk", "summer"],
  title: "From the SDK",
  customSlug: "sdk-slug",
});
out.second = await client.createShortUrl({ longUrl: "https://shop.example.com/item/2" });
out.duplicate = await failure(
  client.createShortUrl({ longUrl: "https://shop.example.com/x", customSlug: "sdk-slug" }),
);
out.list = await client.listShortUrls({ orderBy: { field: "dateCreated", dir: "ASC" }, itemsPerPage: 1 });
out.tagged = await client.listShortUrls({ tags: ["summer", "sdk"], tagsMode: "all" });
out.got = await client.getShortUrl({ shortCode: "sdk-slug" });
out.edited = await client.updateShortUrl(
  { shortCode: "sdk-slug" },
  { longUrl: "https://shop.example.com/item/1?sku=10", title: "Edited", tags: ["sdk", "autumn"] },
);
out.missing = await failure(client.getShortUrl({ shortCode: "NoSuchCode" }));
out.follow = await follow("sdk-slug", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148");
await follow("sdk-slug", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)");

// The worker writes visits within a second or so.
const deadline = Date.now() + 30000;
do {
  out.visits = await client.getShortUrlVisits({ shortCode: "sdk-slug" }, { itemsPerPage: 5000 });
  if (out.visits.pagination.totalItems >= 2) break;
  await new Promise((r) => setTimeout(r, 200));
} while (Date.now() < deadline);
out.humanVisits = await client.getShortUrlVisits({ shortCode: "sdk-slug" }, { excludeBots: true });
out.tagVisits = await client.getTagVisits("sdk");
out.domainVisits = await client.getDomainVisits("DEFAULT");
out.orphanVisits = await client.getOrphanVisits();
out.overview = await client.getVisitsOverview();
out.afterVisits = await client.getShortUrl({ shortCode: "sdk-slug" });

out.tags = await client.listTags();
out.tagsStats = await client.tagsStats();
out.renamed = await client.editTag({ oldName: "autumn", newName: "fall" });
out.deletedTags = await client.deleteTags(["sdk"]);
out.tagsAfter = await client.listTags();
out.domains = await client.listDomains();
await client.deleteShortUrl({ shortCode: out.second.shortCode });
out.listAfterDelete = await client.listShortUrls();
process.stdout.write(JSON.stringify(out));

import type { TrendingResponse } from "../shared/contract.ts";
import type { Region } from "../shared/regions.ts";

// The static level-5 page: pre-generated HTML, no script, no origin calls. Served from KV.
const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function renderEmergencyPage(region: Region, t: TrendingResponse): string {
  const cards = t.items
    .slice(0, 30)
    .map(
      (i) => `<li><a href="${esc(i.video_url)}"><img src="${esc(i.thumbnail_url)}" alt="" width="90" height="160" loading="lazy"></a>
<p>${esc(i.caption)}</p><small>${esc(i.author_id)} · ${i.stats.views.toLocaleString("en-US")} views</small></li>`,
    )
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>fyp-edge — trending (limited mode)</title>
<style>body{font-family:system-ui,sans-serif;margin:0;background:#111;color:#eee}header{background:#b00020;padding:12px 16px}
ul{list-style:none;display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px;padding:16px;margin:0}
li{background:#222;border-radius:8px;padding:8px}p{margin:6px 0}small{color:#aaa}a{color:#8ab4f8}</style></head>
<body><header id="emergency-banner"><strong>We're having trouble right now.</strong> Showing what's trending in ${esc(region.toUpperCase())};
likes, comments and personalised recommendations are paused. Generated ${esc(t.generated_at)}.</header>
<ul id="emergency-items">${cards || "<li>Nothing cached yet.</li>"}</ul></body></html>`;
}

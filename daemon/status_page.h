// The status page at GET /ui (docs/operations.md "Status page"): one HTML document with one inline
// <style> and one inline <script>, embedded in the binary, that loads nothing else. The script
// takes the admin token from the URL fragment (/ui#token=..., which the browser never sends) or a
// form field, keeps it in sessionStorage, and every few seconds fetch()es /v1/members,
// /v1/cluster, /v1/partitions and /v1/node-stats with it as Authorization: Bearer. It builds the
// DOM with textContent only, so topic or group names cannot inject markup.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronik::daemon {

std::string status_page_html();

// Content-Security-Policy (allowing only the page's own inline style and script, by their SHA-256,
// and fetch() to the same origin), no caching, no framing, no referrer, no sniffing.
std::vector<std::pair<std::string, std::string>> status_page_headers();

// A CSP hash source for an inline block: "'sha256-<base64 of SHA-256(text)>'" (CSP Level 3 §2.3.1).
std::string csp_hash_source(std::string_view text);

}  // namespace chronik::daemon

// daemon/status_page.h: the page loads nothing from elsewhere, and its Content-Security-Policy
// admits exactly the inline style and script the document carries (a block changed without its
// hash, or wrapped in extra characters, would be blocked by the browser).
#include "daemon/status_page.h"

#include <gtest/gtest.h>

#include <map>

namespace chronik::daemon {
namespace {

std::string between(const std::string& html, const std::string& open, const std::string& close) {
  const auto a = html.find(open);
  const auto b = html.find(close, a);
  EXPECT_NE(a, std::string::npos) << open;
  EXPECT_NE(b, std::string::npos) << close;
  EXPECT_EQ(html.find(open, a + 1), std::string::npos) << "one " << open << " only";
  return html.substr(a + open.size(), b - a - open.size());
}

TEST(status_page_test, hash_source_is_base64_sha256) {
  // SHA-256 of the empty string (FIPS 180-4 test vector), base64.
  EXPECT_EQ(csp_hash_source(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
}

TEST(status_page_test, the_policy_admits_exactly_the_inline_blocks) {
  const auto html = status_page_html();
  std::map<std::string, std::string> headers;
  for (const auto& [k, v] : status_page_headers()) headers[k] = v;
  const auto& csp = headers.at("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src " + csp_hash_source(between(html, "<script>", "</script>")) + ";"), std::string::npos);
  EXPECT_NE(csp.find("style-src " + csp_hash_source(between(html, "<style>", "</style>")) + ";"), std::string::npos);
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  EXPECT_EQ(headers.at("Cache-Control"), "no-store");
  EXPECT_EQ(headers.at("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(headers.at("Referrer-Policy"), "no-referrer");
}

TEST(status_page_test, nothing_is_loaded_from_elsewhere_and_data_is_never_markup) {
  const auto html = status_page_html();
  EXPECT_EQ(html.find("src="), std::string::npos);
  // The SVG namespace name is the only URL, and it names, it is not fetched.
  auto count = [&html](const std::string& s) {
    std::size_t n = 0;
    for (auto at = html.find(s); at != std::string::npos; at = html.find(s, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("http://"), count("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("innerHTML"), std::string::npos);
  EXPECT_EQ(html.find("eval("), std::string::npos);
  // The token: sent as a bearer header to the routes the page reads, kept in sessionStorage.
  for (const char* s : {"Authorization", "sessionStorage", "/v1/members", "/v1/cluster", "/v1/partitions",
                        "/v1/node-stats", "history.replaceState"}) {
    EXPECT_NE(html.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(html.find("localStorage"), std::string::npos);
}

}  // namespace
}  // namespace chronik::daemon

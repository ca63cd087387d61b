#include "daemon/prometheus_text.h"

#include <gtest/gtest.h>

namespace chronik::daemon {
namespace {

TEST(PrometheusText, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\"b"), "a\\\"b");
  EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_label_value("a\nb"), "a\\nb");
  EXPECT_EQ(escape_label_value("\\\"\n"), "\\\\\\\"\\n");
}

TEST(PrometheusText, EscapesHelpButNotQuotes) {
  EXPECT_EQ(escape_help("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
}

TEST(PrometheusText, SecondsFromMicroseconds) {
  EXPECT_EQ(seconds_text(0), "0");
  EXPECT_EQ(seconds_text(25), "0.000025");
  EXPECT_EQ(seconds_text(250), "0.00025");
  EXPECT_EQ(seconds_text(1'000), "0.001");
  EXPECT_EQ(seconds_text(2'500'000), "2.5");
  EXPECT_EQ(seconds_text(10'000'000), "10");
}

TEST(PrometheusText, NamesFollowTheGrammar) {
  EXPECT_TRUE(valid_metric_name("chronik_kafka_requests_total"));
  EXPECT_TRUE(valid_metric_name("a:b_c"));
  EXPECT_FALSE(valid_metric_name("9lives"));
  EXPECT_FALSE(valid_metric_name("has-dash"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("api"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_FALSE(valid_label_name("__name__"));
}

TEST(PrometheusText, CounterAndGaugeFamilies) {
  exposition_writer w;
  w.family("chronik_x_total", metric_type::counter, "Things.\nMore");
  w.sample({{"api", "Produce"}, {"error", "NONE"}}, std::uint64_t{3});
  w.sample({{"api", "we\"ird"}}, std::uint64_t{0});
  w.single("chronik_up", metric_type::gauge, "Up.", 1);
  w.family("chronik_ratio", metric_type::gauge, "R.");
  w.sample({}, 0.5);
  EXPECT_EQ(w.take(),
            "# HELP chronik_x_total Things.\\nMore\n"
            "# TYPE chronik_x_total counter\n"
            "chronik_x_total{api=\"Produce\",error=\"NONE\"} 3\n"
            "chronik_x_total{api=\"we\\\"ird\"} 0\n"
            "# HELP chronik_up Up.\n"
            "# TYPE chronik_up gauge\n"
            "chronik_up 1\n"
            "# HELP chronik_ratio R.\n"
            "# TYPE chronik_ratio gauge\n"
            "chronik_ratio 0.5\n");
}

TEST(PrometheusText, HistogramIsCumulativeWithInfSumAndCount) {
  latency_histogram h;
  h.observe_us(20);         // le 0.000025
  h.observe_us(400);        // le 0.0005
  h.observe_us(90'000'000); // +Inf only
  exposition_writer w;
  w.family("chronik_lat_seconds", metric_type::histogram, "Latency.");
  w.histogram({{"api", "Fetch"}}, h.snapshot());
  const std::string text = w.take();
  EXPECT_NE(text.find("# TYPE chronik_lat_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_lat_seconds_bucket{api=\"Fetch\",le=\"0.000025\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_lat_seconds_bucket{api=\"Fetch\",le=\"0.00025\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_lat_seconds_bucket{api=\"Fetch\",le=\"0.0005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_lat_seconds_bucket{api=\"Fetch\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_lat_seconds_bucket{api=\"Fetch\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_lat_seconds_sum{api=\"Fetch\"} 90.00042\n"), std::string::npos);
  EXPECT_NE(text.find("chronik_lat_seconds_count{api=\"Fetch\"} 3\n"), std::string::npos);
  // One bucket line per bound plus +Inf, then _sum and _count.
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 2 + latency_finite_buckets + 1 + 2);
}

TEST(PrometheusTextDeathTest, AFamilyIsWrittenOnce) {
  exposition_writer w;
  w.family("chronik_a", metric_type::gauge, "A.");
  EXPECT_DEATH(w.family("chronik_a", metric_type::gauge, "A."), "written once");
}

TEST(PrometheusTextDeathTest, BadLabelNameIsRefused) {
  exposition_writer w;
  w.family("chronik_a", metric_type::gauge, "A.");
  EXPECT_DEATH(w.sample({{"bad-name", "v"}}, std::uint64_t{1}), "label name");
}

}  // namespace
}  // namespace chronik::daemon

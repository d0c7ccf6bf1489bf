#include "queue/command_span.hpp"

#include "obs/span_recorder.hpp"

#include <gtest/gtest.h>


namespace todo::queue {
namespace {

TEST(CommandSpan, KeepsTheKeyAndHidesValues) {
  EXPECT_EQ(sanitized_command({"XADD", "todo:jobs", "*", "job_id", "secret-id"}), "XADD todo:jobs ? ? ?");
  EXPECT_EQ(sanitized_command({"set", "todo:workers:w1", "1700", "EX", "15"}), "SET todo:workers:w1 ? ? ?");
  EXPECT_EQ(sanitized_command({"EVALSHA", "abc123", "2", "key"}), "EVALSHA ? ? ?");
  EXPECT_EQ(sanitized_command({"PING"}), "PING");
  EXPECT_EQ(sanitized_command({}), "");
}

TEST(CommandSpan, PipelinesAreOneSpan) {
  auto processor = std::make_shared<obs::span_recorder>();
  obs::tracer tracer(obs::sampler{obs::sampler_kind::always_on, 1.0}, processor);
  auto root = tracer.start_span("process", obs::span_kind::consumer, std::nullopt);
  redis_url server{"127.0.0.1", 6380, {}, {}, 3};

  const std::vector<command_args> one{{"XADD", "todo:jobs", "*", "job_id", "j-1"}};
  start_command_span(root.as_parent(), one, server).end();
  const std::vector<command_args> several{{"MULTI"}, {"XACK", "todo:jobs", "workers", "1-0"}, {"EXEC"}};
  auto failed = start_command_span(root.as_parent(), several, server);
  record_command_failure(failed, "redis_error", "WRONGTYPE");
  failed.end();

  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "XADD");
  EXPECT_EQ(spans[0].kind, obs::span_kind::client);
  EXPECT_EQ(*spans[0].parent_span_id, root.context().span_id);
  EXPECT_EQ(spans[1].name, "PIPELINE");
  EXPECT_EQ(spans[1].status.code, obs::span_status_code::error);
  EXPECT_EQ(spans[1].status.message, "WRONGTYPE");

  auto text_of = [](const obs::span& item, std::string_view key) {
    for (const auto& entry : item.attributes) {
      if (entry.key == key) {
        if (const auto* text = std::get_if<std::string>(&entry.value)) return *text;
        return std::to_string(std::get<std::int64_t>(entry.value));
      }
    }
    return std::string("(missing)");
  };
  EXPECT_EQ(text_of(spans[0], "db.system"), "redis");
  EXPECT_EQ(text_of(spans[0], "db.namespace"), "3");
  EXPECT_EQ(text_of(spans[0], "db.query.text"), "XADD todo:jobs ? ? ?");
  EXPECT_EQ(text_of(spans[0], "server.port"), "6380");
  EXPECT_EQ(text_of(spans[1], "db.query.text"), "MULTI\nXACK todo:jobs ? ?\nEXEC");
  EXPECT_EQ(text_of(spans[1], "db.operation.batch.size"), "3");
  EXPECT_EQ(text_of(spans[1], "error.type"), "redis_error");

  const obs::trace_parent off;
  EXPECT_FALSE(start_command_span(off, one, server).valid());
}

}  // namespace
}  // namespace todo::queue

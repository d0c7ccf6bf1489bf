#include "queue/command_span.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace todo::queue {

namespace {

// Commands whose first argument is a script, a cursor or nothing, not a key.
constexpr std::array<std::string_view, 8> keyless_commands{"EVAL", "EVALSHA", "SCAN", "MULTI",
                                                            "EXEC", "PING", "SCRIPT", "INFO"};

std::string upper(std::string_view text) {
  std::string result(text);
  for (auto& c : result) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

}  // namespace

std::string sanitized_command(const command_args& args) {
  if (args.empty()) return {};
  const auto name = upper(args.front());
  std::string text = name;
  const bool keyless = std::find(keyless_commands.begin(), keyless_commands.end(), name) != keyless_commands.end();
  for (std::size_t i = 1; i < args.size(); ++i) {
    text += ' ';
    // Group commands (XGROUP CREATE, XREADGROUP GROUP) keep their keyword.
    if (i == 1 && !keyless) {
      text += args[i];
    } else {
      text += '?';
    }
  }
  return text;
}

obs::active_span start_command_span(const obs::trace_parent& parent, std::span<const command_args> commands,
                                    const redis_url& server) {
  if (!parent || commands.empty()) return {};
  const bool pipeline = commands.size() > 1;
  const auto operation = pipeline ? std::string("PIPELINE") : upper(commands.front().empty() ? "" : commands.front().front());

  auto span = parent.start_child(operation, obs::span_kind::client);
  if (!span.recording()) return span;
  span.set_attribute("db.system", "redis");
  span.set_attribute("db.system.name", "redis");
  span.set_attribute("db.namespace", std::to_string(server.db));
  span.set_attribute("db.operation.name", operation);
  std::string text;
  for (const auto& command : commands) {
    if (!text.empty()) text += '\n';
    text += sanitized_command(command);
  }
  span.set_attribute("db.query.text", text);
  if (pipeline) span.set_attribute("db.operation.batch.size", static_cast<std::int64_t>(commands.size()));
  span.set_attribute("server.address", server.host);
  span.set_attribute("server.port", static_cast<std::int64_t>(server.port));
  return span;
}

void record_command_failure(obs::active_span& span, std::string_view type, std::string_view message) {
  if (!span.recording()) return;
  span.set_attribute("error.type", type);
  span.set_error(message);
}

}  // namespace todo::queue

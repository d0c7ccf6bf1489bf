#include "queue/transaction.hpp"

#include "queue/error.hpp"

namespace todo::queue {

boost::asio::awaitable<std::vector<reply>> run_transaction(client& redis, std::vector<command_args> commands,
                                                    const obs::trace_parent& trace) {
  const std::size_t count = commands.size();
  std::vector<std::string> names;
  names.reserve(count);
  for (const auto& args : commands) names.push_back(args.front());

  std::vector<command_args> batch;
  batch.reserve(count + 2);
  batch.push_back(command_args{"MULTI"});
  for (auto& args : commands) batch.push_back(std::move(args));
  batch.push_back(command_args{"EXEC"});

  const auto replies = co_await redis.commands(std::move(batch), trace);

  // replies: OK for MULTI, QUEUED (or an error) per command, then EXEC's array.
  replies.front().throw_if_error("MULTI");
  for (std::size_t i = 0; i < count; ++i) replies[i + 1].throw_if_error(names[i] + " in MULTI");

  const reply& executed = replies.back();
  if (executed.is_nil()) throw error(errc::protocol_error, "EXEC returned nil although no key was watched");
  const auto& results = executed.as_array("EXEC");
  if (results.size() != count) {
    throw error(errc::protocol_error, "EXEC returned " + std::to_string(results.size()) + " replies for " +
                                          std::to_string(count) + " commands");
  }
  for (std::size_t i = 0; i < count; ++i) results[i].throw_if_error(names[i] + " in EXEC");
  co_return results;
}

}  // namespace todo::queue

#pragma once

#include "queue/reply.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct redisReader;

namespace todo::queue {

/// One command and its arguments, each sent as a binary-safe bulk string.
using command_args = std::vector<std::string>;

/// Encodes a command in RESP with hiredis's redisFormatCommandArgv.
/// Throws std::invalid_argument for an empty command.
std::string encode_command(const command_args& args);

/// Incremental RESP parser over hiredis's redisReader: feed() the bytes read
/// from the socket, then call next() until it returns nullopt.
///
/// Throws queue::error(protocol_error) for bytes that are not valid RESP and
/// for arrays nested more than 8 levels deep, the limit of hiredis 0.14. The
/// replies to the commands this layer sends nest at most 4 levels. After a
/// protocol error the reader, and the connection it serves, must be discarded.
///
/// hiredis 0.14 limits neither bulk string lengths nor array sizes, so
/// a hostile server could make the reader allocate without bound. The Redis
/// this layer talks to is trusted configuration, like the database.
class reply_reader {
 public:
  reply_reader();
  ~reply_reader();
  reply_reader(const reply_reader&) = delete;
  reply_reader& operator=(const reply_reader&) = delete;

  void feed(const char* data, std::size_t size);

  /// Returns the next complete reply, or nullopt when more bytes are needed.
  std::optional<reply> next();

  /// Bytes received but not yet returned as part of a reply.
  std::size_t buffered_bytes() const noexcept;

 private:
  struct reader_deleter {
    void operator()(redisReader* reader) const noexcept;
  };
  std::unique_ptr<redisReader, reader_deleter> reader_;
};

}  // namespace todo::queue

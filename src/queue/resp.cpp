#include "queue/resp.hpp"

#include "queue/error.hpp"

#include <hiredis/hiredis.h>

#include <new>
#include <stdexcept>

namespace todo::queue {

namespace {

struct reply_deleter {
  void operator()(redisReply* raw) const noexcept { freeReplyObject(raw); }
};

// Copies hiredis's reply tree into our value type.
reply convert(const redisReply& raw) {
  switch (raw.type) {
    case REDIS_REPLY_STATUS: return reply::make_status(std::string(raw.str, raw.len));
    case REDIS_REPLY_ERROR: return reply::make_error(std::string(raw.str, raw.len));
    case REDIS_REPLY_INTEGER: return reply::make_integer(raw.integer);
    case REDIS_REPLY_STRING: return reply::make_bulk(std::string(raw.str, raw.len));
    case REDIS_REPLY_NIL: return reply::make_nil();
    case REDIS_REPLY_ARRAY: {
      std::vector<reply> items;
      items.reserve(raw.elements);
      for (std::size_t i = 0; i < raw.elements; ++i) items.push_back(convert(*raw.element[i]));
      return reply::make_array(std::move(items));
    }
    default:
      throw error(errc::protocol_error, "Redis sent a reply of unknown type " + std::to_string(raw.type));
  }
}

}  // namespace

std::string encode_command(const command_args& args) {
  if (args.empty()) throw std::invalid_argument("a Redis command needs at least its name");

  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  pointers.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& arg : args) {
    pointers.push_back(arg.data());
    lengths.push_back(arg.size());
  }

  char* formatted = nullptr;
  const int length = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()), pointers.data(),
                                            lengths.data());
  if (length < 0 || formatted == nullptr) throw std::bad_alloc();
  std::string encoded(formatted, static_cast<std::size_t>(length));
  redisFreeCommand(formatted);
  return encoded;
}

void reply_reader::reader_deleter::operator()(redisReader* reader) const noexcept {
  redisReaderFree(reader);
}

reply_reader::reply_reader() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
}

reply_reader::~reply_reader() = default;

void reply_reader::feed(const char* data, std::size_t size) {
  if (redisReaderFeed(reader_.get(), data, size) != REDIS_OK) {
    throw error(errc::protocol_error, std::string("cannot buffer the Redis reply: ") + reader_->errstr);
  }
}

std::optional<reply> reply_reader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    throw error(errc::protocol_error, std::string("invalid reply from Redis: ") + reader_->errstr);
  }
  if (raw == nullptr) return std::nullopt;

  const std::unique_ptr<redisReply, reply_deleter> owned(static_cast<redisReply*>(raw));
  return convert(*owned);
}

std::size_t reply_reader::buffered_bytes() const noexcept {
  return reader_->len - reader_->pos;
}

}  // namespace todo::queue

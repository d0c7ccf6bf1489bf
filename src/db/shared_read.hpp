#pragma once

#include "obs/tracer.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace todo::db {

/// Request coalescing for one read that many requests make at once, such as
/// the whole todo list. At most `max_running` reads run at a time. A caller
/// that finds them all busy joins the next batch: the first caller of a
/// batch runs the read once a running one ends, and every caller of the
/// batch gets that one result.
///
/// A caller never gets a result from a read that started before it called,
/// so its result includes every write committed before its request arrived, as it would
/// with a read of its own. Only its wait can be longer: one running read
/// plus its batch's read.
///
/// Thread-safe: callers may be on any thread of the io_context.
template <class T>
class shared_read {
 public:
  using value_ptr = std::shared_ptr<const T>;
  using read_function = std::function<boost::asio::awaitable<value_ptr>(const obs::trace_parent&)>;

  /// The result of get(): the value, and whether another caller's read produced it.
  struct outcome {
    value_ptr value;
    bool shared = false;
  };

  shared_read(std::size_t max_running, read_function read)
      : max_running_(max_running == 0 ? 1 : max_running), read_(std::move(read)) {}

  /// Runs the read, or joins the next batch when `max_running` reads run.
  /// Throws what the read threw, to every caller of its batch.
  boost::asio::awaitable<outcome> get(obs::trace_parent trace) {
    std::shared_ptr<batch> joined;
    bool leads = false;
    {
      std::lock_guard lock(mutex_);
      if (!next_ && running_ < max_running_) {
        ++running_;
      } else {
        if (!next_) {
          next_ = std::make_shared<batch>();
          leads = true;
        }
        joined = next_;
      }
    }

    outcome result;
    if (!joined) {
      result.value = co_await run_alone(trace);
      co_return result;
    }

    // Named lambdas, because GCC 12 mishandles class temporaries inside a
    // co_await expression.
    if (leads) {
      // The batch's first caller waits until a running read hands it a slot.
      auto keep_leader = [target = joined.get()](wake_handler handler) { target->leader = std::move(handler); };
      co_await suspend_until(joined->started, keep_leader);
      result.value = co_await run_batch(joined, trace);
      co_return result;
    }
    // The others wait until the batch's read has ended.
    auto keep_follower = [target = joined.get()](wake_handler handler) {
      target->followers.push_back(std::move(handler));
    };
    co_await suspend_until(joined->done, keep_follower);
    if (joined->error) std::rethrow_exception(joined->error);
    result.value = joined->value;
    result.shared = true;
    co_return result;
  }

 private:
  // A suspended caller's completion handler, kept until it may resume.
  class wake_handler {
   public:
    wake_handler() = default;
    template <class Handler>
    explicit wake_handler(Handler handler) : stored_(std::make_unique<stored_handler<Handler>>(std::move(handler))) {}

    explicit operator bool() const noexcept { return stored_ != nullptr; }

    /// Resumes the caller on its own executor, never inside this call.
    void post() {
      auto resumed = std::move(stored_);
      resumed->post();
    }

   private:
    struct base {
      virtual ~base() = default;
      virtual void post() = 0;
    };
    template <class Handler>
    struct stored_handler final : base {
      explicit stored_handler(Handler h) : handler(std::move(h)) {}
      void post() override {
        auto executor = boost::asio::get_associated_executor(handler);
        boost::asio::post(executor, std::move(handler));
      }
      Handler handler;
    };
    std::unique_ptr<base> stored_;
  };

  struct batch {
    // Guarded by the owner's mutex until done is set.
    wake_handler leader;                 // the first caller, waiting for a slot
    bool started = false;                // the leader got a slot
    std::vector<wake_handler> followers;  // the others, waiting for the result
    bool done = false;                   // value or error is set
    value_ptr value;
    std::exception_ptr error;
  };

  // Suspends the caller until `ready` is set under the mutex, or returns at
  // once when it is. `keep` stores the caller's handler for whoever sets it.
  template <class Keep>
  boost::asio::awaitable<void> suspend_until(const bool& ready, Keep keep) {
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
        [this, &ready, &keep](auto handler) {
          std::unique_lock lock(mutex_);
          if (!ready) {
            keep(wake_handler(std::move(handler)));
            return;
          }
          lock.unlock();
          boost::asio::post(std::move(handler));
        },
        boost::asio::use_awaitable);
  }

  boost::asio::awaitable<value_ptr> run_alone(const obs::trace_parent& trace) {
    slot_release release{this};
    co_return co_await read_(trace);
  }

  boost::asio::awaitable<value_ptr> run_batch(std::shared_ptr<batch> current, const obs::trace_parent& trace) {
    slot_release release{this};
    value_ptr value;
    std::exception_ptr error;
    try {
      value = co_await read_(trace);
    } catch (...) {
      error = std::current_exception();
    }
    std::vector<wake_handler> followers;
    {
      std::lock_guard lock(mutex_);
      current->value = value;
      current->error = error;
      current->done = true;
      followers.swap(current->followers);
    }
    for (auto& follower : followers) follower.post();
    if (error) std::rethrow_exception(error);
    co_return value;
  }

  // Hands the slot of a finished read to the next batch, or frees it.
  struct slot_release {
    shared_read* owner;
    ~slot_release() { owner->release_slot(); }
  };

  void release_slot() noexcept {
    wake_handler leader;
    {
      std::lock_guard lock(mutex_);
      if (!next_) {
        --running_;
        return;
      }
      // The slot passes to the waiting batch, so running_ stays the same.
      auto starting = std::move(next_);
      starting->started = true;
      leader = std::move(starting->leader);
    }
    if (leader) leader.post();
  }

  const std::size_t max_running_;
  const read_function read_;

  std::mutex mutex_;
  std::size_t running_ = 0;
  std::shared_ptr<batch> next_;  // callers waiting for a slot, or null
};

}  // namespace todo::db
